package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// TestRunWorker runs a job of the table on the real local stack with -worker
// examples/go-worker (make run JOB=... WORKER=examples/go-worker): the worker built from that
// package is the one that ran, since the tasks hold what it returns.
func TestRunWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	table := fmt.Sprintf("runlocal-test-%d", time.Now().UnixNano())
	db := dynamotest.Client(t)
	if err := tracker.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	tr, err := tracker.New(db, tracker.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.CreateTasks(ctx, "count-words", []tracker.NewTask{
		{ID: "t-1", Data: json.RawMessage(`{"text": "hello world"}`)},
		{ID: "t-2", Data: json.RawMessage(`{"text": "one two three"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(ctx, []string{"-endpoint", dynamotest.Endpoint(), "-table", table,
		"-worker", filepath.Join("..", "..", "examples", "go-worker"), "count-words"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for id, want := range map[string]map[string]any{
		"t-1": {"task_id": "t-1", "attempt": 1.0, "words": 2.0},
		"t-2": {"task_id": "t-2", "attempt": 1.0, "words": 3.0},
	} {
		task, err := tr.Get(ctx, "count-words", id)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(task.Data, &got); err != nil {
			t.Fatal(err)
		}
		if task.Status != tracker.Succeeded || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s with %s, want succeeded with %v\n%s", id, task.Status, task.Data, want, out.String())
		}
	}
	for _, want := range []string{
		"  job count-words: 1 round of lanes, 0 waits for failed tasks, 1 execution\n",
		"status: todo 0, in_progress 0, failed 0, succeeded 2, ignored 0\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunBulk retries a failure group with -bulk on the real local stack: the action's end
// and the job's counts are printed, the group's tasks are todo again with their history, and
// the task of another group is left as it was.
func TestRunBulk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	table := fmt.Sprintf("runlocal-bulk-%d", time.Now().UnixNano())
	db := dynamotest.Client(t)
	if err := tracker.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	tr, err := tracker.New(db, tracker.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	const job = "resize"
	failures := map[string]tracker.Failure{
		"t-1": {Error: "NotFound: s3://bucket/in/t-1.png does not exist"},
		"t-2": {Error: "NotFound: s3://bucket/in/t-2.png does not exist"},
		"t-3": {Error: "UnidentifiedImageError: cannot identify image file 't-3.png'"},
	}
	for _, id := range []string{"t-1", "t-2", "t-3"} {
		if _, err := tr.CreateTask(ctx, job, id, nil); err != nil {
			t.Fatal(err)
		}
		l, err := tr.Claim(ctx, job, id, "worker")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Fail(ctx, *l, failures[id]); err != nil {
			t.Fatal(err)
		}
	}
	fp := fingerprint.Compute(failures["t-1"].Error, "").String()
	var out bytes.Buffer
	err = run(ctx, []string{"-endpoint", dynamotest.Endpoint(), "-table", table, "-progress", "0",
		"-bulk", `{"action": "retry", "fingerprint": "` + fp + `", "id": "retry-missing"}`, job}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"  job resize: retry retry-missing: 2 listed, 2 changed, 0 refused, in 1 step\n",
		"status: todo 2, in_progress 0, failed 1, succeeded 0, ignored 0\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for id, want := range map[string]tracker.Status{"t-1": tracker.Todo, "t-2": tracker.Todo, "t-3": tracker.Failed} {
		task, err := tr.Get(ctx, job, id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status != want || task.Attempts != 1 || len(task.History) != 1 || task.History[0].Error != failures[id].Error {
			t.Errorf("%s: %s, %d attempts, history %+v; want %s, its failure in its history", id, task.Status, task.Attempts, task.History, want)
		}
	}
}

// TestReport prints the summary of the result lines in testdata/NAME.json (as run.mjs prints
// them) into testdata/NAME.golden: per execution the job's listing, a sweep, a continuation,
// or the error and cause as the execution gives them; and the error of the first failure.
func TestReport(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.json: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var ex localstack.Execution
			if err := json.Unmarshal(raw, &ex); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = report(&out, &ex, 1234*time.Millisecond)
			fmt.Fprintf(&out, "--- error: %v\n", err)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if out.String() != string(want) {
				t.Errorf("report differs from %s (go test -update accepts it)\n--- got\n%s--- want\n%s", golden, out.String(), want)
			}
		})
	}
}

// TestRunRefusesBadUsage: what cannot run is refused before anything starts.
func TestRunRefusesBadUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no DynamoDB Local", []string{"-endpoint", "", "j"}, "no DynamoDB Local"},
		{"no job", []string{"-endpoint", "http://127.0.0.1:1"}, "usage: runlocal"},
		{"a job with -demo", []string{"-endpoint", "http://127.0.0.1:1", "-demo", "j"}, "-demo creates its own job"},
		{"no table", []string{"-endpoint", "http://127.0.0.1:1", "-table", "", "j"}, "no table"},
		{"no -limit any more", []string{"-endpoint", "http://127.0.0.1:1", "-limit", "3", "j"}, "-limit"},
		{"a negative concurrency", []string{"-endpoint", "http://127.0.0.1:1", "-concurrency", "-1", "j"}, "positive numbers"},
		{"a bulk action that is no JSON object", []string{"-endpoint", "http://127.0.0.1:1", "-bulk", "retry", "j"}, "-bulk: invalid character"},
		{"a bulk action with an unknown field", []string{"-endpoint", "http://127.0.0.1:1", "-bulk", `{"action": "retry", "fingerprints": []}`, "j"}, `-bulk: json: unknown field "fingerprints"`},
		{"a bulk action on tasks", []string{"-endpoint", "http://127.0.0.1:1", "-bulk", `{"action": "retry"}`, "j", "t-1"}, "-bulk acts on one job"},
		{"a bulk action with -demo", []string{"-endpoint", "http://127.0.0.1:1", "-bulk", `{"action": "retry"}`, "-demo"}, "-bulk acts on one job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tc.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q) = %v, want an error saying %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestProgressLine: a running job's line gives its counts, the rate of finished tasks over
// the window (the oldest sample within it) and the time left at that rate.
func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	p := &progress{window: time.Minute}
	counts := func(todo, running, succeeded, ignored int) map[tracker.Status]int {
		return map[tracker.Status]int{tracker.Todo: todo, tracker.InProgress: running, tracker.Succeeded: succeeded, tracker.Ignored: ignored}
	}
	for _, c := range []struct {
		at   time.Duration
		c    map[tracker.Status]int
		want string
	}{
		{0, counts(100, 0, 0, 0), "todo 100, in_progress 0, failed 0, succeeded 0, ignored 0"},
		{10 * time.Second, counts(70, 10, 20, 0), "todo 70, in_progress 10, failed 0, succeeded 20, ignored 0; 2.0 tasks/s over the last 10s, about 40s left"},
		{20 * time.Second, counts(40, 10, 48, 2), "todo 40, in_progress 10, failed 0, succeeded 48, ignored 2; 2.5 tasks/s over the last 20s, about 20s left"},
		// Past the window, the oldest samples drop out: the rate is the last minute's.
		{80 * time.Second, counts(0, 0, 98, 2), "todo 0, in_progress 0, failed 0, succeeded 98, ignored 2; 0.8 tasks/s over the last 1m0s, about 0s left"},
	} {
		if got := p.line(t0.Add(c.at), c.c); got != c.want {
			t.Errorf("at %v: %q\nwant %q", c.at, got, c.want)
		}
	}
}
