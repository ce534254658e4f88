package localstack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
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
func start(t testing.TB) {
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
			Pool: 6, Env: map[string]string{"EXAMPLE_WORKER_LOG": env.workLog, contract.EnvBackoffSeconds: "1",
				contract.EnvPermanentErrors: "QuotaGone"}, // beyond the *PermanentError convention
		})
	})
	if env.err != nil {
		t.Fatal(env.err)
	}
}

// newJob creates a job of tasks whose data is given by id, and returns its id.
func newJob(t testing.TB, tasks map[string]string) string {
	return newJobAs(t, strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), tasks)
}

// newJobAs creates job with tasks whose data is given by id.
func newJobAs(t testing.TB, job string, tasks map[string]string) string {
	t.Helper()
	start(t)
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

// run executes the state machine, requires every execution of the run to succeed, and
// returns the first execution (with every execution of the run) and the output of the last.
func run(t *testing.T, input contract.RunInput, opts localstack.RunOptions) (*localstack.Execution, contract.RunOutput) {
	t.Helper()
	ex := runAny(t, input, opts)
	for _, e := range ex.Executions {
		if e.Status != "SUCCEEDED" {
			t.Fatalf("execution %s %s: %s: %s", e.Name, e.Status, e.Error, e.Cause)
		}
		if e.MaxPayload.Bytes > 262144 {
			t.Fatalf("execution %s carried %+v", e.Name, e.MaxPayload)
		}
	}
	var out contract.RunOutput
	if err := json.Unmarshal(ex.Last().Output, &out); err != nil {
		t.Fatalf("output %s: %v", ex.Last().Output, err)
	}
	return ex, out
}

func runAny(t *testing.T, input any, opts localstack.RunOptions) *localstack.Execution {
	t.Helper()
	ex, err := env.stack.Run(context.Background(), input, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// invocation is one line of the example worker's log.
type invocation struct {
	JobID   string    `json:"job_id"`
	TaskID  string    `json:"task_id"`
	Attempt int       `json:"attempt"`
	Retry   int       `json:"retry"`
	Time    time.Time `json:"time"`
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
	node := repo.Node(env.root)
	validator := filepath.Join(env.root, "sfnlocal", "node_modules", "asl-validator", "dist", "bin", "asl-validator.js")
	// The definition with its placeholders filled, as run.mjs and CloudFormation see it.
	raw, err := os.ReadFile(filepath.Join(env.root, "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "statemachine.asl.json")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(raw), "${ChildExecutionType}", "EXPRESS")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, validator, "--json-path", file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid") {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
}

// counts is a job's count per status name.
func counts(t *testing.T, job string) map[string]int {
	t.Helper()
	c, err := env.tracker.Count(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for s, n := range c {
		if n > 0 {
			out[s.String()] = n
		}
	}
	return out
}

func equalJSON(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(g, w)
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	job := newJob(t, numbered(20, `{"n": 1}`))
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: 4}, localstack.RunOptions{})
	// One round of one lane (4 loops), then nothing left.
	if len(ex.Executions) != 1 || out.Executions != 1 || out.Rounds != 1 || out.Waits != 0 {
		t.Errorf("executions %d, output %+v", len(ex.Executions), out)
	}
	if want := map[string]int{"todo": 0, "in_progress": 0, "failed": 0, "succeeded": 20, "ignored": 0}; !reflect.DeepEqual(out.Counts, want) {
		t.Errorf("counts %v, want %v", out.Counts, want)
	}
	// The round's lane slots: one lane at once, and one more per 4 tasks (one lane working,
	// the others finding nothing and ending at once).
	if ex.Children != 1+20/4 {
		t.Errorf("%d lanes, want %d", ex.Children, 1+20/4)
	}
	if got := ex.PeakInFlight["Work"]; got < 1 || got > 4 {
		t.Errorf("%d workers at once, want 1 to 4", got)
	}
	wantEachRanOnce(t, job, 20)
	task := get(t, job, "t-007")
	if task.Status != tracker.Succeeded || task.Retry != 0 || task.Attempts != 1 {
		t.Errorf("t-007 = %+v", task)
	}
	// The stored data is exactly the worker's result, not wrapped.
	if !equalJSON(t, task.Data, `{"task_id": "t-007", "attempt": 1, "done": true}`) {
		t.Errorf("t-007 data = %s", task.Data)
	}
	// The run's lease on the job ended with it: the next run may start at once.
	if j, err := env.tracker.Job(context.Background(), job); err != nil || j.Run.Live(time.Now()) || j.LastRun.IsZero() {
		t.Errorf("job after the run = %+v, %v", j, err)
	}
}

func TestFailsTwiceThenSucceeds(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"flaky": `{"fail_times": 2}`, "other": ""})
	_, out := run(t, contract.RunInput{JobID: job, TaskIDs: []string{"flaky"}}, localstack.RunOptions{})
	// A round claims the named task once: three rounds, each after a wait for the task's
	// backoff unless the steps between a failure and the next plan outlasted it (1 s, then
	// 2 s: on a loaded machine they can). That each attempt waited out its backoff is
	// checked below, from the worker's own log.
	if out.Counts["succeeded"] != 1 || out.Counts["todo"] != 1 || out.Rounds != 3 || out.Waits > 2 {
		t.Fatalf("output %+v", out)
	}
	invs := invocations(t, job)["flaky"]
	if len(invs) != 3 || len(invocations(t, job)["other"]) != 0 {
		t.Fatalf("worker ran flaky %d times, other %d, want 3 and 0", len(invs), len(invocations(t, job)["other"]))
	}
	for i, inv := range invs {
		// Each attempt saw the counter the previous failure left: 0, 1, 2.
		if inv.Retry != i || inv.Attempt != i+1 {
			t.Errorf("attempt %d saw retry %d, attempt %d", i+1, inv.Retry, inv.Attempt)
		}
		// and ran only once the backoff (1 s, then 2 s) after the previous attempt had passed.
		if i > 0 {
			if gap, want := inv.Time.Sub(invs[i-1].Time), time.Duration(1<<(i-1))*time.Second; gap < want {
				t.Errorf("attempt %d ran %v after attempt %d, before its %v backoff", i+1, gap, i, want)
			}
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
	_, out := run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	if out.Counts["ignored"] != 1 || out.Rounds < 1 || out.Rounds > tracker.DefaultMaxRetry {
		t.Fatalf("output %+v", out)
	}
	if n := len(invocations(t, job)["broken"]); n != tracker.DefaultMaxRetry {
		t.Errorf("worker ran %d times, want exactly %d", n, tracker.DefaultMaxRetry)
	}
	task := get(t, job, "broken")
	if task.Status != tracker.Ignored || task.Retry != tracker.DefaultMaxRetry ||
		task.Error.Error != "WorkerError: task broken failed on purpose (attempt 3, retry 2)" {
		t.Errorf("task = %+v, error %+v", task, task.Error)
	}
	// A later run, given the task by name, runs no round: it is never claimed again.
	_, out = run(t, contract.RunInput{JobID: job, TaskIDs: []string{"broken"}}, localstack.RunOptions{})
	if out.Rounds != 0 {
		t.Errorf("second run ran %d rounds", out.Rounds)
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
	_, out := run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	if out.Counts["succeeded"] != 1 || out.Counts["in_progress"] != 1 {
		t.Errorf("output %+v", out)
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
	// The sweep's input names only jobs, as the schedule sends it: it starts one execution,
	// under a name derived from the sweep's and the job.
	ex, _ := run(t, contract.RunInput{JobIDs: []string{job}}, localstack.RunOptions{Name: "sweep-" + job})
	if len(ex.Executions) != 2 || ex.Executions[1].StartedBy != ex.Arn || ex.Executions[1].Name != contract.ExecutionName(job, ex.Arn, "sweep") {
		t.Fatalf("executions %+v", ex.Executions)
	}
	if task := get(t, job, "orphan"); task.Status != tracker.Succeeded || task.Attempts != 2 {
		t.Errorf("orphan = %+v", task)
	}
	if got := counts(t, job); !reflect.DeepEqual(got, map[string]int{"succeeded": 2}) {
		t.Errorf("counts %v", got)
	}
}

func TestSweepStartsOneExecutionPerJob(t *testing.T) {
	t.Parallel()
	jobs := []string{newJobNamed(t, "sweep-a", 2), newJobNamed(t, "sweep-b", 3), newJobNamed(t, "sweep-c", 4)}
	ex, _ := run(t, contract.RunInput{JobIDs: jobs}, localstack.RunOptions{})
	var out contract.RunOutput
	if err := json.Unmarshal(ex.Output, &out); err != nil || out.Swept != 3 {
		t.Fatalf("sweep output %s", ex.Output)
	}
	started := map[string]bool{}
	for _, e := range ex.Executions[1:] {
		var o contract.RunOutput
		json.Unmarshal(e.Output, &o)
		if e.StartedBy != ex.Arn || e.States["CheckInput"] != 1 {
			t.Errorf("execution %+v", e)
		}
		started[o.JobID] = true
	}
	if len(ex.Executions) != 4 || len(started) != 3 {
		t.Errorf("the sweep started %d executions for jobs %v, want one for each of %v", len(ex.Executions)-1, started, jobs)
	}
	for i, job := range jobs {
		if got := counts(t, job); got["succeeded"] != 2+i || len(got) != 1 {
			t.Errorf("job %s counts %v", job, got)
		}
	}
}

// newJobNamed creates a job of n tasks under a name made unique by the test's name.
func newJobNamed(t *testing.T, name string, n int) string {
	t.Helper()
	start(t)
	job := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + "-" + name
	var nts []tracker.NewTask
	for id := range numbered(n, "") {
		nts = append(nts, tracker.NewTask{ID: id})
	}
	if _, err := env.tracker.CreateTasks(context.Background(), job, nts); err != nil {
		t.Fatal(err)
	}
	return job
}

// TestOneLiveRunPerJob: a second run of a job whose run is live starts nothing (it ends at
// once, saying which run holds the job), and a sweep leaves the job to its run; once the
// run's lease has run out (a crashed run), the next run takes the job over.
func TestOneLiveRunPerJob(t *testing.T) {
	t.Parallel()
	job := newJob(t, numbered(6, ""))
	ctx := context.Background()
	held, err := env.tracker.AcquireRun(ctx, job, "arn:aws:states:us-east-1:123456789012:execution:tracker-run:the-live-one")
	if err != nil {
		t.Fatal(err)
	}
	_, out := run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	if out.SupersededBy != held.Owner || out.Rounds != 0 {
		t.Errorf("a run of a held job: %+v", out)
	}
	for range 2 {
		ex, _ := run(t, contract.RunInput{JobIDs: []string{job}}, localstack.RunOptions{})
		var sweep contract.RunOutput
		if err := json.Unmarshal(ex.Output, &sweep); err != nil || sweep.Swept != 0 || !reflect.DeepEqual(sweep.Live, []string{job}) || len(ex.Executions) != 1 {
			t.Errorf("a sweep while the job's run is live: %s, %d executions", ex.Output, len(ex.Executions))
		}
	}
	if len(invocations(t, job)) != 0 {
		t.Fatal("a task ran while another run held the job")
	}
	// The holder crashed: once its lease has run out, a run takes the job over.
	past, _ := tracker.New(dynamotest.Client(t), tracker.Config{Table: env.table, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if _, err := past.RenewRun(ctx, *held); err != nil {
		t.Fatal(err)
	}
	if _, out = run(t, contract.RunInput{JobID: job}, localstack.RunOptions{}); out.Counts["succeeded"] != 6 || out.SupersededBy != "" {
		t.Errorf("a run after the holder's lease ran out: %+v", out)
	}
	wantEachRanOnce(t, job, 6)
}

// TestStartRetriedAfterALostAnswer: a sweep's start of a job, retried because its answer was
// lost, starts nothing twice: the retry names the same execution.
func TestStartRetriedAfterALostAnswer(t *testing.T) {
	t.Parallel()
	job := newJob(t, numbered(3, ""))
	ex, _ := run(t, contract.RunInput{JobIDs: []string{job}}, localstack.RunOptions{LoseStartAnswers: 1})
	if ex.Retries["StartJob"] != 1 {
		t.Errorf("StartJob retried %d times, want 1 (its answer was lost once)", ex.Retries["StartJob"])
	}
	if len(ex.Executions) != 2 {
		t.Fatalf("%d executions, want the sweep and one run of the job", len(ex.Executions))
	}
	wantEachRanOnce(t, job, 3)
}

// TestConcurrentExecutionsRunEachTaskOnce: two runs of a job started at once: one holds the
// job and runs it, the other ends at once; every task runs once.
func TestConcurrentExecutionsRunEachTaskOnce(t *testing.T) {
	t.Parallel()
	job := newJob(t, numbered(30, `{"sleep_ms": 50}`))
	var wg sync.WaitGroup
	results := make([]contract.RunOutput, 2)
	for i := range results {
		wg.Go(func() {
			_, results[i] = run(t, contract.RunInput{JobID: job, Concurrency: 3}, localstack.RunOptions{})
		})
	}
	wg.Wait()
	if (results[0].SupersededBy == "") == (results[1].SupersededBy == "") {
		t.Errorf("outputs %+v and %+v: want one run and one superseded", results[0], results[1])
	}
	if got := counts(t, job); !reflect.DeepEqual(got, map[string]int{"succeeded": 30}) {
		t.Errorf("counts %v", got)
	}
	wantEachRanOnce(t, job, 30)
}

// TestConcurrencyInFlight: the worker runs at the concurrency the run asked for, in lanes of
// up to 120 loops; no loop waits for another's task, so a slow task holds back only itself:
// with slow tasks spread over the id space, the work takes about the slow task's time plus
// the rest of the work divided by the concurrency (what any schedule that does not know the
// slow ones in advance takes), not the slow time once a page. It runs alone (not parallel),
// so that other tests' invocations do not queue in front of its workers.
func TestConcurrencyInFlight(t *testing.T) {
	const n, slowMs, fastMs, concurrency = 48, 4000, 200, 6
	tasks := numbered(n, fmt.Sprintf(`{"sleep_ms": %d}`, fastMs))
	slow := map[string]bool{"t-005": true, "t-017": true, "t-029": true, "t-041": true} // one per quarter of the ids
	for id := range slow {
		tasks[id] = fmt.Sprintf(`{"sleep_ms": %d}`, slowMs)
	}
	job := newJob(t, tasks)
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: concurrency}, localstack.RunOptions{})
	if out.Counts["succeeded"] != n || ex.PeakInFlight["Work"] != concurrency {
		t.Fatalf("output %+v, %d workers at once; want %d succeeded, %d at once", out, ex.PeakInFlight["Work"], n, concurrency)
	}
	wantEachRanOnce(t, job, n)
	// From the worker's log: when each task started, and so ended.
	type span struct{ start, end time.Time }
	runs := map[string]span{}
	var first, last time.Time
	for id, list := range invocations(t, job) {
		d := time.Duration(fastMs) * time.Millisecond
		if slow[id] {
			d = time.Duration(slowMs) * time.Millisecond
		}
		runs[id] = span{list[0].Time, list[0].Time.Add(d)}
		if first.IsZero() || list[0].Time.Before(first) {
			first = list[0].Time
		}
		if end := list[0].Time.Add(d); end.After(last) {
			last = end
		}
	}
	// While a slow task ran, other tasks went on starting, as long as some were left.
	for id := range slow {
		during, after := 0, 0
		for other, r := range runs {
			switch {
			case slow[other]:
			case r.start.After(runs[id].start) && r.start.Before(runs[id].end):
				during++
			case !r.start.Before(runs[id].end):
				after++
			}
		}
		if during == 0 && after > 0 {
			t.Errorf("no task started while %s ran, and %d waited for it to end", id, after)
		}
	}
	rest := time.Duration((n-len(slow))*fastMs+(len(slow)-1)*slowMs) * time.Millisecond / concurrency
	bound := time.Duration(slowMs)*time.Millisecond + rest
	took := last.Sub(first)
	// A page barrier (one slow task a page) would take at least 4 slow tasks' time.
	t.Logf("%d tasks (%d of %d ms, the rest %d ms) at %d: the work took %v, the bound (slow + rest/concurrency) %v, ×%.2f",
		n, len(slow), slowMs, fastMs, concurrency, took.Round(time.Millisecond), bound, float64(took)/float64(bound))
	if took > bound*3/2 {
		t.Errorf("the work took %v, over 1.5 × the bound %v: a slow task held others back", took, bound)
	}
}

// TestGroupsRunSideBySide: a lane runs more loops at once than one inline Map can (40), as
// groups side by side. A run of concurrency 90 is one lane of three groups of 30; its 90
// tasks (0.2 s each) go through the worker with more than 40 of them in flight at once (the
// local Lambda endpoint queues what its emulators cannot take yet, as a worker's concurrency
// would), and each runs once.
func TestGroupsRunSideBySide(t *testing.T) {
	t.Parallel()
	const n, concurrency = 90, 90
	job := newJob(t, numbered(n, `{"sleep_ms": 200}`))
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: concurrency}, localstack.RunOptions{})
	if out.Counts["succeeded"] != n {
		t.Fatalf("output %+v", out)
	}
	wantEachRanOnce(t, job, n)
	lanes := ex.ChildStatesByName["LaneStart"]
	if ex.ChildStatesByName["Groups"] < 1 || ex.ChildStatesByName["Loops"] != contract.GroupsPerLane*ex.ChildStatesByName["Groups"] {
		t.Errorf("%d lanes entered Groups %d times and Loops %d times: want %d groups a lane at work", lanes,
			ex.ChildStatesByName["Groups"], ex.ChildStatesByName["Loops"], contract.GroupsPerLane)
	}
	if peak := ex.PeakInFlight["Work"]; peak <= contract.MapLoops || peak > concurrency {
		t.Errorf("%d workers at once: want more than one inline Map's %d, at most %d", peak, contract.MapLoops, concurrency)
	}
	t.Logf("%d lanes, %d workers at once", lanes, ex.PeakInFlight["Work"])
}

// TestBigJobInLanes runs a job with the demo's failure mix (every 8th task fails once, every
// 16th always fails) in several lanes.
func TestBigJobInLanes(t *testing.T) {
	t.Parallel()
	tasks := map[string]string{}
	for i := range 64 {
		data := ""
		switch {
		case i%16 == 5:
			data = `{"always_fail": true}`
		case i%8 == 3:
			data = `{"fail_times": 1}`
		}
		tasks[fmt.Sprintf("t-%03d", i)] = data
	}
	job := newJob(t, tasks)
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: 6}, localstack.RunOptions{})
	if want := map[string]int{"todo": 0, "in_progress": 0, "failed": 0, "succeeded": 60, "ignored": 4}; !reflect.DeepEqual(out.Counts, want) {
		t.Errorf("counts %v, want %v", out.Counts, want)
	}
	// A round after the first starts only when a failed task is due, and runs it: at most one
	// round per retried attempt (4 tasks retried MaxRetry-1 times, 8 once), however the
	// lanes' ends and the backoffs fall (a loaded machine spreads them over more rounds).
	retried := 4*(tracker.DefaultMaxRetry-1) + 8
	if out.Rounds < 1 || out.Rounds > 1+retried || out.Waits > out.Rounds-1 {
		t.Errorf("output %+v, want 1 to %d rounds, each wait before a round", out, 1+retried)
	}
	invs := invocations(t, job)
	for id, data := range tasks {
		want := 1
		switch data {
		case `{"always_fail": true}`:
			want = tracker.DefaultMaxRetry
		case `{"fail_times": 1}`:
			want = 2
		}
		if got := len(invs[id]); got != want {
			t.Errorf("%s (%s) ran %d times, want %d", id, data, got, want)
		}
		if task := get(t, job, id); want > 1 && task.Attempts != want {
			t.Errorf("%s counted %d attempts, want %d", id, task.Attempts, want)
		}
	}
	t.Logf("%d rounds, %d waits, %d lanes, states %v", out.Rounds, out.Waits, ex.Children, ex.States)
}

// TestShardedJob: a job of several shards runs every task exactly once, its loops spread
// over the shards.
func TestShardedJob(t *testing.T) {
	t.Parallel()
	start(t)
	job := strings.ToLower(t.Name())
	if _, err := env.tracker.CreateJob(context.Background(), job, tracker.JobOptions{Shards: 4}); err != nil {
		t.Fatal(err)
	}
	newJobAs(t, job, numbered(40, ""))
	_, out := run(t, contract.RunInput{JobID: job, Concurrency: 6}, localstack.RunOptions{})
	if out.Counts["succeeded"] != 40 || out.Rounds != 1 {
		t.Errorf("output %+v", out)
	}
	wantEachRanOnce(t, job, 40)
}

func TestContinueAsNew(t *testing.T) {
	t.Parallel()
	// MaxSteps 1: a round, then the run continues as a new execution, which finds nothing
	// left and ends.
	job := newJob(t, numbered(6, ""))
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: 2, MaxSteps: 1}, localstack.RunOptions{})
	if n := len(ex.Executions); n != 2 || out.Executions != 2 || out.Rounds != 1 {
		t.Errorf("%d executions, output %+v", n, out)
	}
	for i, e := range ex.Executions[1:] {
		if e.StartedBy != ex.Executions[i].Arn || e.Name != contract.ExecutionName(job, ex.Executions[i].Arn, "continue") {
			t.Errorf("execution %d (%s) was started by %s, not by the one before", i+1, e.Name, e.StartedBy)
		}
	}
	// The lease went with the run, and ended with it.
	if j, err := env.tracker.Job(context.Background(), job); err != nil || j.Run.Live(time.Now()) || !strings.HasSuffix(j.Run.Owner, ex.Executions[1].Name) {
		t.Errorf("job = %+v, %v", j, err)
	}
	wantEachRanOnce(t, job, 6)
}

