package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Real failures of the three languages' workers, two tasks each: the same failure with
// another task id, another number and the raise moved down a line.
var (
	pyNoText = [2]tracker.Failure{
		{Error: "NoText: task t-4 has no text", Traceback: "  File \"/var/task/handler.py\", line 17, in handler\n    raise NoText(f\"task {event['task_id']} has no text\")\n"},
		{Error: "NoText: task t-17 has no text", Traceback: "  File \"/var/task/handler.py\", line 18, in handler\n    raise NoText(f\"task {event['task_id']} has no text\")\n"},
	}
	nodeNoText = [2]tracker.Failure{
		{Error: "NoText: task t-4 has no text", Traceback: "NoText: task t-4 has no text\n    at handler (file:///var/task/handler.mjs:12:11)\n    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)"},
		{Error: "NoText: task t-90 has no text", Traceback: "NoText: task t-90 has no text\n    at handler (file:///var/task/handler.mjs:13:11)\n    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)"},
	}
	goPanic = [2]tracker.Failure{
		{Error: "panic: runtime error: index out of range [5] with length 3", Traceback: "goroutine 7 [running]:\nmain.firstWord(...)\n\t/src/app/main.go:42\nmain.main.func1({0xc0000a0000, 0x10})\n\t/src/app/main.go:30 +0x1d\n"},
		{Error: "panic: runtime error: index out of range [9] with length 1", Traceback: "goroutine 31 [running]:\nmain.firstWord(...)\n\t/src/app/main.go:43\nmain.main.func1({0xc0000b1000, 0x22})\n\t/src/app/main.go:31 +0x1d\n"},
	}
	pyKeyError = tracker.Failure{Error: "AttributeError: 'int' object has no attribute 'split'", Traceback: "  File \"/var/task/handler.py\", line 15, in handler\n    words = len(event[\"data\"].get(\"text\", \"\").split())\n"}
)

func fp(f tracker.Failure) string { return fingerprint.Compute(f.Error, f.Traceback).String() }

// failAt claims task id and records f at the clock's time, leaving the clock past its
// backoff.
func (e *env) failAt(t testing.TB, id string, f tracker.Failure) *tracker.Task {
	t.Helper()
	task, err := e.tr.Fail(context.Background(), *e.claim(t, id, "w"), f)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(e.tr.BackoffAfter(task.Retry))
	return task
}

// groupView is a Group without its sample, to compare.
type groupView struct {
	fp                     string
	tasks, failed, ignored int
	first, last            time.Time
	sample                 string
}

