package tracker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// conditions records the condition of every UpdateItem a client sends.
type conditions struct {
	mu   sync.Mutex
	sent []string
}

func (c *conditions) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("conditions", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if u, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
				c.mu.Lock()
				c.sent = append(c.sent, aws.ToString(u.ConditionExpression))
				c.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	})
}

func (c *conditions) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent := c.sent
	c.sent = nil
	return sent
}

// The conditions of a claim's first write: Claim's, and ClaimListed's of a task listed new.
const (
	claimCondition = "((begins_with (#0, :0)) OR (begins_with (#0, :1))) AND (((attribute_not_exists (#1)) OR (attribute_type (#1, :2)) OR (#2 <= :3)) AND ((attribute_not_exists (#3)) OR (#3 <= :4)))"
	newCondition   = "((#0 = :0) AND ((attribute_not_exists (#1)) OR (attribute_type (#1, :1)))) AND (attribute_not_exists (#2))"
)

// ClaimListed of a task listed new ends as Claim does, whatever became of the task since the
// listing: its first write asks less than Claim's, and when the task changed but Claim's
// write would take it, that write follows.
func TestClaimListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		prepare func(t *testing.T, e *env, id string) // leaves task id in some state
		want    error                                 // nil: the claim succeeds
		retry   int
		writes  []string // the conditions of ClaimListed's writes, in order
	}{
		{"a new task: one write, the new task's", func(t *testing.T, e *env, id string) { e.create(t, id, "") },
			nil, 0, []string{newCondition}},
		{"a task released at once (its lock NULL): the same", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			if _, err := e.tr.Release(ctx, *e.claim(t, id, "w")); err != nil {
				t.Fatal(err)
			}
		}, nil, 0, []string{newCondition}},
		{"released for a while, now due: Claim's write follows", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			if _, err := e.tr.ReleaseFor(ctx, *e.claim(t, id, "w"), time.Minute); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute)
		}, nil, 0, []string{newCondition, claimCondition}},
		{"released for a while, not due: refused", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			if _, err := e.tr.ReleaseFor(ctx, *e.claim(t, id, "w"), time.Minute); err != nil {
				t.Fatal(err)
			}
		}, tracker.ErrTaskNotDue, 0, []string{newCondition}},
		{"failed since, and due: Claim's write follows", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			e.fail(t, e.claim(t, id, "w"), "boom")
		}, nil, 1, []string{newCondition, claimCondition}},
		{"claimed since: refused", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			e.claim(t, id, "other")
		}, tracker.ErrTaskLocked, 0, []string{newCondition}},
		{"claimed since by a worker that crashed: taken over", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			e.claim(t, id, "crashed")
			e.clock.Advance(e.expiry())
		}, nil, 1, []string{newCondition, ""}},
		{"succeeded since: refused", func(t *testing.T, e *env, id string) {
			e.create(t, id, "")
			if _, err := e.tr.Complete(ctx, *e.claim(t, id, "w"), nil); err != nil {
				t.Fatal(err)
			}
		}, tracker.ErrTaskAlreadySucceeded, 0, []string{newCondition}},
		{"deleted since: refused", func(t *testing.T, e *env, id string) {}, tracker.ErrTaskNotFound, 0, []string{newCondition}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sent conditions
			e := newEnv(t, tracker.Config{}, sent.option)
			tc.prepare(t, e, "claim")
			tc.prepare(t, e, "listed")
			sent.take()
			// What Claim does with the task is what ClaimListed must do.
			want, wantErr := e.tr.Claim(ctx, job, "claim", "me")
			sent.take()
			got, err := e.tr.ClaimListed(ctx, &tracker.Task{JobID: job, TaskID: "listed", Status: tracker.Todo}, "me")
			writes := sent.take()
			if len(writes) != len(tc.writes) {
				t.Fatalf("ClaimListed made %d writes %q, want %d", len(writes), writes, len(tc.writes))
			}
			for i, w := range tc.writes {
				if w != "" && writes[i] != w {
					t.Errorf("write %d's condition = %s, want %s", i, writes[i], w)
				}
			}
			if tc.want != nil {
				wantConflict(t, wantErr, tc.want)
				wantConflict(t, err, tc.want)
				return
			}
			if wantErr != nil || err != nil {
				t.Fatalf("Claim: %v; ClaimListed: %v", wantErr, err)
			}
			for _, l := range []*tracker.Lease{want, got} {
				if task := l.Task; task.Status != tracker.InProgress || task.Lock != l.Token || task.LockOwner != "me" || task.Retry != tc.retry ||
					!task.LockTime.Equal(e.clock.Now()) || !l.Expires.Equal(e.clock.Now().Add(tracker.DefaultLeaseDuration)) {
					t.Errorf("claimed %+v, lease %+v", task, l)
				}
			}
			if got.Attempt != want.Attempt || got.Retry != want.Retry {
				t.Errorf("ClaimListed's attempt %d, retry %d; Claim's %d, %d", got.Attempt, got.Retry, want.Attempt, want.Retry)
			}
		})
	}
}

