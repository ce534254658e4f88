package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/worker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

const job = "work"

// newTracker creates a table with n tasks t-000… and returns a tracker on it.
func newTracker(t testing.TB, cfg tracker.Config, n int) *tracker.Tracker {
	t.Helper()
	ctx := context.Background()
	tr, _ := trackertest.New(t, cfg)
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%03d", i), Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	if n > 0 {
		if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func counts(t testing.TB, tr *tracker.Tracker) map[tracker.Status]int {
	t.Helper()
	c, err := tr.Count(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	for s, n := range c {
		if n == 0 {
			delete(c, s)
		}
	}
	return c
}

func TestPoolRunsEveryPendingTask(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, tracker.Config{Backoff: 20 * time.Millisecond}, 120)
	var mu sync.Mutex
	calls := map[string]int{}
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 8, Owner: "pool", Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
		mu.Lock()
		calls[task.TaskID]++
		n := calls[task.TaskID]
		mu.Unlock()
		var in struct{ N int }
		if err := json.Unmarshal(task.Data, &in); err != nil {
			return nil, err
		}
		switch {
		case in.N%10 == 1 && n == 1: // fails once, then succeeds after its backoff
			return nil, errors.New("flaky")
		case in.N == 7:
			panic("boom")
		case in.N == 8:
			return nil, worker.Permanent(errors.New("bad input"))
		}
		return json.RawMessage(fmt.Sprintf(`{"double":%d}`, 2*in.N)), nil
	}}
	st, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[tracker.Status]int{tracker.Succeeded: 118, tracker.Ignored: 2}; fmt.Sprint(counts(t, tr)) != fmt.Sprint(want) {
		t.Errorf("counts = %v, want %v", counts(t, tr), want)
	}
	// 118 successes; 12 flaky first attempts and 3 panics fail (the third panic ignores
	// task 7); the permanent error ignores task 8 at once.
	if st.Succeeded != 118 || st.Failed != 14 || st.Ignored != 2 || st.Claimed != 118+14+2 || st.Released != 0 || st.Lost != 0 {
		t.Errorf("stats = %+v", st)
	}
	for id, n := range calls {
		want := 1
		switch {
		case id == "t-007":
			want = 3
		case id[len(id)-1] == '1':
			want = 2
		}
		if n != want {
			t.Errorf("%s ran %d times, want %d", id, n, want)
		}
	}
	ctx := context.Background()
	done, _ := tr.Get(ctx, job, "t-005")
	if string(done.Data) != `{"double":10}` {
		t.Errorf("t-005 data = %s", done.Data)
	}
	panicked, _ := tr.Get(ctx, job, "t-007")
	if panicked.Error == nil || panicked.Error.Error != "panic: boom" || !strings.Contains(panicked.Error.Traceback, "runtime/debug.Stack") || !strings.Contains(panicked.Error.Traceback, "worker_test.go") {
		t.Errorf("panic recorded as %+v", panicked.Error)
	}
	perm, _ := tr.Get(ctx, job, "t-008")
	if perm.Status != tracker.Ignored || perm.Retry != 1 || perm.Error.Error != "bad input" {
		t.Errorf("permanent failure left %+v, error %+v", perm, perm.Error)
	}
}

// TestPoolsRarelyRace runs two pools as two processes would (a client and a Tracker each)
// over one job: each task runs once, each pool does a fair share, and few claims are refused.
// Two processes of a hand-written loop over Pending had about one refused claim per task
// (each claiming the same id-ordered pages); the pools stay under one per ten tasks here
// (BenchmarkPools measures the rate at scale).
func TestPoolsRarelyRace(t *testing.T) {
	t.Parallel()
	const n = 900
	first := newTracker(t, tracker.Config{}, n)
	second, err := tracker.New(dynamotest.Client(t), first.Config())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	runs := map[string]int{}
	handler := func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		runs[task.TaskID]++
		return nil, nil
	}
	var stats [2]worker.Stats
	var wg sync.WaitGroup
	for i, tr := range []*tracker.Tracker{first, second} {
		p := &worker.Pool{Tracker: tr, Job: job, Workers: 8, Owner: fmt.Sprintf("process-%d", i), Handler: handler}
		wg.Go(func() {
			st, err := p.Run(context.Background())
			if err != nil {
				t.Error(err)
			}
			stats[i] = st
		})
	}
	wg.Wait()
	if c := counts(t, first); c[tracker.Succeeded] != n || len(c) != 1 {
		t.Errorf("counts = %v, want %d succeeded", c, n)
	}
	if len(runs) != n {
		t.Errorf("%d tasks ran, want %d", len(runs), n)
	}
	for id, k := range runs {
		if k != 1 {
			t.Errorf("%s ran %d times", id, k)
		}
	}
	refused := stats[0].Refused + stats[1].Refused
	if stats[0].Succeeded+stats[1].Succeeded != n || refused > n/10 || min(stats[0].Succeeded, stats[1].Succeeded) < n/4 {
		t.Errorf("stats = %+v, want %d succeeded between them, at least a quarter each, and at most %d claims refused", stats, n, n/10)
	}
	t.Logf("refused %d; stats %+v", refused, stats)
}

