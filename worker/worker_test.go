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

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/worker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

const job = "work"

// newTracker creates a table with n tasks t-000… and returns a tracker on it, its client
// built with opts.
func newTracker(t testing.TB, cfg tracker.Config, n int, opts ...func(*dynamodb.Options)) *tracker.Tracker {
	t.Helper()
	ctx := context.Background()
	tr, _ := trackertest.New(t, cfg, opts...)
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
	// A permanent error ignores its task at its first attempt, in the failure's own write,
	// fingerprinted like any failure.
	perm, _ := tr.Get(ctx, job, "t-008")
	if perm.Status != tracker.Ignored || perm.Retry != 1 || perm.Attempts != 1 || perm.Error.Error != "bad input" ||
		perm.Failure == nil || perm.Failure.Fingerprint != fingerprint.Compute("bad input", "").String() || len(perm.History) != 1 {
		t.Errorf("permanent failure left %+v, error %+v, failure %+v", perm, perm.Error, perm.Failure)
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
		if err != nil || st.Lost != 1 || !errors.Is(cause, tracker.ErrLeaseLost) || !errors.Is(cause, tracker.ErrTaskIgnored) {
			t.Errorf("Run = %+v, %v; handler's ctx ended with %v", st, err, cause)
		}
	})

	t.Run("ends the handler with tracker.ErrLeaseLost when the lease is lost, said once", func(t *testing.T) {
		t.Parallel()
		tr := newTracker(t, tracker.Config{}, 1)
		var cause error
		p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Heartbeat: 20 * time.Millisecond, Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			if cause != nil {
				return nil, nil // the task again, after the lease was lost
			}
			// An operator ignores the task and puts it back: the lease no longer holds it.
			if _, err := tr.Ignore(ctx, job, task.TaskID); err != nil {
				return nil, err
			}
			if _, err := tr.Retry(ctx, job, task.TaskID); err != nil {
				return nil, err
			}
			<-ctx.Done()
			cause = context.Cause(ctx)
			return nil, ctx.Err()
		}}
		st, err := p.Run(ctx)
		if err != nil || st.Lost != 1 || st.Succeeded != 1 || !errors.Is(cause, tracker.ErrLeaseLost) || !errors.Is(cause, worker.ErrLeaseLost) ||
			strings.Count(cause.Error(), "lease lost") != 1 {
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

// TestHandlerContextEndsWithItsLease: when no extension gets through, a handler's ctx ends at
// its lease's deadline (Lease.Expires, moved by each extension, less the skew allowance),
// not at the heartbeat's next tick, and before another worker may take the task over. The
// holder's extensions are throttled once its handler runs (one attempt each, so that each
// fails at once); its clock is an hour ahead of the machine's, so that a pool timing the
// lease by time.Now would be caught.
func TestHandlerContextEndsWithItsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A skew allowance of a tenth of the lease, 400 ms: the ctx ends 3.6 s after the lease's
	// last extension, and the beat after that comes at 4 s, when the lease ends. A worker
	// whose clock runs the whole ClockSkew ahead may take the task over from then on; the
	// holder's pool, not before 14 s, so that it finds nothing pending after the loss.
	const lease, clockSkew, skew, beat = 4 * time.Second, 10 * time.Second, 400 * time.Millisecond, time.Second
	for _, c := range []struct {
		name string
		// extendFirst lets the first extension through before throttling the others.
		extendFirst bool
		// thief is another worker whose clock runs the whole ClockSkew ahead, claiming the
		// task as soon as it may: from the lease's end by the holder's clock.
		thief bool
	}{
		{name: "extensions throttled from the start"},
		{name: "a successful extension moves the deadline", extendFirst: true},
		{name: "the handler stops before another worker takes the task over", thief: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			now := func() time.Time { return time.Now().Add(time.Hour) }
			var faults dynamotest.Faults
			tr, _ := trackertest.New(t, tracker.Config{LeaseDuration: lease, ClockSkew: clockSkew, Now: now},
				faults.Option(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
			if _, err := tr.CreateTask(ctx, job, "t-000", nil); err != nil {
				t.Fatal(err)
			}
			thief, err := tracker.New(dynamotest.Client(t), tracker.Config{Table: tr.Config().Table, LeaseDuration: lease, ClockSkew: clockSkew,
				Now: func() time.Time { return now().Add(clockSkew) }})
			if err != nil {
				t.Fatal(err)
			}
			var deadline, ended, stolen time.Time // by the holder's clock
			var cause error
			var runs atomic.Int32
			p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Owner: "holder", Heartbeat: beat, Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
				if runs.Add(1) > 1 {
					return nil, nil // the task again, after the lease was lost
				}
				locked := task.LockTime
				if c.extendFirst {
					locked = extended(t, tr, task)
				}
				faults.Throttle(1, "UpdateItem")
				deadline = locked.Add(lease - skew)
				took := make(chan time.Time, 1)
				if c.thief {
					go func() { took <- steal(t, thief, task.TaskID) }()
				}
				select {
				case <-ctx.Done():
					ended, cause = now(), context.Cause(ctx)
				case <-time.After(3 * lease):
					t.Errorf("the handler's ctx was still live %v after its lease was last extended", 3*lease)
				}
				if c.thief {
					stolen = (<-took).Add(-clockSkew)
				}
				faults.Throttle(0) // then the pool can write what it will
				return nil, worker.Permanent(errors.New("stopped"))
			}}
			st, err := p.Run(ctx)
			if err != nil || st != (worker.Stats{Claimed: 1, Lost: 1, Listed: 1}) {
				t.Errorf("Run = %+v, %v; want one task claimed and lost", st, err)
			}
			if !ended.IsZero() && (ended.Before(deadline) || !ended.Before(deadline.Add(skew))) {
				t.Errorf("the handler's ctx ended %v after the deadline, want within [0, %v): at the deadline, before the next beat and the lease's end",
					ended.Sub(deadline), skew)
			}
			if _, throttled := errors.AsType[*types.ThrottlingException](cause); !errors.Is(cause, worker.ErrLeaseLost) || !throttled ||
				!strings.HasPrefix(cause.Error(), fmt.Sprintf("lease lost: this lease no longer holds the task: no extension got through before %s (the lease's end less the clock skew allowance); the last one failed: extend work/t-000: operation error DynamoDB: UpdateItem, exceeded maximum number of attempts, 1, https response error StatusCode: 400, RequestID: DYNAMOTEST",
					deadline.UTC().Format(time.RFC3339Nano))) {
				t.Errorf("the handler's ctx ended with %v, want worker.ErrLeaseLost at the deadline after a throttled extension", cause)
			}
			if c.thief && !ended.Before(stolen) {
				t.Errorf("the holder's handler ran %v after another worker took the task over", ended.Sub(stolen))
			}
			task, err := tr.Get(ctx, job, "t-000")
			if err != nil {
				t.Fatal(err)
			}
			// Nothing written for the lost lease: the task stays as the holder, or the thief, left it.
			want := fmt.Sprintf("in_progress, retry 0, 1 attempts, held by holder/0 since %s", deadline.Add(skew-lease).UTC().Format(time.RFC3339Nano))
			if c.thief {
				want = fmt.Sprintf("in_progress, retry 1, 2 attempts, held by thief since %s", stolen.Add(clockSkew).UTC().Format(time.RFC3339Nano))
			}
			if got := fmt.Sprintf("%s, retry %d, %d attempts, held by %s since %s", task.Status, task.Retry, task.Attempts, task.LockOwner,
				task.LockTime.UTC().Format(time.RFC3339Nano)); got != want {
				t.Errorf("task = %s, want %s", got, want)
			}
		})
	}
}

