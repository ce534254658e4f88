package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestConcurrentClaims races 32 workers over the same 200 tasks: each worker tries every
// task, in its own order. Every task must be claimed exactly once.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	const workers, n = 32, 200
	var tasks []tracker.NewTask
	for i := range n {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	claims := map[string][]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				id := tasks[(i+w*7)%n].ID
				_, err := e.tr.Claim(ctx, job, id, fmt.Sprint("w", w))
				switch {
				case err == nil:
					mu.Lock()
					claims[id] = append(claims[id], w)
					mu.Unlock()
				case !errors.Is(err, tracker.ErrTaskLocked):
					errs <- fmt.Errorf("worker %d, %s: %w", w, id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claims) != n {
		t.Errorf("%d of %d tasks were claimed", len(claims), n)
	}
	for id, ws := range claims {
		if len(ws) != 1 {
			t.Errorf("%s was claimed %d times, by workers %v", id, len(ws), ws)
		}
	}
	counts, _ := e.tr.Count(ctx, job)
	if counts[tracker.InProgress] != n {
		t.Errorf("in progress = %d, want %d", counts[tracker.InProgress], n)
	}
}

// TestConcurrentTakeover has 16 slow workers whose leases expire and 16 fast workers that
// take the tasks over, then the slow ones try to finish: every slow write is refused and
// every task keeps the fast worker's result.
func TestConcurrentTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	const n = 64
	var tasks []tracker.NewTask
	for i := range n {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%02d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	slow := make([]*tracker.Lease, n)
	for i, nt := range tasks {
		slow[i] = e.claim(t, nt.ID, "slow")
	}
	e.clock.Advance(e.expiry())

	var wg sync.WaitGroup
	results := make([]error, 2*n)
	for i, nt := range tasks {
		wg.Go(func() {
			l, err := e.tr.Claim(ctx, job, nt.ID, "fast")
			if err == nil {
				_, err = e.tr.Complete(ctx, *l, []byte(`{"by":"fast"}`))
			}
			results[i] = err
		})
	}
	wg.Wait()
	for i := range tasks {
		wg.Go(func() {
			_, err := e.tr.Complete(ctx, *slow[i], []byte(`{"by":"slow"}`))
			results[n+i] = err
		})
	}
	wg.Wait()
	for i, err := range results {
		if i < n && err != nil {
			t.Errorf("fast worker on %s: %v", tasks[i].ID, err)
		}
		if i >= n && !errors.Is(err, tracker.ErrTaskAlreadySucceeded) {
			t.Errorf("slow worker on %s: %v, want ErrTaskAlreadySucceeded", tasks[i-n].ID, err)
		}
	}
	for _, nt := range tasks {
		got, err := e.tr.Get(ctx, job, nt.ID)
		if err != nil || string(got.Data) != `{"by":"fast"}` {
			t.Errorf("%s = %s, %v", nt.ID, got.Data, err)
		}
	}
}