func TestPoolStopReleasesHeldTasks(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, tracker.Config{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 4, Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
		if started.Add(1) == 4 {
			cancel() // all four workers hold a task: stop the pool
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	st, err := p.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if st.Released != 4 || st.Failed != 0 || st.Claimed != 4 {
		t.Errorf("stats = %+v", st)
	}
	if c := counts(t, tr); c[tracker.Todo] != 10 {
		t.Errorf("counts = %v, want every task todo again", c)
	}
	page, _ := tr.List(context.Background(), job, tracker.ListOptions{})
	for _, task := range page.Tasks {
		if task.Retry != 0 || task.Lock != "" {
			t.Errorf("%s = %+v", task.TaskID, task)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("keeps a long task's lease alive", func(t *testing.T) {
		t.Parallel()
		// A lease of 1.5 s renewed every 100 ms leaves 1.4 s for a renewal to get through on a
		// loaded machine; the work lasts over two leases.
		tr := newTracker(t, tracker.Config{LeaseDuration: 1500 * time.Millisecond, ClockSkew: -1}, 1)
		p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Heartbeat: 100 * time.Millisecond, Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			deadline := time.Now().Add(3500 * time.Millisecond)
			for time.Now().Before(deadline) {
				if _, err := tr.Claim(ctx, job, task.TaskID, "thief"); !errors.Is(err, tracker.ErrTaskLocked) {
					return nil, fmt.Errorf("a claim while the heartbeat runs: %v", err)
				}
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				time.Sleep(50 * time.Millisecond) // the work itself, not synchronisation
			}
			return nil, nil
		}}
		st, err := p.Run(ctx)
		if err != nil || st.Succeeded != 1 {
			t.Errorf("Run = %+v, %v", st, err)
		}
	})

	t.Run("cancels the handler when the lease is lost", func(t *testing.T) {
		t.Parallel()
		tr := newTracker(t, tracker.Config{}, 1)
		var cause error
		p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Heartbeat: 20 * time.Millisecond, Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			if _, err := tr.Ignore(ctx, job, task.TaskID); err != nil { // an operator steps in
				return nil, err
			}
			<-ctx.Done()
			cause = context.Cause(ctx)
			return nil, ctx.Err()
		}}
		st, err := p.Run(ctx)
		if err != nil || st.Lost != 1 || !errors.Is(cause, worker.ErrLeaseLost) || !errors.Is(cause, tracker.ErrTaskIgnored) {
			t.Errorf("Run = %+v, %v; handler's ctx ended with %v", st, err, cause)
		}
	})
}

func TestPollWaitsForNewTasks(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, tracker.Config{}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 2, Poll: true, MinIdle: 10 * time.Millisecond, MaxIdle: 50 * time.Millisecond,
		Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			close(done)
			return nil, nil
		}}
	var st worker.Stats
	var err error
	stopped := make(chan struct{})
	go func() { st, err = p.Run(ctx); close(stopped) }()
	if _, err := tr.CreateTask(ctx, job, "late", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the polling pool never ran the task created after it started")
	}
	cancel()
	<-stopped
	if !errors.Is(err, context.Canceled) || st.Succeeded != 1 {
		t.Errorf("Run = %+v, %v", st, err)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr := newTracker(t, tracker.Config{}, 2)
	task, err := worker.Run(ctx, tr, job, "t-000", func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
		return json.RawMessage(`{"ok":true}`), nil
	})
	if err != nil || task.Status != tracker.Succeeded || string(task.Data) != `{"ok":true}` {
		t.Errorf("Run = %+v, %v", task, err)
	}
	task, err = worker.Run(ctx, tr, job, "t-001", func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
		return nil, errors.New("nope")
	})
	if err == nil || err.Error() != "nope" || task.Status != tracker.Failed || task.Retry != 1 {
		t.Errorf("Run = %+v, %v", task, err)
	}
	if _, err := worker.Run(ctx, tr, job, "t-000", nil); !errors.Is(err, tracker.ErrTaskAlreadySucceeded) {
		t.Errorf("Run on a succeeded task = %v", err)
	}
}

