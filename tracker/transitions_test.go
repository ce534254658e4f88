package tracker_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

const job = "parse-json"

// raw reads a task's item as stored.
func (e *env) raw(t testing.TB, job, task string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(e.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____" + task}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func (e *env) create(t testing.TB, id string, data string) {
	t.Helper()
	var raw json.RawMessage
	if data != "" {
		raw = json.RawMessage(data)
	}
	if _, err := e.tr.CreateTask(context.Background(), job, id, raw); err != nil {
		t.Fatal(err)
	}
}

func (e *env) claim(t testing.TB, id, owner string) *tracker.Lease {
	t.Helper()
	l, err := e.tr.Claim(context.Background(), job, id, owner)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fail records a failure under l and then lets the task's backoff run out on the clock, so
// the task is due again.
func (e *env) fail(t testing.TB, l *tracker.Lease, msg string) *tracker.Task {
	t.Helper()
	task, err := e.tr.Fail(context.Background(), *l, tracker.Failure{Error: msg, Traceback: "trace of " + msg})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(e.tr.BackoffAfter(task.Retry))
	return task
}

// takeover creates task "t", claims it as "slow", lets that lease expire and has "fast"
// claim the task: slow's lease is stale, fast's is live.
func (e *env) takeover(t testing.TB) (slow, fast *tracker.Lease) {
	t.Helper()
	e.create(t, "t", "")
	slow = e.claim(t, "t", "slow")
	e.clock.Advance(e.expiry())
	return slow, e.claim(t, "t", "fast")
}

// wantConflict checks err is a *ConflictError matching reason.
func wantConflict(t testing.TB, err, reason error) *tracker.ConflictError {
	t.Helper()
	if !errors.Is(err, reason) {
		t.Fatalf("error = %v, want %v", err, reason)
	}
	var ce *tracker.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *tracker.ConflictError", err)
	}
	return ce
}

func TestClaim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, e *env) // leaves task "t" in some state
		want    error                      // nil: the claim succeeds
		retry   int
	}{
		{"claims a todo task", func(t *testing.T, e *env) { e.create(t, "t", "") }, nil, 0},
		{"claims a failed task", func(t *testing.T, e *env) {
			e.create(t, "t", "")
			e.fail(t, e.claim(t, "t", "w0"), "boom")
		}, nil, 1},
		{"claims an in-progress task whose lease expired, counting the lost attempt", func(t *testing.T, e *env) {
			e.create(t, "t", "")
			e.claim(t, "t", "crashed")
			e.clock.Advance(e.expiry())
		}, nil, 1},
		{"refuses a task locked by another worker", func(t *testing.T, e *env) {
			e.create(t, "t", "")
			e.claim(t, "t", "other")
			e.clock.Advance(e.expiry() - time.Second)
		}, tracker.ErrTaskLocked, 0},
		{"refuses a succeeded task", func(t *testing.T, e *env) {
			e.create(t, "t", "")
			if _, err := e.tr.Complete(context.Background(), *e.claim(t, "t", "w0"), nil); err != nil {
				t.Fatal(err)
			}
		}, tracker.ErrTaskAlreadySucceeded, 0},
		{"refuses an ignored task", func(t *testing.T, e *env) {
			e.create(t, "t", "")
			if _, err := e.tr.Ignore(context.Background(), job, "t"); err != nil {
				t.Fatal(err)
			}
		}, tracker.ErrTaskIgnored, 0},
		{"refuses a task that does not exist", func(t *testing.T, e *env) {}, tracker.ErrTaskNotFound, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tracker.Config{})
			tc.prepare(t, e)
			before := e.raw(t, job, "t")
			lease, err := e.tr.Claim(context.Background(), job, "t", "me")
			if tc.want != nil {
				ce := wantConflict(t, err, tc.want)
				if tc.want == tracker.ErrTaskLocked {
					if ce.Task.LockOwner != "other" || !ce.LockExpires.After(e.clock.Now()) {
						t.Errorf("locked error names holder %q until %v", ce.Task.LockOwner, ce.LockExpires)
					}
					if !strings.Contains(err.Error(), "held by other") {
						t.Errorf("message %q does not name the holder", err)
					}
				}
				if after := e.raw(t, job, "t"); !reflect.DeepEqual(before, after) {
					t.Errorf("refused claim changed the item:\nbefore %v\nafter  %v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(lease.Token) != 32 || strings.Trim(lease.Token, "0123456789abcdef") != "" {
				t.Errorf("token %q is not 32 lower-case hex characters", lease.Token)
			}
			got := lease.Task
			if got.Status != tracker.InProgress || got.Lock != lease.Token || got.LockOwner != "me" || got.Retry != tc.retry {
				t.Errorf("claimed task = %+v", got)
			}
			if !got.LockTime.Equal(e.clock.Now()) || !lease.Expires.Equal(e.clock.Now().Add(tracker.DefaultLeaseDuration)) {
				t.Errorf("lock time %v, expires %v, now %v", got.LockTime, lease.Expires, e.clock.Now())
			}
		})
	}
}

