package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// squareWorker is a worker of the kind a user writes: it squares the task's "n", and fails
// with its own errorType for a negative one.
const squareWorker = `package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
)

func main() { lambda.Start(handle) }

func handle(ctx context.Context, in contract.ClaimOutput) (map[string]any, error) {
	var data struct{ N int }
	if err := json.Unmarshal(in.Data, &data); err != nil {
		return nil, err
	}
	if data.N < 0 {
		return nil, messages.InvokeResponse_Error{Type: "NegativeInput", Message: fmt.Sprintf("%s: n is %d", in.TaskID, data.N)}
	}
	return map[string]any{"task_id": in.TaskID, "square": data.N * data.N, "attempt": in.Attempt, "worker": "square"}, nil
}
`

// TestOwnWorker serves a worker built from a Go package written into the module by the test
// in place of example-worker, runs a job with it, and finds in the table what it returned.
func TestOwnWorker(t *testing.T) {
	t.Parallel()
	// Inside the module, so that it imports functions/contract and aws-lambda-go as the
	// module requires them; under testdata, so that ./... patterns never see it.
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	pkg, err := os.MkdirTemp("testdata", "worker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(pkg)
		os.Remove("testdata") // only when empty: it was made for this test
	})
	if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(squareWorker), 0o644); err != nil {
		t.Fatal(err)
	}

	const job = "squares"
	tr := runWithWorker(t, pkg, job, []tracker.NewTask{
		{ID: "t-1", Data: json.RawMessage(`{"n": 1}`)},
		{ID: "t-2", Data: json.RawMessage(`{"n": 2}`)},
		{ID: "t-3", Data: json.RawMessage(`{"n": 12}`)},
		{ID: "t-4", Data: json.RawMessage(`{"n": -4}`)},
	})
	for _, tc := range []struct {
		id     string
		status tracker.Status
		data   string
		err    string
	}{
		{"t-1", tracker.Succeeded, `{"attempt": 1, "square": 1, "task_id": "t-1", "worker": "square"}`, ""},
		{"t-2", tracker.Succeeded, `{"attempt": 1, "square": 4, "task_id": "t-2", "worker": "square"}`, ""},
		{"t-3", tracker.Succeeded, `{"attempt": 1, "square": 144, "task_id": "t-3", "worker": "square"}`, ""},
		{"t-4", tracker.Ignored, `{"n": -4}`, "NegativeInput: t-4: n is -4"},
	} {
		task, err := tr.Get(context.Background(), job, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status != tc.status {
			t.Errorf("%s: status %s, want %s", tc.id, task.Status, tc.status)
		}
		if !sameJSON(t, task.Data, []byte(tc.data)) {
			t.Errorf("%s: data %s, want %s", tc.id, task.Data, tc.data)
		}
		got := ""
		if task.Error != nil {
			got = task.Error.Error
		}
		if got != tc.err {
			t.Errorf("%s: error %q, want %q", tc.id, got, tc.err)
		}
	}
}