func (e *env) groups(t testing.TB) []groupView {
	t.Helper()
	gs, err := e.tr.Groups(context.Background(), job, tracker.GroupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := []groupView{}
	for _, g := range gs {
		out = append(out, groupView{g.Fingerprint, g.Tasks, g.Failed, g.Ignored, g.FirstSeen, g.LastSeen, g.SampleID})
	}
	return out
}

// TestFingerprintsGroupFailuresByCause: the same failure with other ids, numbers and line
// numbers is one group, in each language, and another cause another group.
func TestFingerprintsGroupFailuresByCause(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		same [2]tracker.Failure
	}{{"python", pyNoText}, {"node", nodeNoText}, {"go", goPanic}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tracker.Config{MaxRetry: 5})
			for _, id := range []string{"a", "b", "c"} {
				e.create(t, id, "")
			}
			a := e.failAt(t, "a", c.same[0])
			b := e.failAt(t, "b", c.same[1])
			other := e.failAt(t, "c", pyKeyError)
			if a.Failure == nil || b.Failure == nil || other.Failure == nil {
				t.Fatalf("a failed task carries its failure: %+v %+v %+v", a.Failure, b.Failure, other.Failure)
			}
			if a.Failure.Fingerprint != b.Failure.Fingerprint || a.Failure.Fingerprint == other.Failure.Fingerprint {
				t.Errorf("fingerprints %s, %s (same cause) and %s (another)", a.Failure.Fingerprint, b.Failure.Fingerprint, other.Failure.Fingerprint)
			}
			if a.Failure.Fingerprint != fp(c.same[0]) || a.History[0].Fingerprint != a.Failure.Fingerprint {
				t.Errorf("stored %s, history %s; the failure's fingerprint is %s", a.Failure.Fingerprint, a.History[0].Fingerprint, fp(c.same[0]))
			}
			got := e.groups(t)
			want := []groupView{{fp(c.same[0]), 2, 2, 0, a.Failure.Time, b.Failure.Time, "b"}, {fp(pyKeyError), 1, 1, 0, other.Failure.Time, other.Failure.Time, "c"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("groups\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestGroupsAreExact follows a job through failures, retries, successes and ignores, and
// checks its groups after each step.
func TestGroupsAreExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 2})
	for i := 1; i <= 6; i++ {
		e.create(t, fmt.Sprintf("t-%d", i), "")
	}
	noText, keyErr := fp(pyNoText[0]), fp(pyKeyError)
	times := map[string]time.Time{}
	fail := func(id string, f tracker.Failure) func(t *testing.T) {
		return func(t *testing.T) { times[id] = e.failAt(t, id, f).Failure.Time }
	}
	for _, step := range []struct {
		name string
		do   func(t *testing.T)
		want func() []groupView
	}{
		{"two tasks fail one way, one another", func(t *testing.T) {
			fail("t-1", pyNoText[0])(t)
			fail("t-2", pyNoText[1])(t)
			fail("t-3", pyKeyError)(t)
		}, func() []groupView {
			return []groupView{{noText, 2, 2, 0, times["t-1"], times["t-2"], "t-2"}, {keyErr, 1, 1, 0, times["t-3"], times["t-3"], "t-3"}}
		}},
		{"a task fails its last attempt: ignored, in its group", fail("t-1", pyNoText[1]), func() []groupView {
			return []groupView{{noText, 2, 1, 1, times["t-2"], times["t-1"], "t-1"}, {keyErr, 1, 1, 0, times["t-3"], times["t-3"], "t-3"}}
		}},
		{"a claimed task leaves its group while it runs", func(t *testing.T) { e.claim(t, "t-2", "w") }, func() []groupView {
			return []groupView{{noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}, {keyErr, 1, 1, 0, times["t-3"], times["t-3"], "t-3"}}
		}},
		{"its success keeps it out", func(t *testing.T) {
			if _, err := e.tr.Complete(ctx, tracker.Lease{JobID: job, TaskID: "t-2", Token: e.lockOf(t, "t-2")}, nil); err != nil {
				t.Fatal(err)
			}
		}, func() []groupView {
			return []groupView{{noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}, {keyErr, 1, 1, 0, times["t-3"], times["t-3"], "t-3"}}
		}},
		{"an operator's ignore keeps a failed task in its group, as ignored", func(t *testing.T) {
			if _, err := e.tr.Ignore(ctx, job, "t-3"); err != nil {
				t.Fatal(err)
			}
		}, func() []groupView {
			return []groupView{{noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}, {keyErr, 1, 0, 1, times["t-3"], times["t-3"], "t-3"}}
		}},
		{"an ignore of a task that never failed adds no group", func(t *testing.T) {
			if _, err := e.tr.Ignore(ctx, job, "t-6"); err != nil {
				t.Fatal(err)
			}
		}, func() []groupView {
			return []groupView{{noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}, {keyErr, 1, 0, 1, times["t-3"], times["t-3"], "t-3"}}
		}},
		{"a retry takes a task out of its group: the last one empties it", func(t *testing.T) {
			if _, err := e.tr.Retry(ctx, job, "t-3"); err != nil {
				t.Fatal(err)
			}
		}, func() []groupView {
			return []groupView{{noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}}
		}},
		{"a task released back to failed is in its group again", func(t *testing.T) {
			fail("t-4", pyKeyError)(t)
			l := e.claim(t, "t-4", "w")
			if _, err := e.tr.Release(ctx, *l); err != nil {
				t.Fatal(err)
			}
		}, func() []groupView {
			return []groupView{{keyErr, 1, 1, 0, times["t-4"], times["t-4"], "t-4"}, {noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}}
		}},
		{"a permanent failure ignores the task at its first attempt", func(t *testing.T) {
			task, err := e.tr.Fail(ctx, *e.claim(t, "t-5", "w"), tracker.Failure{Error: pyKeyError.Error, Traceback: pyKeyError.Traceback, Permanent: true})
			if err != nil {
				t.Fatal(err)
			}
			if task.Status != tracker.Ignored || task.Retry != 1 || task.Attempts != 1 {
				t.Errorf("after a permanent failure: %s, retry %d, attempts %d; want ignored at attempt 1", task.Status, task.Retry, task.Attempts)
			}
			times["t-5"] = task.Failure.Time
		}, func() []groupView {
			return []groupView{{keyErr, 2, 1, 1, times["t-4"], times["t-5"], "t-5"}, {noText, 1, 0, 1, times["t-1"], times["t-1"], "t-1"}}
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.do(t)
			if got, want := e.groups(t), step.want(); !reflect.DeepEqual(got, want) {
				t.Errorf("groups\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func (e *env) lockOf(t testing.TB, id string) string {
	t.Helper()
	task, err := e.tr.Get(context.Background(), job, id)
	if err != nil {
		t.Fatal(err)
	}
	return task.Lock
}

// TestListByFailure pages a group and an error text: full pages, in a fixed order, every
// match once.
func TestListByFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 5})
	var noText, other []string
	for i := range 23 {
		id := fmt.Sprintf("t-%02d", i)
		e.create(t, id, "")
		if i%3 == 0 {
			e.failAt(t, id, pyKeyError)
			other = append(other, id)
		} else {
			e.failAt(t, id, pyNoText[i%2])
			noText = append(noText, id)
		}
	}
	e.create(t, "never-failed", "")
	if _, err := e.tr.Ignore(ctx, job, "t-01"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts tracker.ListOptions
		want []string
	}{
		{"a group", tracker.ListOptions{Fingerprint: fp(pyNoText[0])}, noText},
		{"a group's ignored tasks", tracker.ListOptions{Fingerprint: fp(pyNoText[0]), Statuses: []tracker.Status{tracker.Ignored}}, []string{"t-01"}},
		{"an error text, on the server", tracker.ListOptions{ErrorContains: "has no text"}, noText},
		{"an error text in another group", tracker.ListOptions{ErrorContains: "'split'"}, other},
		{"both", tracker.ListOptions{ErrorContains: "'split'", Fingerprint: fp(pyNoText[0])}, nil},
	} {
		for _, limit := range []int{1, 4, 100} {
			t.Run(fmt.Sprintf("%s, pages of %d", c.name, limit), func(t *testing.T) {
				opts := c.opts
				opts.Limit = limit
				var got []string
				pages := 0
				for {
					page, err := e.tr.List(ctx, job, opts)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if page.Cursor != "" && len(page.Tasks) != limit {
						t.Fatalf("page %d holds %d tasks and a cursor: a page is full unless it is the last", pages, len(page.Tasks))
					}
					for _, task := range page.Tasks {
						if task.Failure == nil || (opts.Fingerprint != "" && task.Failure.Fingerprint != opts.Fingerprint) {
							t.Errorf("task %s listed with failure %+v", task.TaskID, task.Failure)
						}
						got = append(got, task.TaskID)
					}
					if opts.Cursor = page.Cursor; opts.Cursor == "" {
						break
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("listed %v, want %v", got, c.want)
				}
			})
		}
	}
	for _, bad := range []tracker.ListOptions{
		{Fingerprint: "v1:NOTHEX"}, {Fingerprint: fp(pyKeyError), Pending: true}, {ErrorContains: "x", Statuses: []tracker.Status{tracker.Todo}},
		{ErrorContains: "x", Through: "t-9"},
	} {
		if _, err := e.tr.List(ctx, job, bad); !isInvalid(err) {
			t.Errorf("List(%+v) = %v, want a validation error", bad, err)
		}
	}
	// A cursor of one group's listing does not page another's.
	page, err := e.tr.List(ctx, job, tracker.ListOptions{Fingerprint: fp(pyKeyError), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.List(ctx, job, tracker.ListOptions{Fingerprint: fp(pyNoText[0]), Cursor: page.Cursor}); !isInvalid(err) {
		t.Errorf("a cursor of another group: %v, want a validation error", err)
	}
}

// TestGroupsOnAShardedJob: a sharded job's failures spread over its shards' keys and group
// the same.
func TestGroupsOnAShardedJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := trackertest.NewClock(trackertest.T0)
	tr, _ := trackertest.New(t, tracker.Config{Now: clock.Now})
	if _, err := tr.CreateJob(ctx, "wide", tracker.JobOptions{Shards: 7}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		id := fmt.Sprintf("t-%02d", i)
		if _, err := tr.CreateTask(ctx, "wide", id, nil); err != nil {
			t.Fatal(err)
		}
		l, err := tr.Claim(ctx, "wide", id, "w")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Fail(ctx, *l, pyNoText[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	gs, err := tr.Groups(ctx, "wide", tracker.GroupOptions{Samples: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Tasks != 30 || gs[0].Failed != 30 || gs[0].Sample == nil || gs[0].Sample.Error == nil || gs[0].Sample.TaskID != gs[0].SampleID {
		t.Fatalf("groups %+v", gs)
	}
	n, err := tr.CountSelected(ctx, "wide", tracker.BulkRetry, tracker.Selection{Fingerprint: gs[0].Fingerprint})
	if err != nil || n != 30 {
		t.Errorf("CountSelected = %d, %v; want 30", n, err)
	}
}

func isInvalid(err error) bool { return errors.Is(err, tracker.ErrInvalidInput) }
