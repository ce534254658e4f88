package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// jobOfMixedTasks creates 30 tasks t-00..t-29 and leaves t-NN in status NN%5 (todo, in
// progress with a live lease, failed, succeeded, ignored), plus t-30 in progress with an
// expired lease.
func jobOfMixedTasks(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	var tasks []tracker.NewTask
	for i := range 31 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%02d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	e.claim(t, "t-30", "crashed")
	e.clock.Advance(e.expiry())
	for i := range 30 {
		id := fmt.Sprintf("t-%02d", i)
		switch i % 5 {
		case 1:
			e.claim(t, id, "live")
		case 2:
			e.fail(t, e.claim(t, id, "w"), "x")
		case 3:
			if _, err := e.tr.Complete(ctx, *e.claim(t, id, "w"), nil); err != nil {
				t.Fatal(err)
			}
		case 4:
			if _, err := e.tr.Ignore(ctx, job, id); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func ids(tasks []tracker.Task) []string {
	out := make([]string, len(tasks))
	for i, task := range tasks {
		out[i] = task.TaskID
	}
	return out
}

func TestQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	jobOfMixedTasks(t, e)

	var wantPending []string
	for i := range 30 {
		if i%5 == 0 || i%5 == 2 {
			wantPending = append(wantPending, fmt.Sprintf("t-%02d", i))
		}
	}
	wantPending = append(wantPending, "t-30")

	tests := []struct {
		name  string
		limit int
		list  func(cursor string, limit int) (*tracker.Page, error)
		want  []string
	}{
		{"pending is todo, failed and expired leases, by task id", 5, func(c string, l int) (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: l, Cursor: c})
		}, wantPending},
		{"pending in one page", 100, func(c string, l int) (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: l, Cursor: c})
		}, wantPending},
		{"a list of two statuses merges them by task id", 4, func(c string, l int) (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Succeeded, tracker.Ignored}, Limit: l, Cursor: c})
		}, []string{"t-03", "t-04", "t-08", "t-09", "t-13", "t-14", "t-18", "t-19", "t-23", "t-24", "t-28", "t-29"}},
		{"in progress lists live and expired leases", 1, func(c string, l int) (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.InProgress}, Limit: l, Cursor: c})
		}, []string{"t-01", "t-06", "t-11", "t-16", "t-21", "t-26", "t-30"}},
		{"pending of given statuses keeps their claimable tasks", 2, func(c string, l int) (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Statuses: []tracker.Status{tracker.InProgress, tracker.Succeeded}, Limit: l, Cursor: c})
		}, []string{"t-30"}},
		{"through ends the listing at a task", 3, func(c string, l int) (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: l, Cursor: c, Through: "t-12"})
		}, []string{"t-00", "t-02", "t-05", "t-07", "t-10", "t-12"}},
		{"a stretch between a cursor and through, neither a task", 2, func(c string, l int) (*tracker.Page, error) {
			if c == "" {
				c = tracker.CursorAfter(job, "t-05a")
			}
			return e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: l, Cursor: c, Through: "t-20a"})
		}, []string{"t-07", "t-10", "t-12", "t-15", "t-17", "t-20"}},
		{"a stretch starting after a task excludes it", 2, func(c string, l int) (*tracker.Page, error) {
			if c == "" {
				c = tracker.CursorAfter(job, "t-05")
			}
			return e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo, tracker.Succeeded}, Limit: l, Cursor: c, Through: "t-15"})
		}, []string{"t-08", "t-10", "t-13", "t-15"}},
		{"through before the cursor lists nothing", 2, func(c string, l int) (*tracker.Page, error) {
			if c == "" {
				c = tracker.CursorAfter(job, "t-20")
			}
			return e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: l, Cursor: c, Through: "t-10"})
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("pagination does not end")
				}
				p, err := tc.list(cursor, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Tasks) > tc.limit {
					t.Fatalf("page of %d tasks exceeds the total limit %d", len(p.Tasks), tc.limit)
				}
				got = append(got, ids(p.Tasks)...)
				if cursor = p.Cursor; cursor == "" {
					break
				}
			}
			if !equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}

	// IDsOnly lists the same tasks, each with its job, id, status, lock and retry time and
	// nothing else.
	t.Run("ids only", func(t *testing.T) {
		full, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		page, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 100, IDsOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tasks) != len(full.Tasks) || page.Cursor != "" {
			t.Fatalf("ids only listed %d tasks (cursor %q), the full listing %d", len(page.Tasks), page.Cursor, len(full.Tasks))
		}
		for i, task := range page.Tasks {
			f := full.Tasks[i]
			want := tracker.Task{JobID: job, TaskID: f.TaskID, Status: f.Status, Code: f.Code, Lock: f.Lock, RetryAt: f.RetryAt}
			if !reflect.DeepEqual(task, want) {
				t.Errorf("ids only listed %+v, want %+v", task, want)
			}
		}
	})

	// A pending listing and Claimable apply one rule: Claimable holds for exactly the tasks
	// listed.
	for i := range 31 {
		id := fmt.Sprintf("t-%02d", i)
		task, err := e.tr.Get(ctx, job, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.tr.Claimable(task), slices.Contains(wantPending, id); got != want {
			t.Errorf("Claimable(%s, %s) = %v; listed as pending: %v", id, task.Status, got, want)
		}
	}

	counts, err := e.tr.Count(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	want := map[tracker.Status]int{tracker.Todo: 6, tracker.InProgress: 7, tracker.Failed: 6, tracker.Succeeded: 6, tracker.Ignored: 6}
	for s, n := range want {
		if counts[s] != n {
			t.Errorf("count %s = %d, want %d", s, counts[s], n)
		}
	}

	if _, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 10, Cursor: "not base64!"}); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Errorf("bad cursor: %v", err)
	}
	if _, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: tracker.MaxPageLimit + 1}); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Errorf("limit over the maximum: %v", err)
	}
	var ve *tracker.ValidationError
	if _, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Through: "t\x00"}); !errors.As(err, &ve) || ve.Field != "through" {
		t.Errorf("through with a control character: %v", err)
	}
}