// TestExampleWorkers runs a job of the fixtures' first attempts (examples/fixtures, the
// answers every example worker gives) with each example worker in a form WORKER= takes:
// examples/go-worker built into a bootstrap, the directory examples/python (handler.handler,
// run by the Python runtime client) and the file examples/typescript/handler.ts (run by the
// Node.js runtime client on the pinned Node.js 22). The table holds each fixture's output, or
// its error as "errorType: errorMessage" and the traceback the worker's runtime reported: none
// from aws-lambda-go's error value, the frame of handler.py that raised, and the stack of the
// error handler.ts threw, its first frame the handler's.
func TestExampleWorkers(t *testing.T) {
	t.Parallel()
	root, err := dynamotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(root, "examples", "fixtures", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	type fixture struct {
		Input  contract.ClaimOutput  `json:"input"`
		Output json.RawMessage       `json:"output"`
		Error  *contract.LambdaError `json:"error"`
	}
	job, want := "", map[string]fixture{}
	var tasks []tracker.NewTask
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var fx fixture
		if err := json.Unmarshal(raw, &fx); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if fx.Input.Attempt != 1 || fx.Input.Lease.Retry != 0 {
			continue // a later attempt: a run's first attempt answers otherwise
		}
		job, want[fx.Input.TaskID] = fx.Input.JobID, fx
		tasks = append(tasks, tracker.NewTask{ID: fx.Input.TaskID, Data: fx.Input.Data})
	}
	if len(tasks) < 3 {
		t.Fatalf("%d first-attempt fixtures in examples/fixtures, want at least 3", len(tasks))
	}

	py := filepath.Join(root, "examples", "python", "handler.py")
	pyLine, _ := lineOf(t, py, "raise NoText(")
	ts := filepath.Join(root, "examples", "typescript", "handler.ts")
	tsLine, tsColumn := lineOf(t, ts, "new NoText(")
	for _, tc := range []struct {
		name   string
		worker func(t *testing.T) string
		// traceback is the one of a failed task: the task's id stands for $TASK; a traceback
		// ending in "\n    at ..." continues with the Node.js runtime client's frames.
		traceback string
	}{
		{"go", func(t *testing.T) string {
			bootstrap := filepath.Join(t.TempDir(), "bootstrap")
			cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bootstrap, "./examples/go-worker")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build examples/go-worker: %v\n%s", err, out)
			}
			return bootstrap
		}, ""},
		{"python", func(*testing.T) string { return filepath.Dir(py) },
			"  File \"" + py + "\", line " + strconv.Itoa(pyLine) + ", in handler\n    raise NoText(f\"task {event['task_id']} has no text\")\n"},
		{"typescript", func(*testing.T) string { return ts },
			fmt.Sprintf("NoText: task $TASK has no text\n    at handler (file://%s:%d:%d)\n    at ...", ts, tsLine, tsColumn)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := runWithWorker(t, tc.worker(t), job, tasks)
			for id, fx := range want {
				task, err := tr.Get(context.Background(), job, id)
				if err != nil {
					t.Fatal(err)
				}
				if fx.Error == nil {
					if task.Status != tracker.Succeeded || !sameJSON(t, task.Data, fx.Output) {
						t.Errorf("%s: %s, data %s; want succeeded with %s", id, task.Status, task.Data, fx.Output)
					}
					continue
				}
				wantErr := fx.Error.ErrorType + ": " + fx.Error.ErrorMessage
				if task.Status != tracker.Ignored || task.Error == nil || task.Error.Error != wantErr || !sameJSON(t, task.Data, fx.Input.Data) {
					t.Fatalf("%s: %s, data %s, error %+v; want ignored with its data and the error %q", id, task.Status, task.Data, task.Error, wantErr)
				}
				wantTb := strings.ReplaceAll(tc.traceback, "$TASK", id)
				if head, ok := strings.CutSuffix(wantTb, "\n    at ..."); ok {
					if rest, ok := strings.CutPrefix(task.Error.Traceback, head+"\n"); ok && runtimeFrames.MatchString(rest) {
						continue
					}
				} else if task.Error.Traceback == wantTb {
					continue
				}
				t.Errorf("%s: traceback\n%s\nwant\n%s", id, task.Error.Traceback, wantTb)
			}
		})
	}
}

// runtimeFrames are the stack frames of the Node.js runtime client, and of what it runs on.
var runtimeFrames = regexp.MustCompile(`^(    at (async )?(.* \()?(file://.*/runtime\.mjs:\d+:\d+|node:internal/.*|<anonymous>)\)?\n?)+$`)

// lineOf returns the line and column (from 1) of the first occurrence of s in the file.
func lineOf(t *testing.T, file, s string) (line, column int) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if c := strings.Index(l, s); c >= 0 {
			return i + 1, c + 1
		}
	}
	t.Fatalf("%s holds no %q", file, s)
	return 0, 0
}

