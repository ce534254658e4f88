package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestSnapshotNeverTotalsMoreThanTheJob takes snapshots while a run claims, completes and
// fails the job's tasks: no snapshot counts more tasks than the job has, and once the run
// is over the snapshot is exact.
func TestSnapshotNeverTotalsMoreThanTheJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 240
	e := newEnv(t, tracker.Config{})
	var tasks []tracker.NewTask
	for i := range n {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		running atomic.Int32
		runErrs = make(chan error, 4)
	)
	for w := range 4 {
		running.Add(1)
		wg.Go(func() {
			defer running.Add(-1)
			for i := w; i < n; i += 4 {
				id := fmt.Sprintf("t-%03d", i)
				l, err := e.tr.Claim(ctx, job, id, "run")
				if err != nil {
					runErrs <- err
					return
				}
				if i%3 == 0 {
					_, err = e.tr.Fail(ctx, *l, tracker.Failure{Error: "boom"})
				} else {
					_, err = e.tr.Complete(ctx, *l, nil)
				}
				if err != nil {
					runErrs <- err
					return
				}
			}
		})
	}
	snaps, moved := 0, 0
	for running.Load() > 0 {
		s, err := e.tr.Snapshot(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		snaps++
		moved += s.Moved
		if s.Total > n {
			t.Errorf("a snapshot during the run counts %d tasks of %d: %v", s.Total, n, s.Counts)
		}
	}
	wg.Wait()
	if snaps == 0 {
		t.Error("no snapshot was taken while the run moved tasks")
	}
	close(runErrs)
	if err := errors.Join(func() (errs []error) {
		for err := range runErrs {
			errs = append(errs, err)
		}
		return
	}()...); err != nil {
		t.Fatal(err)
	}
	s, err := e.tr.Snapshot(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	want := map[tracker.Status]int{tracker.Todo: 0, tracker.InProgress: 0, tracker.Failed: n / 3, tracker.Succeeded: n - n/3, tracker.Ignored: 0}
	if !maps.Equal(s.Counts, want) || s.Total != n || s.Moved != 0 {
		t.Errorf("after the run: %+v, want %v", s, want)
	}
	counts, err := e.tr.Count(ctx, job)
	if err != nil || !maps.Equal(counts, want) {
		t.Errorf("Count = %v, %v; want the snapshot's %v", counts, err, want)
	}
	t.Logf("%d snapshots during the run, %d tasks seen moving", snaps, moved)
}