// wantEachRanOnce checks from the worker's log that n tasks of job ran, each exactly once.
func wantEachRanOnce(t *testing.T, job string, n int) {
	t.Helper()
	invs := invocations(t, job)
	if len(invs) != n {
		t.Errorf("the worker ran %d distinct tasks, want %d", len(invs), n)
	}
	for id, list := range invs {
		if len(list) != 1 {
			t.Errorf("%s ran %d times", id, len(list))
		}
	}
}

func TestBadWorkerOutputIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{
		"string": `{"return": "done"}`, "number": `{"return": 42}`, "array": `{"return": [1]}`, "panic": `{"panic": true}`,
	})
	_, out := run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	if out.Counts["ignored"] != 4 {
		t.Fatalf("counts %v, want 4 ignored", out.Counts)
	}
	for id, want := range map[string]string{
		"string": `InvalidWorkerOutput: the worker returned a string ("done"), not a JSON object or null`,
		"number": `InvalidWorkerOutput: the worker returned a number (42), not a JSON object or null`,
		"array":  `InvalidWorkerOutput: the worker returned an array ([1]), not a JSON object or null`,
		"panic":  `string: task panic panicked on purpose`,
	} {
		task := get(t, job, id)
		if task.Status != tracker.Ignored || task.Retry != tracker.DefaultMaxRetry || task.Lock != "" || task.Error == nil || task.Error.Error != want {
			t.Errorf("%s = %+v, error %+v; want ignored with %q", id, task, task.Error, want)
		}
	}
}