// extended waits for the first extension of task's lease, and returns its lock time.
func extended(t *testing.T, tr *tracker.Tracker, task *tracker.Task) time.Time {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, err := tr.Get(context.Background(), job, task.TaskID)
		if err != nil {
			t.Error(err)
			return task.LockTime
		}
		if got.LockTime.After(task.LockTime) {
			return got.LockTime
		}
	}
	t.Error("the lease was not extended within 30 s")
	return task.LockTime
}

// steal claims the task for thief as soon as it may, and returns when (by thief's clock).
func steal(t *testing.T, thief *tracker.Tracker, id string) time.Time {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		lease, err := thief.Claim(context.Background(), job, id, "thief")
		if err == nil {
			return lease.Expires.Add(-thief.Config().LeaseDuration)
		}
		// Claim tells a live lock by its clock at the write and explains a refusal by its
		// clock a moment later: a refusal at the lease's end can say the wrong status.
		if !errors.Is(err, tracker.ErrTaskLocked) && !errors.Is(err, tracker.ErrTaskWrongStatus) {
			t.Errorf("the thief's claim: %v", err)
			return time.Time{}
		}
	}
	t.Error("the thief could not take the task over within 30 s")
	return time.Time{}
}

// TestPollingPoolSurvivesThrottling: at 70 % throttling of every DynamoDB request (each of
// the SDK's attempts throttled on its own draw), a polling pool works through every task of
// a job, each once: it waits out the listing errors that outlast the SDK's retries, and
// reports them, instead of ending Run, and writes each outcome however often it takes. Every
// Query is throttled until the pool reports its first listing error, so that there is one
// whatever the draws (at 70 % alone, a run of few listing calls could see none).
func TestPollingPoolSurvivesThrottling(t *testing.T) {
	t.Parallel()
	const n = 30
	var faults dynamotest.Faults
	// The SDK retries as it does by default (4 attempts, and a retry quota that this much
	// throttling soon drains, after which a call is one attempt), but waits at most 20 ms
	// between attempts instead of up to 20 s (a throttled call's waits average 1.5 s), so
	// that the test takes seconds, not minutes.
	tr := newTracker(t, tracker.Config{}, n, faults.Option(),
		func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 20*time.Millisecond) })
	plain, err := tracker.New(dynamotest.Client(t), tr.Config()) // unthrottled, to watch
	if err != nil {
		t.Fatal(err)
	}
	faults.Throttle(1, "Query")
	var mu sync.Mutex
	var reported []error
	runs := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 4, Poll: true, MinIdle: 10 * time.Millisecond, MaxIdle: 50 * time.Millisecond,
		OnListError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if reported = append(reported, err); len(reported) == 1 {
				faults.Throttle(0.7)
			}
		},
		Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			mu.Lock()
			defer mu.Unlock()
			runs[task.TaskID]++
			return json.RawMessage(`{"done":true}`), nil
		}}
	var st worker.Stats
	stopped := make(chan error)
	go func() {
		var err error
		st, err = p.Run(ctx)
		stopped <- err
	}()
	start := time.Now()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		c := counts(t, plain)
		if c[tracker.Succeeded] == n {
			break
		}
		select {
		case err := <-stopped:
			t.Fatalf("Run returned %v before the job was done (counts %v)", err, c)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job was not done within 3 minutes: counts %v", c)
		}
	}
	took := time.Since(start)
	cancel()
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	faults.Throttle(0)
	if c := counts(t, plain); fmt.Sprint(c) != fmt.Sprint(map[tracker.Status]int{tracker.Succeeded: n}) {
		t.Errorf("counts = %v, want %d succeeded", c, n)
	}
	if st.Claimed != n || st.Succeeded != n || st.Failed+st.Ignored+st.Released+st.Lost != 0 {
		t.Errorf("stats = %+v, want %d claimed and succeeded, nothing else", st, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != n {
		t.Errorf("%d tasks ran, want %d", len(runs), n)
	}
	for id, k := range runs {
		if k != 1 {
			t.Errorf("%s ran %d times, want once", id, k)
		}
	}
	if st.ListErrors == 0 || st.ListErrors != len(reported) {
		t.Errorf("Stats.ListErrors = %d, %d reported; want as many, and some", st.ListErrors, len(reported))
	}
	for _, err := range reported {
		if _, throttled := errors.AsType[*types.ThrottlingException](err); !throttled {
			t.Errorf("reported %v, want throttling", err)
		}
	}
	t.Logf("done in %v; stats %+v; throttled %v", took, st, faults.Throttled())
}

// TestACleanRunListsOnce: a run whose every task succeeds reads the job's pending tasks
// once, then checks that nothing is due later or pending and ends: no second pass. The
// queries: Span 3 (the first and last pending id over the statuses; none failed, so the
// pass does not look at the failed and in-progress tasks), the todo tasks from the pool's
// starting point to the end and from the beginning to it 2, the count of the todo and
// failed tasks left 2 (none: nothing is due later either), and the last check of the
// in-progress ones 1: 8 (10 before Span told whether a task failed).
func TestACleanRunListsOnce(t *testing.T) {
	t.Parallel()
	var c dynamotest.Counter
	tr := newTracker(t, tracker.Config{}, 20, c.Option())
	c.Reset()
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Seed: 7,
		Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) { return nil, nil }}
	st, err := p.Run(context.Background())
	if err != nil || st.Succeeded != 20 || st.Listed != 20 {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	if calls := c.Calls(); calls["Query"] != 3+2+2+1 || calls["UpdateItem"] != 2*20 {
		t.Errorf("calls %v: want 8 queries and 40 writes", calls)
	}
}