// TestPoolRecordsInvalidWorkerOutput: a result that cannot be the task's data is a failed
// attempt recorded at once, with InvalidWorkerOutput and what was wrong, as the state
// machine records a worker's bad output; the task's data stays as it was. Each attempt
// fails alike, so the third ignores the task.
func TestPoolRecordsInvalidWorkerOutput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const prefix = "InvalidWorkerOutput: the worker returned "
	object := func(n int) string { return `{"x":"` + strings.Repeat("d", n-len(`{"x":""}`)) + `"}` } // n bytes
	for _, c := range []struct {
		name, result string
		want         string // the failure recorded; empty when the task succeeds
	}{
		{"a string", `"done"`, prefix + `a string ("done"), not a JSON object or null`},
		{"a number", ` 42 `, prefix + `a number (42), not a JSON object or null`},
		{"an array", `[1]`, prefix + `an array ([1]), not a JSON object or null`},
		{"a boolean", `true`, prefix + `a boolean (true), not a JSON object or null`},
		{"a long string is quoted in part", `"` + strings.Repeat("é", 150) + `"`,
			prefix + `a string ("` + strings.Repeat("é", 99) + `…), not a JSON object or null`},
		{"invalid JSON", `{"n": 1`, prefix + `invalid JSON ({"n": 1): unexpected end of JSON input`},
		{"not JSON at all", `done`, prefix + `invalid JSON (done): invalid character 'd' looking for beginning of value`},
		{"invalid UTF-8", "{\"s\": \"\xff\"}", prefix + `invalid JSON: not valid UTF-8`},
		{"over the size limit", object(tracker.MaxDataBytes + 10),
			prefix + fmt.Sprintf(`a JSON object of %d bytes, 10 bytes over tracker.MaxDataBytes (%d)`, tracker.MaxDataBytes+10, tracker.MaxDataBytes)},
		{"an object at the size limit is stored", object(tracker.MaxDataBytes), ""},
		{"null keeps the data", `null`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr := newTracker(t, tracker.Config{Backoff: 10 * time.Millisecond}, 1)
			p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
				return json.RawMessage(c.result), nil
			}}
			st, err := p.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			task, err := tr.Get(ctx, job, "t-000")
			if err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				wantData := c.result
				if c.result == "null" {
					wantData = `{"n":0}`
				}
				if st != (worker.Stats{Claimed: 1, Succeeded: 1, Listed: 1}) || task.Status != tracker.Succeeded || string(task.Data) != wantData {
					t.Errorf("stats %+v; task %s with %d bytes of data; want succeeded with the result", st, task.Status, len(task.Data))
				}
				return
			}
			if st != (worker.Stats{Claimed: 3, Failed: 2, Ignored: 1, Listed: 3}) {
				t.Errorf("stats = %+v, want 3 claims, 2 failed and the third ignored", st)
			}
			if task.Status != tracker.Ignored || task.Retry != 3 || task.Attempts != 3 || len(task.History) != 3 || task.Lock != "" ||
				string(task.Data) != `{"n":0}` || task.Error == nil || task.Error.Error != c.want || task.Error.Traceback != "" {
				t.Errorf("task = %s, retry %d, %d attempts, %d in history, lock %q, data %s, error %+v; want ignored after 3 failures with %q and its data kept",
					task.Status, task.Retry, task.Attempts, len(task.History), task.Lock, task.Data, task.Error, c.want)
			}
		})
	}

	t.Run("Run returns the error", func(t *testing.T) {
		t.Parallel()
		tr := newTracker(t, tracker.Config{}, 1)
		task, err := worker.Run(ctx, tr, job, "t-000", func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			return json.RawMessage(`"done"`), nil
		})
		want := prefix + `a string ("done"), not a JSON object or null`
		if !errors.Is(err, worker.ErrInvalidWorkerOutput) || err.Error() != want || task == nil || task.Status != tracker.Failed ||
			task.Retry != 1 || task.Error.Error != want {
			t.Errorf("Run = %+v, %v; want the task failed with %q", task, err, want)
		}
	})
}
