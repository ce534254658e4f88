package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// loopRun runs one loop of ClaimNext to its end, completing each task it claims, and
// returns the task ids it claimed and its last position.
func loopRun(ctx context.Context, t testing.TB, tr *tracker.Tracker, job string, loop, of int) ([]string, tracker.Position) {
	pos := tracker.Position{Loop: loop, Of: of}
	var got []string
	for range 10000 {
		lease, next, err := tr.ClaimNext(ctx, job, pos, fmt.Sprintf("loop-%d", loop))
		if err != nil {
			t.Errorf("loop %d: %v", loop, err)
			return got, pos
		}
		pos = next
		if lease == nil {
			if !pos.Done {
				continue // a call that listed long and claimed nothing: call again
			}
			return got, pos
		}
		got = append(got, lease.TaskID)
		if _, err := tr.Complete(ctx, *lease, nil); err != nil {
			t.Errorf("loop %d: complete %s: %v", loop, lease.TaskID, err)
		}
	}
	t.Errorf("loop %d never ended", loop)
	return got, pos
}

// TestClaimNextRunsEveryTaskOnce: loops working a job at once, each with its own position,
// claim every task exactly once and all end Done; they start apart, so they rarely meet.
//
// How rarely depends on the machine as much as on the loops: the longer a claim's write takes
// against the listing before it, the more often two loops meet at the end of their
// stretches. On the 2-core machine, with other tests loading it, 12 loops refused 13 to 92
// claims of 600 (a table's second index, which DynamoDB Local updates inside every write,
// adds some); loops that herd (all started at the same point) refused 330 to 456, and 3 such
// loops 30 of 200 where loops apart refuse 1 to 7. The limits sit between the two.
func TestClaimNextRunsEveryTaskOnce(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		shards     int
		loops      int
		tasks      int
		maxRefused int
	}{
		{"one loop", 1, 1, 120, 0},
		{"loops share one partition", 1, 12, 600, 150},
		{"loops over shards", 4, 12, 600, 150},
		{"more shards than loops", 8, 3, 200, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			counter := &dynamotest.Counter{}
			e := newEnv(t, tracker.Config{}, counter.Option())
			job := "next-" + fmt.Sprint(c.shards)
			if _, err := e.tr.CreateJob(ctx, job, tracker.JobOptions{Shards: c.shards}); err != nil {
				t.Fatal(err)
			}
			var tasks []tracker.NewTask
			for i := range c.tasks {
				tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%05d", i)})
			}
			if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
				t.Fatal(err)
			}
			before := counter.Calls()
			var mu sync.Mutex
			seen := map[string]int{}
			refused := 0
			var wg sync.WaitGroup
			for loop := range c.loops {
				wg.Go(func() {
					got, pos := loopRun(ctx, t, e.tr, job, loop, c.loops)
					mu.Lock()
					defer mu.Unlock()
					for _, id := range got {
						seen[id]++
					}
					refused += pos.Refused
					if !pos.Done || pos.Claimed != len(got) {
						t.Errorf("loop %d ended at %+v after %d claims", loop, pos, len(got))
					}
				})
			}
			wg.Wait()
			for _, nt := range tasks {
				if seen[nt.ID] != 1 {
					t.Errorf("%s claimed %d times", nt.ID, seen[nt.ID])
				}
			}
			counts, err := e.tr.Count(ctx, job)
			if err != nil || counts[tracker.Succeeded] != c.tasks {
				t.Errorf("counts = %v, %v", counts, err)
			}
			after := counter.Calls()
			updates := after["UpdateItem"] - before["UpdateItem"]
			t.Logf("%d tasks, %d loops, %d shards: %d refused claims, %d queries, %d updates",
				c.tasks, c.loops, c.shards, refused, after["Query"]-before["Query"], updates)
			// Each task: one claim and one completion; a refused claim is one more update.
			if updates != 2*c.tasks+refused {
				t.Errorf("%d updates for %d tasks and %d refused claims", updates, c.tasks, refused)
			}
			if refused > c.maxRefused {
				t.Errorf("%d refused claims for %d tasks: loops herd", refused, c.tasks)
			}
		})
	}
}

// TestClaimNextStragglers: once a loop's part has no todo task, it claims the part's failed
// tasks that are due and the tasks whose lease ran out, and leaves those not due; a loop that
// started in the middle of the id space goes round to the tasks before its start.
func TestClaimNextStragglers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		e.create(t, id, "")
	}
	// a fails and is due; b fails and is not; c is held by a crashed worker, its lease run
	// out; d is held by a live one.
	crashed := e.claim(t, "c", "crashed")
	for _, id := range []string{"a", "b"} {
		l := e.claim(t, id, "w")
		if _, err := e.tr.Fail(ctx, *l, tracker.Failure{Error: "boom"}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(e.tr.Config().LeaseDuration + e.tr.Config().ClockSkew + time.Second)
	e.claim(t, "d", "live")
	l, err := e.tr.Fail(ctx, *e.claim(t, "b", "w"), tracker.Failure{Error: "boom again"})
	if err != nil || l.RetryAt.Before(e.clock.Now().Add(time.Second)) {
		t.Fatalf("b: %+v, %v", l, err)
	}
	// A loop that starts after "d" (Loop 1 of a one-part job starts at a point past the first
	// id): it takes e and f, goes round for nothing, then a (due) and c (expired).
	pos := tracker.Position{Loop: 1, Of: 2, Parts: 1, From: "d", After: "d", Helping: true}
	var got []string
	for {
		lease, next, err := e.tr.ClaimNext(ctx, job, pos, "loop")
		if err != nil {
			t.Fatal(err)
		}
		pos = next
		if lease == nil {
			break
		}
		got = append(got, lease.TaskID)
	}
	if fmt.Sprint(got) != "[e f a c]" || !pos.Done {
		t.Errorf("claimed %v, ended at %+v", got, pos)
	}
	task, err := e.tr.Get(ctx, job, "c")
	if err != nil || task.Retry != 1 || task.History[0].Holder != crashed.Owner {
		t.Errorf("c after the takeover: %+v, %v", task, err)
	}
}

// TestReleaseFor: a task handed back with a wait is not claimed before it, NextDue says when
// it is due (a todo task too), and a wait past MaxBackoff is refused before any write.
func TestReleaseFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	e.create(t, "held", "")
	lease := e.claim(t, "held", "w")
	if _, err := e.tr.ReleaseFor(ctx, *lease, tracker.MaxBackoff+time.Second); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Fatalf("a wait past MaxBackoff: %v", err)
	}
	task, err := e.tr.ReleaseFor(ctx, *lease, 5*time.Second)
	if err != nil || task.Status != tracker.Todo || task.Retry != 0 || !task.RetryAt.Equal(e.clock.Now().Add(5*time.Second)) {
		t.Fatalf("released: %+v, %v", task, err)
	}
	if _, err := e.tr.Claim(ctx, job, "held", "w"); !errors.Is(err, tracker.ErrTaskNotDue) {
		t.Errorf("claim before the wait ran out: %v", err)
	}
	if d, err := e.tr.NextDue(ctx, job); err != nil || !d.Waiting || !d.First.Equal(task.RetryAt) {
		t.Errorf("NextDue = %+v, %v", d, err)
	}
	e.clock.Advance(5 * time.Second)
	if l := e.claim(t, "held", "w"); l.Retry != 0 {
		t.Errorf("claimed after the wait: %+v", l)
	}
}