// TestPendingListingReadsPastRunningTasks: a pending listing of a few tasks reads past the
// running tasks of the in-progress partition (which its filter drops) in one call, not one
// call per running task: DynamoDB applies a query's Limit before its filter.
func TestPendingListingReadsPastRunningTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c dynamotest.Counter
	e := newEnv(t, tracker.Config{}, c.Option())
	e.createRunning(t, 70, 64)
	for _, limit := range []int{1, 3} {
		c.Reset()
		page, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: limit, IDsOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"t-64", "t-65", "t-66"}[:limit]
		if got := ids(page.Tasks); !slices.Equal(got, want) || page.Cursor == "" {
			t.Errorf("a pending page of %d = %v (cursor %q), want %v and a cursor", limit, got, page.Cursor, want)
		}
		// One query per pending status: todo, in progress (64 running tasks), failed.
		if n := c.Calls()["Query"]; n != 3 {
			t.Errorf("a pending page of %d took %d queries, want 3", limit, n)
		}
	}
}

// TestABoundedPageTakesOneQuery: a page of a stretch between a cursor and Through is one
// Query when the task the cursor resumes after is still listed: BETWEEN holds it, and the
// tracker reads one item more to drop it (it read the page's last task with a second Query,
// which doubled a worker pool's queries on its second leg round the id space).
func TestABoundedPageTakesOneQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	counter := &dynamotest.Counter{}
	e := newEnv(t, tracker.Config{}, counter.Option())
	var tasks []tracker.NewTask
	for i := range 300 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		opts       tracker.ListOptions
		first, end string // the page's first and last task
	}{
		{"todo tasks, 5", tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo}, Limit: 5}, "t-011", "t-015"},
		{"pending todo ids, 128 (a pool's page)", tracker.ListOptions{Pending: true, Statuses: []tracker.Status{tracker.Todo}, IDsOnly: true, Limit: 128}, "t-011", "t-138"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Cursor, opts.Through = tracker.CursorAfter(job, "t-010"), "t-299"
			counter.Reset()
			page, err := e.tr.List(ctx, job, opts)
			if err != nil || len(page.Tasks) != opts.Limit || page.Tasks[0].TaskID != tc.first || page.Tasks[opts.Limit-1].TaskID != tc.end || page.Cursor == "" {
				t.Fatalf("List = %+v, %v; want %s to %s and a cursor", page, err, tc.first, tc.end)
			}
			if n := counter.Calls()["Query"]; n != 1 {
				t.Errorf("%d queries, want 1", n)
			}
		})
	}
}

// TestCountUpToReadsNoMoreThanItsLimit: CountUpTo stops at its limit, reading no more index
// entries a call than the limit (a query's Limit), so that a count up to one of a big job
// reads one entry; without a limit it counts them all.
func TestCountUpToReadsNoMoreThanItsLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var c dynamotest.Counter
	e := newEnv(t, tracker.Config{}, c.Option())
	e.createRunning(t, 30, 4)
	for _, tc := range []struct {
		statuses       []tracker.Status
		limit          int
		want, wantRead int // the count, and the query calls
	}{
		{[]tracker.Status{tracker.Todo}, 1, 1, 1},
		{[]tracker.Status{tracker.Todo}, 5, 5, 1},
		{[]tracker.Status{tracker.Todo}, 0, 26, 1},
		{[]tracker.Status{tracker.Todo}, 100, 26, 1},
		{[]tracker.Status{tracker.Failed, tracker.Todo}, 1, 1, 2},
		{[]tracker.Status{tracker.Failed, tracker.InProgress, tracker.Todo}, 6, 6, 3},
		{[]tracker.Status{tracker.Failed, tracker.Succeeded}, 1, 0, 2},
	} {
		c.Reset()
		n, err := e.tr.CountUpTo(ctx, job, tc.statuses, tc.limit)
		if err != nil || n != tc.want || c.Calls()["Query"] != tc.wantRead {
			t.Errorf("CountUpTo(%v, %d) = %d, %v in %d queries; want %d in %d", tc.statuses, tc.limit, n, err, c.Calls()["Query"], tc.want, tc.wantRead)
		}
	}
}

// createRunning creates n tasks of job, t-00 on, and claims the first running of them.
func (e *env) createRunning(t testing.TB, n, running int) {
	t.Helper()
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%02d", i)}
	}
	if _, err := e.tr.CreateTasks(context.Background(), job, tasks); err != nil {
		t.Fatal(err)
	}
	for i := range running {
		e.claim(t, fmt.Sprintf("t-%02d", i), "w")
	}
}