// A listing's tasks claim as they were listed: the new ones, of a sharded job too, with the
// new task's write, the others with Claim's.
func TestClaimListedTakesWhatAListingSaw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sent conditions
	counter := &dynamotest.Counter{}
	e := newEnv(t, tracker.Config{}, sent.option, counter.CallsOption())
	const sharded = "sharded"
	if _, err := e.tr.CreateJob(ctx, sharded, tracker.JobOptions{Shards: 4}); err != nil {
		t.Fatal(err)
	}
	var tasks []tracker.NewTask
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		tasks = append(tasks, tracker.NewTask{ID: id})
	}
	if _, err := e.tr.CreateTasks(ctx, sharded, tasks); err != nil {
		t.Fatal(err)
	}
	// b failed and is due; c was released at once; d is held by a worker that crashed.
	failed, err := e.tr.Claim(ctx, sharded, "b", "w")
	if err != nil {
		t.Fatal(err)
	}
	released, err := e.tr.Claim(ctx, sharded, "c", "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Release(ctx, *released); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Claim(ctx, sharded, "d", "crashed"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Fail(ctx, *failed, tracker.Failure{Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(e.expiry())
	page, err := e.tr.List(ctx, sharded, tracker.ListOptions{Pending: true, IDsOnly: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != 6 {
		t.Fatalf("listed %d tasks, want 6: %+v", len(page.Tasks), page.Tasks)
	}
	sent.take()
	counter.Reset()
	got := map[string][]string{}
	for i := range page.Tasks {
		listed := &page.Tasks[i]
		lease, err := e.tr.ClaimListed(ctx, listed, "me")
		if err != nil {
			t.Fatalf("ClaimListed(%s): %v", listed.TaskID, err)
		}
		if lease.Task.Status != tracker.InProgress || lease.Task.LockOwner != "me" {
			t.Errorf("%s claimed as %+v", listed.TaskID, lease.Task)
		}
		got[listed.TaskID] = sent.take()
	}
	takeover := "(((begins_with (#0, :0)) AND (#1 = :1)) AND (#2 = :2)) AND ((attribute_not_exists (#1)) OR (attribute_type (#1, :3)) OR (#3 <= :4))"
	want := map[string][]string{"a": {newCondition}, "b": {claimCondition}, "c": {newCondition}, "d": {claimCondition, takeover},
		"e": {newCondition}, "f": {newCondition}}
	for id, w := range want {
		if !equal(got[id], w) {
			t.Errorf("%s's writes: %q, want %q", id, got[id], w)
		}
	}
	if n := counter.Calls()["UpdateItem"]; n != 7 {
		t.Errorf("ClaimListed made %d UpdateItem calls over 6 tasks, want 7", n)
	}
	var ce *tracker.ConflictError
	if _, err := e.tr.ClaimListed(ctx, &page.Tasks[0], "again"); !errors.As(err, &ce) || !errors.Is(err, tracker.ErrTaskLocked) {
		t.Errorf("claiming a claimed task again = %v, want ErrTaskLocked", err)
	}
}