// faultProxy puts a proxy in front of the Lambda API whose fault(fn, n) says, for the nth
// call of function fn, which error to answer instead ("429:TooManyRequestsException",
// "500:ServiceException"; "500:" for a body that is not the API's JSON) or "" to pass the
// call on.
func faultProxy(t *testing.T, fault func(fn string, n int) string) (url string, injected func() int) {
	t.Helper()
	target, _ := neturl.Parse(env.stack.LambdaURL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	calls := map[string]int{}
	count := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/")
		fn = strings.TrimSuffix(fn, "/invocations")
		fn = fn[strings.LastIndex(fn, ":")+1:]
		mu.Lock()
		calls[fn]++
		f := fault(fn, calls[fn])
		if f != "" {
			count++
		}
		mu.Unlock()
		if f == "" {
			proxy.ServeHTTP(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		status, name, _ := strings.Cut(f, ":")
		if name == "" { // an answer that is not the API's: a proxy's error page
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(map[string]int{"429": 429, "500": 500}[status])
			fmt.Fprint(w, "Internal Server Error")
			return
		}
		w.Header().Set("X-Amzn-ErrorType", name)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(map[string]int{"429": 429, "500": 500}[status])
		fmt.Fprintf(w, `{"Type":"Service","message":"injected %s"}`, name)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int { mu.Lock(); defer mu.Unlock(); return count }
}

// TestTransientErrorsAreRetriedNotCounted answers the first call of every tracker function
// with a throttling error (429) and the second call of complete with a service error (500).
// The state machine retries them; the task's retry counter only counts the worker's one real
// failure.
func TestTransientErrorsAreRetriedNotCounted(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"bumpy": `{"fail_times": 1}`})
	url, injected := faultProxy(t, func(fn string, n int) string {
		switch {
		case fn != "example-worker" && n == 1:
			return "429:TooManyRequestsException"
		case fn == "complete" && n == 2:
			return "500:ServiceException"
		}
		return ""
	})
	run(t, contract.RunInput{JobID: job}, localstack.RunOptions{LambdaURL: url})
	if injected() < 5 {
		t.Errorf("only %d faults were injected", injected())
	}
	task := get(t, job, "bumpy")
	if task.Status != tracker.Succeeded || task.Attempts != 2 || len(invocations(t, job)["bumpy"]) != 2 {
		t.Errorf("task %+v after %d worker runs; the injected faults must not count as attempts", task, len(invocations(t, job)["bumpy"]))
	}
	if task.Error == nil || task.Error.Error != "WorkerError: task bumpy failed on purpose (attempt 1, retry 0)" {
		t.Errorf("recorded error %+v, want the worker's own failure", task.Error)
	}
}

// TestThrottledWorkerHandsTasksBack throttles every call of the worker: past Work's retries
// the tasks go back as they were, their retry unchanged.
func TestThrottledWorkerHandsTasksBack(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{"fresh": "", "failed-once": ""})
	lease, err := env.tracker.Claim(context.Background(), job, "failed-once", "earlier")
	if err != nil {
		t.Fatal(err)
	}
	past, _ := tracker.New(dynamotest.Client(t), tracker.Config{Table: env.table, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if _, err := past.Fail(context.Background(), *lease, tracker.Failure{Error: "earlier failure"}); err != nil {
		t.Fatal(err)
	}
	url, injected := faultProxy(t, func(fn string, n int) string {
		if fn == "example-worker" {
			return "429:TooManyRequestsException"
		}
		return ""
	})
	run(t, contract.RunInput{JobID: job, MaxRounds: 1, Concurrency: 1}, localstack.RunOptions{LambdaURL: url})
	// Each claim of a task: 1 call and 4 retries (Work's retrier of throttles), then the
	// task is handed back, held for the first backoff (1 s here), so that it is not claimed
	// again at once; a lane of the round may claim it again once it is due.
	if n := injected(); n < 2*5 || n%5 != 0 {
		t.Errorf("%d throttles, want 5 per claim of each task", n)
	}
	for id, want := range map[string]struct {
		status tracker.Status
		retry  int
	}{"fresh": {tracker.Todo, 0}, "failed-once": {tracker.Failed, 1}} {
		task := get(t, job, id)
		if task.Status != want.status || task.Retry != want.retry || task.Lock != "" {
			t.Errorf("%s = %+v, want %s with retry %d", id, task, want.status, want.retry)
		}
	}
}

func TestBadInputFailsTheExecution(t *testing.T) {
	t.Parallel()
	start(t)
	for _, input := range []string{
		`{}`, `{"jobid": "x"}`, `{"job_ids": []}`, `{"job_id": "j", "page_size": 10}`, `{"job_id": "j", "limit": 5}`,
		`{"job_id": "j", "concurrency": 1200001}`, `{"job_id": "j", "max_rounds": -1}`, `{"job_id": "a", "job_ids": ["b"]}`,
		`{"job_id": "j____k"}`, `"just a string"`, `{"job_id": "j", "task_ids": []}`, `{"job_id": "j", "task_ids": ["t", "t"]}`,
	} {
		ex := runAny(t, json.RawMessage(input), localstack.RunOptions{})
		if ex.Status != "FAILED" || ex.Error != "InvalidInput" || len(ex.Executions) != 1 {
			t.Errorf("input %s: %s %s %s", input, ex.Status, ex.Error, ex.Cause)
		}
	}
}

// TestLargestDataStaysUnderThePayloadLimit runs a task with the largest data the tracker
// accepts through a worker that returns it: no state passes 256 KB. The same with a
// definition that keeps the worker's result beside the claimed data fails as AWS would.
func TestLargestDataStaysUnderThePayloadLimit(t *testing.T) {
	t.Parallel()
	filler := strings.Repeat("x", tracker.MaxDataBytes-len(`{"echo":true,"filler":""}`))
	data := `{"echo":true,"filler":"` + filler + `"}`
	job := newJob(t, map[string]string{"big": data})
	ex, _ := run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	if task := get(t, job, "big"); task.Status != tracker.Succeeded || len(task.Data) != tracker.MaxDataBytes {
		t.Fatalf("big = %s with %d bytes of data", task.Status, len(task.Data))
	}
	if got := ex.MaxPayload.Bytes; got < tracker.MaxDataBytes || got > 262144 {
		t.Errorf("largest payload %+v", ex.MaxPayload)
	}

	raw, err := os.ReadFile(filepath.Join(env.root, "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	edited := 0
	eachState(def, func(name string, state map[string]any) {
		switch name {
		case "Work":
			state["ResultPath"] = "$.work"
			edited++
		case "Complete":
			state["Parameters"].(map[string]any)["result.$"] = "$.work"
			edited++
		}
	})
	if edited != 2 {
		t.Fatal("the definition no longer has the Work and Complete states this test changes")
	}
	b, _ := json.Marshal(def)
	file := filepath.Join(t.TempDir(), "wide.asl.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	job2 := newJobNamed(t, "wide", 0)
	if _, err := env.tracker.CreateTask(context.Background(), job2, "big", json.RawMessage(data)); err != nil {
		t.Fatal(err)
	}
	ex = runAny(t, contract.RunInput{JobID: job2}, localstack.RunOptions{Definition: file})
	if ex.Status != "FAILED" || ex.Error != "States.DataLimitExceeded" {
		t.Errorf("the wide definition: %s %s %s", ex.Status, ex.Error, ex.Cause)
	}
}

// TestLambdaErrorNames: every way a Lambda call fails reaches Retry and Catch under the name
// Step Functions gives it, the names statemachine.asl.json matches: the function's own
// errorType, passed through unchanged with the error payload's JSON as Cause, or
// Lambda.<Exception> for the Invoke API's errors. Each is retried by the definition's Retry
// alone (one call per attempt: 1 + 2 retries), then caught.
func TestLambdaErrorNames(t *testing.T) {
	t.Parallel()
	start(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name     string
		function string
		fault    string // the proxy's answer to every call; "" passes the call on
		url      string // the Lambda endpoint instead of the proxy
		want     string
		cause    func(string) bool
	}{
		{"a function error is the function's errorType", "claim", "", "", "InvalidInput", func(c string) bool {
			var payload struct{ ErrorType, ErrorMessage string }
			return json.Unmarshal([]byte(c), &payload) == nil && payload.ErrorType == "InvalidInput" && payload.ErrorMessage != ""
		}},
		{"a throttle is Lambda.TooManyRequestsException", "claim", "429:TooManyRequestsException", "", "Lambda.TooManyRequestsException",
			func(c string) bool { return strings.Contains(c, "Status Code: 429") }},
		{"a service error is Lambda.ServiceException", "claim", "500:ServiceException", "", "Lambda.ServiceException",
			func(c string) bool { return strings.Contains(c, "Status Code: 500") }},
		{"an unreadable answer is Lambda.AWSLambdaException", "claim", "500:", "", "Lambda.AWSLambdaException",
			func(c string) bool { return strings.Contains(c, "Status Code: 500") }},
		{"an unknown function is Lambda.ResourceNotFoundException", "no-such-function", "", "", "Lambda.ResourceNotFoundException",
			func(c string) bool { return strings.Contains(c, "Function not found") }},
		{"an API that cannot be reached is Lambda.SdkClientException", "claim", "", unreachable, "Lambda.SdkClientException",
			func(c string) bool { return strings.HasPrefix(c, "Unable to execute HTTP request") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url
			var calls atomic.Int32
			if url == "" {
				url, _ = faultProxy(t, func(fn string, n int) string {
					if fn == tc.function {
						calls.Store(int32(n))
					}
					return tc.fault
				})
			}
			definition := map[string]any{"StartAt": "Call", "States": map[string]any{
				"Call": map[string]any{"Type": "Task", "Resource": localstack.FunctionArn(tc.function),
					"Retry": []any{map[string]any{"ErrorEquals": []string{tc.want}, "IntervalSeconds": 1, "MaxAttempts": 2}},
					"Catch": []any{map[string]any{"ErrorEquals": []string{tc.want}, "Next": "Caught"}},
					"End":   true},
				"Caught": map[string]any{"Type": "Pass", "End": true},
			}}
			ex := runAny(t, map[string]any{}, localstack.RunOptions{LambdaURL: url, Definition: writeDefinition(t, definition)})
			var caught struct{ Error, Cause string }
			if ex.Status != "SUCCEEDED" || json.Unmarshal(ex.Output, &caught) != nil {
				t.Fatalf("%s %s %s, output %s; want the error caught", ex.Status, ex.Error, ex.Cause, ex.Output)
			}
			if caught.Error != tc.want || !tc.cause(caught.Cause) {
				t.Errorf("caught %q with Cause %q, want %s", caught.Error, caught.Cause, tc.want)
			}
			if n := calls.Load(); tc.url == "" && n != 3 {
				t.Errorf("%d calls, want 3: one per attempt, no retries of the SDK's own", n)
			}
		})
	}
}

// eachState calls fn on every state of a definition, nested ones (Map processors) too.
func eachState(def map[string]any, fn func(name string, state map[string]any)) {
	states, _ := def["States"].(map[string]any)
	for name, v := range states {
		state, _ := v.(map[string]any)
		fn(name, state)
		if p, ok := state["ItemProcessor"].(map[string]any); ok {
			eachState(p, fn)
		}
	}
}

// writeDefinition writes a definition for RunOptions.Definition.
func writeDefinition(t *testing.T, definition any) string {
	t.Helper()
	b, err := json.Marshal(definition)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "test.asl.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestRunRefusesUnresolvedPlaceholders: a definition with a ${...} that no substitution fills
// is not run (run.mjs exits 2 naming it), and Run says so.
func TestRunRefusesUnresolvedPlaceholders(t *testing.T) {
	t.Parallel()
	start(t)
	file := writeDefinition(t, map[string]any{"StartAt": "Call", "States": map[string]any{
		"Call": map[string]any{"Type": "Task", "Resource": "${MissingFunctionArn}", "End": true},
	}})
	ex, err := env.stack.Run(context.Background(), map[string]any{}, localstack.RunOptions{Definition: file})
	if err == nil || !strings.Contains(err.Error(), "${MissingFunctionArn}") {
		t.Errorf("Run = %+v, %v; want an error naming ${MissingFunctionArn}", ex, err)
	}
}