// TestAPassAtOnceSkipsTheStragglers: a pass that follows the last at once (here because a
// task's lease was lost: an operator ignored it while it ran) does not look at the failed
// and in-progress tasks again when the last look found none less than 10 MinIdle ago and the
// pool failed no task since. The queries: the first pass's 5 as in TestACleanRunListsOnce,
// the second pass's todo listing 2 (nothing left), then the end's 2 and 1: 10 (it was 12
// before Span told whether a task failed, 14 before this skip, and 16 before the end
// counted what was left).
func TestAPassAtOnceSkipsTheStragglers(t *testing.T) {
	t.Parallel()
	var c dynamotest.Counter
	tr := newTracker(t, tracker.Config{}, 20, c.Option())
	c.Reset()
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Seed: 7, MinIdle: time.Hour,
		Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			if task.TaskID == "t-000" {
				_, err := tr.Ignore(ctx, job, task.TaskID)
				return nil, err
			}
			return nil, nil
		}}
	st, err := p.Run(context.Background())
	if err != nil || st.Succeeded != 19 || st.Lost != 1 || st.Listed != 20 {
		t.Fatalf("Run = %+v, %v; want 19 succeeded, 1 lost", st, err)
	}
	if calls := c.Calls(); calls["Query"] != 3+2+2+2+1 {
		t.Errorf("calls %v: want 10 queries", calls)
	}
}