func TestClaimRejectsBadInputBeforeWriting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tracker.Config{})
	for _, ids := range [][2]string{{"", "t"}, {job, ""}, {job, "a____b"}, {"job_", "t"}, {job, strings.Repeat("x", 2048)}} {
		_, err := e.tr.Claim(context.Background(), ids[0], ids[1], "")
		var ve *tracker.ValidationError
		if !errors.Is(err, tracker.ErrInvalidInput) || !errors.As(err, &ve) {
			t.Errorf("Claim(%q, %.10q…) = %v, want a ValidationError", ids[0], ids[1], err)
		}
	}
}

func TestComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("completes with a result, unlocks and resets retry", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", `{"input": 1}`)
		e.fail(t, e.claim(t, "t", "w"), "first")
		lease := e.claim(t, "t", "w")
		got, err := e.tr.Complete(ctx, *lease, json.RawMessage(`{"n_records": 100}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tracker.Succeeded || got.Lock != "" || got.Retry != 0 || string(got.Data) != `{"n_records":100}` {
			t.Errorf("completed task = %+v data %s", got, got.Data)
		}
		if got.Error == nil || got.Error.Error != "first" {
			t.Errorf("the last error should stay on record, got %+v", got.Error)
		}
		if _, ok := e.raw(t, job, "t")["lock"].(*types.AttributeValueMemberNULL); !ok {
			t.Errorf("lock should be stored as NULL after completion")
		}
	})

	t.Run("keeps the data when there is no result", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", `{"input": 1}`)
		got, err := e.tr.Complete(ctx, *e.claim(t, "t", "w"), nil)
		if err != nil || string(got.Data) != `{"input":1}` {
			t.Fatalf("Complete = %+v, %v", got, err)
		}
	})

	t.Run("a replay returns the current state and counts nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		lease := e.claim(t, "t", "w")
		first, err := e.tr.Complete(ctx, *lease, json.RawMessage(`{"r":1}`))
		if err != nil {
			t.Fatal(err)
		}
		before := e.raw(t, job, "t")
		again, err := e.tr.Complete(ctx, *lease, json.RawMessage(`{"r":1}`))
		if err != nil {
			t.Fatalf("replayed Complete: %v", err)
		}
		if again.Status != tracker.Succeeded || !again.UpdateTime.Equal(first.UpdateTime) {
			t.Errorf("replay returned %+v", again)
		}
		if after := e.raw(t, job, "t"); !reflect.DeepEqual(before, after) {
			t.Errorf("replay changed the item")
		}
	})

	t.Run("a stale lease is refused and the new holder's result stands", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		slow, fast := e.takeover(t)
		if _, err := e.tr.Complete(ctx, *fast, json.RawMessage(`{"by":"fast"}`)); err != nil {
			t.Fatal(err)
		}
		_, err := e.tr.Complete(ctx, *slow, json.RawMessage(`{"by":"slow"}`))
		wantConflict(t, err, tracker.ErrTaskAlreadySucceeded)
		_, err = e.tr.Fail(ctx, *slow, tracker.Failure{Error: "late"})
		wantConflict(t, err, tracker.ErrTaskAlreadySucceeded)
		got, _ := e.tr.Get(ctx, job, "t")
		if string(got.Data) != `{"by":"fast"}` || got.Retry != 0 {
			t.Errorf("task after the stale writes = %+v %s", got, got.Data)
		}
	})

	t.Run("a stale lease on a task still in progress is lease lost", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		slow, _ := e.takeover(t)
		before := e.raw(t, job, "t")
		_, err := e.tr.Complete(ctx, *slow, nil)
		wantConflict(t, err, tracker.ErrLeaseLost)
		if after := e.raw(t, job, "t"); !reflect.DeepEqual(before, after) {
			t.Errorf("refused Complete changed the item")
		}
	})

	t.Run("refuses a result that is not a JSON object and writes nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		lease := e.claim(t, "t", "w")
		before := e.raw(t, job, "t")
		for _, bad := range []string{`[1,2]`, `"text"`, `{"a":`, `42`} {
			if _, err := e.tr.Complete(ctx, *lease, json.RawMessage(bad)); !errors.Is(err, tracker.ErrInvalidInput) {
				t.Errorf("Complete(%s) = %v, want ErrInvalidInput", bad, err)
			}
		}
		big := `{"x":"` + strings.Repeat("a", tracker.MaxDataBytes) + `"}`
		if _, err := e.tr.Complete(ctx, *lease, json.RawMessage(big)); !errors.Is(err, tracker.ErrInvalidInput) {
			t.Errorf("Complete(oversized) = %v, want ErrInvalidInput", err)
		}
		if after := e.raw(t, job, "t"); !reflect.DeepEqual(before, after) {
			t.Errorf("invalid Complete changed the item")
		}
	})

	t.Run("a worker whose task was ignored meanwhile is told so", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		lease := e.claim(t, "t", "w")
		if _, err := e.tr.Ignore(ctx, job, "t"); err != nil {
			t.Fatal(err)
		}
		_, err := e.tr.Complete(ctx, *lease, nil)
		wantConflict(t, err, tracker.ErrTaskIgnored)
	})
}

func TestFail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("counts each failure once and ignores the task at the maximum", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		for attempt := 1; attempt <= tracker.DefaultMaxRetry; attempt++ {
			lease := e.claim(t, "t", "w")
			got := e.fail(t, lease, "boom")
			want := tracker.Failed
			if attempt == tracker.DefaultMaxRetry {
				want = tracker.Ignored
			}
			if got.Status != want || got.Retry != attempt || got.Lock != "" || got.Attempts != attempt {
				t.Fatalf("after failure %d: %+v", attempt, got)
			}
			if got.Error == nil || got.Error.Error != "boom" || got.Error.Traceback != "trace of boom" {
				t.Fatalf("error record = %+v", got.Error)
			}
			// Replaying the same Fail (a Lambda retry) changes nothing.
			again, err := e.tr.Fail(ctx, *lease, tracker.Failure{Error: "boom"})
			if err != nil || again.Retry != attempt || again.Status != want {
				t.Fatalf("replayed Fail = %+v, %v", again, err)
			}
		}
		_, err := e.tr.Claim(ctx, job, "t", "w")
		wantConflict(t, err, tracker.ErrTaskIgnored)
	})

	t.Run("an out-of-date retry in the lease costs a call, not correctness", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{MaxRetry: 2})
		e.create(t, "t", "")
		e.fail(t, e.claim(t, "t", "w"), "one")
		lease := e.claim(t, "t", "w")
		lease.Retry = 0 // the caller lost track: the stored retry is 1
		got := e.fail(t, lease, "two")
		if got.Retry != 2 || got.Status != tracker.Ignored {
			t.Errorf("got %+v, want retry 2 and ignored", got)
		}
	})

	t.Run("a stale lease is refused and counts nothing", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		slow, _ := e.takeover(t)
		_, err := e.tr.Fail(ctx, *slow, tracker.Failure{Error: "late"})
		wantConflict(t, err, tracker.ErrLeaseLost)
		// The takeover counted slow's attempt once; slow's own late Fail adds nothing.
		if got, _ := e.tr.Get(ctx, job, "t"); got.Retry != 1 || got.Error == nil || !strings.HasPrefix(got.Error.Error, "lease lost: slow held") || got.LockOwner != "fast" {
			t.Errorf("task after the stale Fail = %+v, error %+v", got, got.Error)
		}
	})

	t.Run("cuts an oversized traceback rather than losing the failure", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		got, err := e.tr.Fail(ctx, *e.claim(t, "t", "w"), tracker.Failure{Error: "x", Traceback: strings.Repeat("frame\n", 100000)})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(got.Error.Traceback); n > tracker.MaxTracebackBytes || !strings.HasSuffix(got.Error.Traceback, "[truncated]") {
			t.Errorf("traceback is %d bytes, ends %q", n, got.Error.Traceback[n-20:])
		}
	})
}

func TestExtend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{LeaseDuration: time.Minute})
	e.create(t, "t", "")
	lease := e.claim(t, "t", "w")
	e.clock.Advance(50 * time.Second)
	ext, err := e.tr.Extend(ctx, *lease)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Now().Add(time.Minute); !ext.Expires.Equal(want) || ext.Token != lease.Token {
		t.Errorf("extended lease = %+v, want expiry %v", ext, want)
	}
	e.clock.Advance(50 * time.Second) // past the first expiry, within the extension
	_, err = e.tr.Claim(ctx, job, "t", "other")
	wantConflict(t, err, tracker.ErrTaskLocked)

	e.clock.Advance(time.Minute)
	e.claim(t, "t", "other")
	_, err = e.tr.Extend(ctx, *lease)
	wantConflict(t, err, tracker.ErrLeaseLost)
}

func TestOperatorTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 1})
	e.create(t, "ignored", "")
	e.fail(t, e.claim(t, "ignored", "w"), "always")
	e.create(t, "todo", "")
	e.create(t, "done", "")
	if _, err := e.tr.Complete(ctx, *e.claim(t, "done", "w"), nil); err != nil {
		t.Fatal(err)
	}

	got, err := e.tr.Retry(ctx, job, "ignored")
	if err != nil || got.Status != tracker.Todo || got.Retry != 0 || got.Error == nil {
		t.Fatalf("Retry(ignored) = %+v, %v; want todo, retry 0, error kept", got, err)
	}
	e.claim(t, "ignored", "w") // claimable again

	_, err = e.tr.Retry(ctx, job, "todo")
	wantConflict(t, err, tracker.ErrTaskWrongStatus)
	_, err = e.tr.Retry(ctx, job, "done")
	wantConflict(t, err, tracker.ErrTaskAlreadySucceeded)
	_, err = e.tr.Retry(ctx, job, "missing")
	wantConflict(t, err, tracker.ErrTaskNotFound)

	if got, err := e.tr.Ignore(ctx, job, "todo"); err != nil || got.Status != tracker.Ignored {
		t.Fatalf("Ignore(todo) = %+v, %v", got, err)
	}
	if _, err := e.tr.Ignore(ctx, job, "todo"); err != nil {
		t.Errorf("ignoring an ignored task again: %v", err)
	}
	_, err = e.tr.Ignore(ctx, job, "done")
	wantConflict(t, err, tracker.ErrTaskAlreadySucceeded)
	_, err = e.tr.Ignore(ctx, job, "missing")
	wantConflict(t, err, tracker.ErrTaskNotFound)
}

func TestCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})

	e.create(t, "running", `{"v":1}`)
	lease := e.claim(t, "running", "w")
	_, err := e.tr.CreateTask(ctx, job, "running", json.RawMessage(`{"v":2}`))
	ce := wantConflict(t, err, tracker.ErrTaskExists)
	if ce.Task == nil || ce.Task.Status != tracker.InProgress {
		t.Errorf("ErrTaskExists should carry the existing task, got %+v", ce.Task)
	}

	tasks := []tracker.NewTask{{ID: "running", Data: json.RawMessage(`{"v":3}`)}}
	for i := range 60 {
		tasks = append(tasks, tracker.NewTask{ID: "batch-" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	res, err := e.tr.CreateTasks(ctx, job, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 60 || !reflect.DeepEqual(res.Existing, []string{"running"}) {
		t.Errorf("CreateTasks = %d created, existing %v", len(res.Created), res.Existing)
	}
	got, _ := e.tr.Get(ctx, job, "running")
	if got.Status != tracker.InProgress || got.Lock != lease.Token || string(got.Data) != `{"v":1}` {
		t.Errorf("an existing running task was reset: %+v", got)
	}
	res, err = e.tr.CreateTasks(ctx, job, tasks)
	if err != nil || len(res.Created) != 0 || len(res.Existing) != 61 {
		t.Errorf("second CreateTasks = %+v, %v; want all existing", res, err)
	}

	counts, _ := e.tr.Count(ctx, job)
	for name, bad := range map[string][]tracker.NewTask{
		"invalid id":                 {{ID: "fine-1"}, {ID: "a____b"}},
		"array data":                 {{ID: "fine-2"}, {ID: "x", Data: json.RawMessage(`[1]`)}},
		"repeated id":                {{ID: "fine-3"}, {ID: "fine-3"}},
		"control character in an id": {{ID: "fine-5"}, {ID: "a\tb"}},
		"invalid UTF-8 data":         {{ID: "fine-6"}, {ID: "z", Data: json.RawMessage("{\"a\":\"\xff\"}")}},
		"key over 1,024 bytes":       {{ID: "fine-7"}, {ID: strings.Repeat("k", 1024)}},
		"oversized data":             {{ID: "fine-4"}, {ID: "y", Data: json.RawMessage(`{"x":"` + strings.Repeat("a", tracker.MaxDataBytes) + `"}`)}},
	} {
		_, err := e.tr.CreateTasks(ctx, job, bad)
		var ve *tracker.ValidationError
		if !errors.As(err, &ve) || !strings.HasPrefix(ve.Field, "tasks[1]") {
			t.Errorf("%s: CreateTasks = %v, want a ValidationError on tasks[1]", name, err)
		}
	}
	if after, _ := e.tr.Count(ctx, job); !reflect.DeepEqual(counts, after) {
		t.Errorf("rejected batches wrote tasks: %v -> %v", counts, after)
	}
}

func TestDeleteJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	var tasks []tracker.NewTask
	for i := range 60 {
		tasks = append(tasks, tracker.NewTask{ID: strings.Repeat("t", 1+i%5) + string(rune('A'+i))})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	e.claim(t, tasks[0].ID, "w")
	if _, err := e.tr.CreateTask(ctx, "other-job", "keep", nil); err != nil {
		t.Fatal(err)
	}
	n, err := e.tr.DeleteJob(ctx, job)
	if err != nil || n != 60 {
		t.Fatalf("DeleteJob = %d, %v; want 60", n, err)
	}
	counts, _ := e.tr.Count(ctx, job)
	for s, c := range counts {
		if c != 0 {
			t.Errorf("%d %s tasks left", c, s)
		}
	}
	if _, err := e.tr.Get(ctx, "other-job", "keep"); err != nil {
		t.Errorf("another job's task went too: %v", err)
	}
}

func TestJobStatusCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	custom := tracker.StatusCodes{Todo: 1, InProgress: 2, Failed: 4, Succeeded: 5, Ignored: 7}
	e := newEnv(t, tracker.Config{JobCodes: map[string]tracker.StatusCodes{"custom": custom}})
	if _, err := e.tr.CreateTask(ctx, "custom", "t", nil); err != nil {
		t.Fatal(err)
	}
	l, err := e.tr.Claim(ctx, "custom", "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	if v := e.raw(t, "custom", "t")["value"].(*types.AttributeValueMemberS).Value; v != "custom____02" {
		t.Errorf("value = %q, want custom____02", v)
	}
	if _, err := e.tr.Complete(ctx, *l, nil); err != nil {
		t.Fatal(err)
	}
	counts, _ := e.tr.Count(ctx, "custom")
	if counts[tracker.Succeeded] != 1 {
		t.Errorf("counts = %v", counts)
	}
	bad := tracker.StatusCodes{Todo: 0, InProgress: 3, Failed: 6, Succeeded: 12, Ignored: 10}
	if _, err := tracker.New(e.db, tracker.Config{Table: "x", JobCodes: map[string]tracker.StatusCodes{"j": bad}}); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Errorf("codes with ignored not the largest: %v", err)
	}
}

func TestFailedTaskWaitsOutItsBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{Backoff: 10 * time.Second})
	e.create(t, "a", "")
	e.create(t, "b", "")
	failedAt := e.clock.Now()
	failed, err := e.tr.Fail(ctx, *e.claim(t, "a", "w"), tracker.Failure{Error: "boom"})
	if err != nil {
		t.Fatal(err)
	}
	if want := failedAt.Add(10 * time.Second); !failed.RetryAt.Equal(want) {
		t.Fatalf("retry_at = %v, want %v", failed.RetryAt, want)
	}
	wantPending := func(want ...string) {
		t.Helper()
		p, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(p.Tasks); !equal(got, want) {
			t.Errorf("pending = %v, want %v", got, want)
		}
	}
	wantPending("b")
	_, err = e.tr.Claim(ctx, job, "a", "w")
	ce := wantConflict(t, err, tracker.ErrTaskNotDue)
	if !ce.Task.RetryAt.Equal(failed.RetryAt) {
		t.Errorf("refusal carries retry_at %v, want %v", ce.Task.RetryAt, failed.RetryAt)
	}
	if d, err := e.tr.NextDue(ctx, job); err != nil || !d.Waiting || !d.First.Equal(failed.RetryAt) || !d.Last.Equal(failed.RetryAt) {
		t.Errorf("NextDue = %+v, %v; want %v", d, err, failed.RetryAt)
	}

	e.clock.Advance(10*time.Second - time.Microsecond)
	_, err = e.tr.Claim(ctx, job, "a", "w")
	wantConflict(t, err, tracker.ErrTaskNotDue)
	e.clock.Advance(time.Microsecond)
	wantPending("a", "b")
	if d, err := e.tr.NextDue(ctx, job); err != nil || d.Waiting {
		t.Errorf("NextDue once due = %+v, %v; want none", d, err)
	}
	second := e.claim(t, "a", "w")
	if raw := e.raw(t, job, "a"); raw["retry_at"] != nil {
		t.Errorf("a claimed task keeps retry_at %v", raw["retry_at"])
	}
	// The second failure doubles the backoff.
	again, err := e.tr.Fail(ctx, *second, tracker.Failure{Error: "boom"})
	if err != nil {
		t.Fatal(err)
	}
	if want := e.clock.Now().Add(20 * time.Second); !again.RetryAt.Equal(want) {
		t.Errorf("second retry_at = %v, want %v", again.RetryAt, want)
	}
	// An operator's Retry makes it due at once.
	if _, err := e.tr.Retry(ctx, job, "a"); err != nil {
		t.Fatal(err)
	}
	e.claim(t, "a", "w")
}

func TestBackoffAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tracker.Config{})
	for _, tc := range []struct {
		retry int
		want  time.Duration
	}{{0, 0}, {1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {7, 300 * time.Second}, {60, 300 * time.Second}} {
		if got := e.tr.BackoffAfter(tc.retry); got != tc.want {
			t.Errorf("BackoffAfter(%d) = %v, want %v", tc.retry, got, tc.want)
		}
	}
}

func TestRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name      string
		failFirst bool
		want      tracker.Status
		wantRetry int
	}{
		{"a todo task goes back to todo", false, tracker.Todo, 0},
		{"a failed task goes back to failed, due at once, its retry unchanged", true, tracker.Failed, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tracker.Config{})
			e.create(t, "t", "")
			if tc.failFirst {
				e.fail(t, e.claim(t, "t", "w"), "boom")
			}
			lease := e.claim(t, "t", "w")
			got, err := e.tr.Release(ctx, *lease)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want || got.Retry != tc.wantRetry || got.Lock != "" || !got.RetryAt.IsZero() {
				t.Fatalf("released = %+v", got)
			}
			// A replay answers the same; the task is claimable again at once.
			if again, err := e.tr.Release(ctx, *lease); err != nil || again.Status != tc.want {
				t.Fatalf("replayed Release = %+v, %v", again, err)
			}
			if p, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 10}); err != nil || !equal(ids(p.Tasks), []string{"t"}) {
				t.Fatalf("pending after release = %+v, %v", p, err)
			}
			next := e.claim(t, "t", "w2")
			_, err = e.tr.Release(ctx, *lease)
			wantConflict(t, err, tracker.ErrLeaseLost)
			// A lease whose Retry is out of date still releases to the right status.
			next.Retry = 1 - tc.wantRetry
			if got, err := e.tr.Release(ctx, *next); err != nil || got.Status != tc.want || got.Retry != tc.wantRetry {
				t.Fatalf("release with a wrong lease.Retry = %+v, %v", got, err)
			}
		})
	}
}