// runWithWorker starts a stack on a table of its own with worker as the Work step's
// function, creates the job's tasks, runs the job to its end and returns the table's tracker.
// A failure ignores a task (TRACKER_MAX_RETRY 1), so one round shows the worker's error.
func runWithWorker(t *testing.T, worker, job string, tasks []tracker.NewTask) *tracker.Tracker {
	t.Helper()
	ctx := context.Background()
	root, err := dynamotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := trackertest.New(t, tracker.Config{})
	table := tr.Config().Table
	stack, err := localstack.Start(ctx, localstack.Config{
		Root: root, Table: table, DynamoEndpoint: dynamotest.Endpoint(), Pool: 2, Worker: worker,
		Env: map[string]string{contract.EnvMaxRetry: "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	ex, err := stack.Run(ctx, contract.RunInput{JobID: job}, localstack.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: %s: %s", ex.Status, ex.Error, ex.Cause)
	}
	return tr
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestInvokeExitStatus runs scripts/invoke.sh (make invoke BIN=...) on a built bootstrap and
// on a Python handler's directory: it prints the function's result, and exits 1 when the
// result is an error.
func TestInvokeExitStatus(t *testing.T) {
	t.Parallel()
	root, err := dynamotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := localstack.Build(context.Background(), root, bin, runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(t.TempDir(), "not-json.json")
	if err := os.WriteFile(notJSON, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	claim := filepath.Join(bin, "claim", "bootstrap")
	// One after the other: every invocation seeds the same fixtures table again.
	for _, tc := range []struct {
		code, event, result string
		exit                int
		functionError       bool
	}{
		{claim, filepath.Join(root, "events/claim/locked.json"), `"errorType":"TaskLocked"`, 1, true},
		{claim, filepath.Join(root, "events/claim/ok.json"), `"task_id":"t-todo"`, 0, false},
		// The Invoke API refuses it (HTTP 400): no function error, still a failure.
		{claim, notJSON, `"message":"Could not parse request body into json"`, 1, false},
		// The event's task has no text: the Python runtime client's error, as awslambdaric writes it.
		{filepath.Join(root, "examples", "python"), filepath.Join(root, "events/example-worker/ok.json"),
			`{"errorMessage": "task t-todo has no text", "errorType": "NoText", "requestId": "`, 1, true},
	} {
		cmd := exec.Command(filepath.Join(root, "scripts", "invoke.sh"), tc.code, tc.event)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.exit || !strings.Contains(stdout.String(), tc.result) {
			t.Errorf("invoke.sh %s %s: exit %d, stdout %q; want exit %d and %s\nstderr: %s", tc.code, tc.event, code, stdout.String(), tc.exit, tc.result, stderr.String())
		}
		if fnErr := strings.Contains(stderr.String(), "X-Amz-Function-Error: Unhandled"); fnErr != tc.functionError {
			t.Errorf("invoke.sh %s %s: stderr %q", tc.code, tc.event, stderr.String())
		}
	}
}

// TestWorkerRefused: Start says what is wrong with a worker it cannot serve, and starts
// nothing.
func TestWorkerRefused(t *testing.T) {
	t.Parallel()
	root, err := dynamotest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "bootstrap.txt")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	noMain := filepath.Join(dir, "empty")
	if err := os.Mkdir(noMain, 0o755); err != nil {
		t.Fatal(err)
	}
	const want = "; want a directory holding a Go main package, an executable bootstrap, a Python handler"
	for _, tc := range []struct{ name, worker, want string }{
		{"a missing path", filepath.Join(dir, "nope"), "localstack: worker: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"a file that is not executable", plain, "localstack: worker: " + plain + " is a file that is not executable" + want},
		{"a directory with no Go package and no handler", noMain, "localstack: worker: " + noMain +
			" is a directory with no .go file, no handler.py and no index or handler .js, .mjs, .cjs or .ts file" + want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stack, err := localstack.Start(context.Background(), localstack.Config{Root: root, Table: "t", DynamoEndpoint: "http://127.0.0.1:1", Worker: tc.worker})
			if err == nil {
				stack.Close()
				t.Fatal("Start served the worker")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Start: %v\nwant it to start with %q", err, tc.want)
			}
		})
	}
}