// TestALeaseThatRanOutBeforeTheStartRunsLast: a pool that starts on a job of todo tasks,
// none failed, lists the todo tasks alone in its first pass (tracker.Span tells it none
// failed); a task whose worker crashed, its lease run out, is found by the end's look at
// the in-progress tasks and runs in a second pass. The queries: Span 3, the todo tasks 2,
// the count of the todo and failed tasks left 2 and the in-progress look 1 (it finds one);
// the second pass's one-task check of the failed and in-progress tasks 2 and their listing
// 4 (two statuses, two legs), the todo tasks 2, the end's 3: 19.
func TestALeaseThatRanOutBeforeTheStartRunsLast(t *testing.T) {
	t.Parallel()
	var c dynamotest.Counter
	clock := trackertest.NewClock(trackertest.T0)
	tr := newTracker(t, tracker.Config{Now: clock.Now}, 20, c.Option())
	ctx := context.Background()
	if _, err := tr.Claim(ctx, job, "t-005", "crashed"); err != nil {
		t.Fatal(err)
	}
	clock.Set(trackertest.T0.Add(tr.Config().LeaseDuration + tr.Config().ClockSkew + time.Second))
	c.Reset()
	var ran []string
	p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Seed: 7,
		Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			ran = append(ran, task.TaskID)
			return nil, nil
		}}
	st, err := p.Run(ctx)
	if err != nil || st.Succeeded != 20 || st.Listed != 20 || len(ran) != 20 || ran[19] != "t-005" {
		t.Fatalf("Run = %+v, %v; ran %v: want 20, t-005 last", st, err, ran)
	}
	if calls := c.Calls(); calls["Query"] != 3+2+2+1+2+4+2+3 {
		t.Errorf("calls %v: want 19 queries", calls)
	}
}

