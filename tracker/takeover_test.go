package tracker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// leaseLost is the error a takeover records for holder, whose lease began at lockTime.
func leaseLost(holder string, ranOut string) string {
	return fmt.Sprintf("lease lost: %s held the task and its lease ran out at %s without the task finishing", holder, ranOut)
}

// storedErrors reads the task's `errors` attribute as stored.
func (e *env) storedErrors(t testing.TB, id string) string {
	t.Helper()
	av, ok := e.raw(t, job, id)["errors"].(*types.AttributeValueMemberS)
	if !ok {
		t.Fatalf("errors of %s is not a string: %v", id, e.raw(t, job, id)["errors"])
	}
	return av.Value
}

func TestTakeoverCountsTheLostAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a task whose worker dies three times is ignored", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", `{"poison": true}`)
		e.claim(t, "t", "w1")
		for i, holder := range []string{"w1", "w2"} {
			ranOut := e.clock.Now().Add(tracker.DefaultLeaseDuration)
			e.clock.Advance(e.expiry())
			next := fmt.Sprintf("w%d", i+2)
			l := e.claim(t, "t", next)
			want := tracker.TaskError{Error: leaseLost(holder, ranOut.Format(tracker.TimeLayout))}
			if l.Retry != i+1 || l.Task.Retry != i+1 || l.Task.Status != tracker.InProgress || l.Task.LockOwner != next || *l.Task.Error != want {
				t.Fatalf("takeover %d: lease retry %d, task %+v error %+v", i+1, l.Retry, l.Task, l.Task.Error)
			}
		}
		ranOut := e.clock.Now().Add(tracker.DefaultLeaseDuration).Format(tracker.TimeLayout)
		e.clock.Advance(e.expiry())
		_, err := e.tr.Claim(ctx, job, "t", "w4")
		ce := wantConflict(t, err, tracker.ErrTaskIgnored)
		if ce.Task == nil || ce.Task.Status != tracker.Ignored || ce.Task.Retry != 3 || ce.Task.Lock != "" {
			t.Errorf("refusal carries %+v", ce.Task)
		}
		got, err := e.tr.Get(ctx, job, "t")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tracker.Ignored || got.Retry != 3 || got.Lock != "" || got.Attempts != 3 || string(got.Data) != `{"poison":true}` {
			t.Errorf("task = %+v", got)
		}
		want, _ := json.Marshal(map[string]string{"error": leaseLost("w3", ranOut), "traceback": ""})
		if s := e.storedErrors(t, "t"); s != string(want) {
			t.Errorf("errors = %s, want %s", s, want)
		}
		if _, ok := e.raw(t, job, "t")["lock"].(*types.AttributeValueMemberNULL); !ok {
			t.Errorf("lock of the ignored task should be NULL")
		}
		_, err = e.tr.Claim(ctx, job, "t", "w5")
		wantConflict(t, err, tracker.ErrTaskIgnored)
	})

	t.Run("a worker that crashes once then succeeds ends succeeded with retry 0", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		e.claim(t, "t", "crashed")
		e.clock.Advance(e.expiry())
		l := e.claim(t, "t", "w")
		if l.Retry != 1 || l.Task.Error == nil {
			t.Fatalf("takeover lease retry %d error %+v", l.Retry, l.Task.Error)
		}
		got, err := e.tr.Complete(ctx, *l, json.RawMessage(`{"ok": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tracker.Succeeded || got.Retry != 0 || got.Attempts != 2 || got.Lock != "" || string(got.Data) != `{"ok":1}` {
			t.Errorf("task = %+v", got)
		}
	})

	t.Run("the takeover counts towards the retries of ordinary failures", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		e.fail(t, e.claim(t, "t", "w1"), "boom")
		e.claim(t, "t", "w2")
		e.clock.Advance(e.expiry())
		l := e.claim(t, "t", "w3")
		if l.Retry != 2 {
			t.Fatalf("retry after a failure and a lost lease = %d, want 2", l.Retry)
		}
		got, err := e.tr.Fail(ctx, *l, tracker.Failure{Error: "boom again"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != tracker.Ignored || got.Retry != 3 || got.Error.Error != "boom again" {
			t.Errorf("task = %+v", got)
		}
	})

	t.Run("a lease that is still live is not taken over", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		e.claim(t, "t", "w1")
		e.clock.Advance(e.expiry() - time.Microsecond)
		_, err := e.tr.Claim(ctx, job, "t", "w2")
		wantConflict(t, err, tracker.ErrTaskLocked)
		if got, _ := e.tr.Get(ctx, job, "t"); got.Retry != 0 || got.Error != nil || got.LockOwner != "w1" {
			t.Errorf("task = %+v", got)
		}
	})
}

// expiry is how long after its lock time a lease may be taken over.
func (e *env) expiry() time.Duration { return e.tr.Config().LeaseDuration + e.tr.Config().ClockSkew }