// TestListingErrors: how a pool meets listing errors that outlast the SDK's retries (here
// one attempt each), on a job whose every query is throttled.
func TestListingErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		job  string
		poll bool
		// stopAfter ends ctx at this many errors reported; 0 never does.
		stopAfter int
		wantErr   string // what Run returns, up to the request id
		// how many listing errors Run waits out, and queries were throttled
		wantListErrors, wantThrottled int
	}{
		{name: "without Poll, Run returns a listing error after 3 more tries", job: job,
			wantErr:        "span of work: operation error DynamoDB: Query, exceeded maximum number of attempts, 1, https response error StatusCode: 400, RequestID: DYNAMOTEST",
			wantListErrors: 3, wantThrottled: 4},
		{name: "with Poll, Run waits listing errors out until ctx ends", job: job, poll: true, stopAfter: 6,
			wantErr: "context canceled", wantListErrors: 6, wantThrottled: 6},
		{name: "an error that is not transient ends Run at once", job: "bad\tjob", poll: true,
			wantErr: `invalid job_id: "bad\tjob" holds U+0009 at byte 3: control and bidirectional-override characters are not allowed`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var faults dynamotest.Faults
			tr := newTracker(t, tracker.Config{}, 3, faults.Option(), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
			faults.Throttle(1, "Query")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var reported []error
			p := &worker.Pool{Tracker: tr, Job: c.job, Poll: c.poll, MinIdle: 10 * time.Millisecond, MaxIdle: 40 * time.Millisecond,
				OnListError: func(err error) {
					reported = append(reported, err)
					if len(reported) == c.stopAfter {
						cancel()
					}
				},
				Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) { return nil, nil }}
			start := time.Now()
			st, err := p.Run(ctx)
			took := time.Since(start)
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("Run = %v, want %s…", err, c.wantErr)
			}
			if st != (worker.Stats{ListErrors: c.wantListErrors}) || len(reported) != c.wantListErrors || faults.Throttled()["Query"] != c.wantThrottled {
				t.Errorf("stats %+v, %d errors reported, %d queries throttled; want %d listing errors and %d queries throttled",
					st, len(reported), faults.Throttled()["Query"], c.wantListErrors, c.wantThrottled)
			}
			for _, err := range reported {
				if _, throttled := errors.AsType[*types.ThrottlingException](err); !throttled {
					t.Errorf("reported %v, want throttling", err)
				}
			}
			// The waits double from MinIdle to MaxIdle: 10, 20, 40, 40, ... ms.
			var waited time.Duration
			for i := range c.wantListErrors {
				waited += min(10*time.Millisecond<<i, 40*time.Millisecond)
			}
			if c.stopAfter > 0 {
				waited -= 40 * time.Millisecond // the last wait is cut short
			}
			if took < waited {
				t.Errorf("Run took %v, want at least the %v of its waits", took, waited)
			}
		})
	}
}
