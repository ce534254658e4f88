package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// queryGate decides, for each Query of the failure index, by its partition key: let it
// through (nil), fail it with an error, or hold it until its context ends (errHold).
type queryGate struct {
	decide   atomic.Pointer[func(part string) error]
	inFlight atomic.Int64  // Queries under way
	held     chan struct{} // a token each time a Query is held
}

var errHold = errors.New("hold until the context ends")

func newQueryGate() *queryGate {
	g := &queryGate{held: make(chan struct{}, 64)}
	g.set(func(string) error { return nil })
	return g
}

func (g *queryGate) set(decide func(part string) error) { g.decide.Store(&decide) }

func (g *queryGate) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("query-gate", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			q, ok := in.Parameters.(*dynamodb.QueryInput)
			if !ok || q.IndexName == nil || *q.IndexName != tracker.FailureIndexName {
				return next.HandleInitialize(ctx, in)
			}
			g.inFlight.Add(1)
			defer g.inFlight.Add(-1)
			part := ""
			for _, v := range q.ExpressionAttributeValues {
				if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Count(s.Value, tracker.Separator) == 2 {
					part = s.Value
				}
			}
			switch err := (*g.decide.Load())(part); {
			case errors.Is(err, errHold):
				g.held <- struct{}{}
				<-ctx.Done()
				return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
			case err != nil:
				return middleware.InitializeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	})
}

// failedJob is a job of shards shards on a fresh table whose client goes through a
// queryGate: 60 tasks, 48 failed in two groups (noText, every third one another), a
// quarter of them then ignored, three at a time failing at the same instant (their failure
// keys tie), and 12 never claimed.
func failedJob(t *testing.T, job string, shards int) (*tracker.Tracker, *queryGate) {
	t.Helper()
	ctx := context.Background()
	gate := newQueryGate()
	clock := trackertest.NewClock(trackertest.T0)
	tr, _ := trackertest.New(t, tracker.Config{Now: clock.Now, MaxRetry: 5}, gate.option)
	if _, err := tr.CreateJob(ctx, job, tracker.JobOptions{Shards: shards}); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		id := fmt.Sprintf("t-%02d", i)
		if _, err := tr.CreateTask(ctx, job, id, nil); err != nil {
			t.Fatal(err)
		}
		if i >= 48 {
			continue
		}
		l, err := tr.Claim(ctx, job, id, "w")
		if err != nil {
			t.Fatal(err)
		}
		f := pyNoText[i%2]
		if i%3 == 0 {
			f = pyKeyError
		}
		if _, err := tr.Fail(ctx, *l, f); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			if _, err := tr.Ignore(ctx, job, id); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 2 {
			clock.Advance(time.Second)
		}
	}
	return tr, gate
}

// paged lists opts to the end with List, pages of limit.
func paged(t *testing.T, tr *tracker.Tracker, job string, opts tracker.ListOptions, limit int) []tracker.Task {
	t.Helper()
	opts.Limit = limit
	var out []tracker.Task
	for {
		page, err := tr.List(context.Background(), job, opts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Tasks...)
		if opts.Cursor = page.Cursor; opts.Cursor == "" {
			return out
		}
	}
}

// listAll takes ListAll's pairs to the end or the first error.
func listAll(tr *tracker.Tracker, job string, opts tracker.ListOptions) ([]tracker.ListedTask, error) {
	var out []tracker.ListedTask
	for lt, err := range tr.ListAll(context.Background(), job, opts) {
		if err != nil {
			return out, err
		}
		out = append(out, lt)
	}
	return out, nil
}

// sameTasks reports whether a and b hold the same tasks in the same order (nil or empty alike).
func sameTasks(a, b []tracker.Task) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func tasksOf(lts []tracker.ListedTask) []tracker.Task {
	out := make([]tracker.Task, len(lts))
	for i, lt := range lts {
		out[i] = lt.Task
	}
	return out
}

func idsOf(tasks []tracker.Task) []string {
	out := make([]string, len(tasks))
	for i, task := range tasks {
		out[i] = task.TaskID
	}
	return out
}

// TestListAllIsThePagedListing: ListAll yields the tasks List pages, the same and in the same
// order, for every selection, shard count and status, from the start or a cursor; the cursor
// of each task resumes after it.
func TestListAllIsThePagedListing(t *testing.T) {
	t.Parallel()
	noText, keyError := fp(pyNoText[0]), fp(pyKeyError)
	for _, shards := range []int{1, 3, 12} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			t.Parallel()
			job := fmt.Sprintf("all-%d", shards)
			tr, _ := failedJob(t, job, shards)
			for _, c := range []struct {
				name string
				opts tracker.ListOptions
				want int // tasks listed
			}{
				{"a group", tracker.ListOptions{Fingerprint: noText}, 32},
				{"another group", tracker.ListOptions{Fingerprint: keyError}, 16},
				{"a group's failed tasks", tracker.ListOptions{Fingerprint: noText, Statuses: []tracker.Status{tracker.Failed}}, 24},
				{"a group's ignored tasks", tracker.ListOptions{Fingerprint: noText, Statuses: []tracker.Status{tracker.Ignored}}, 8},
				{"an error text", tracker.ListOptions{ErrorContains: "has no text"}, 32},
				{"an error text, ignored and failed", tracker.ListOptions{ErrorContains: "t-", Statuses: []tracker.Status{tracker.Ignored, tracker.Failed}}, 32},
				{"an error text no failure has", tracker.ListOptions{ErrorContains: "no such text"}, 0},
				{"a group, ids only", tracker.ListOptions{Fingerprint: noText, IDsOnly: true}, 32},
				{"statuses, not failures", tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo, tracker.Ignored}}, 24},
				{"every task", tracker.ListOptions{}, 60},
			} {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					want := paged(t, tr, job, c.opts, 7)
					if len(want) != c.want {
						t.Fatalf("List pages %d tasks, want %d", len(want), c.want)
					}
					opts := c.opts
					opts.Limit = 5 // a status listing's pages; a failure listing reads partitions whole
					got, err := listAll(tr, job, opts)
					if err != nil {
						t.Fatal(err)
					}
					if !sameTasks(tasksOf(got), want) {
						t.Fatalf("ListAll yields %v\nwant, as List pages it: %v", idsOf(tasksOf(got)), idsOf(want))
					}
					for _, i := range []int{0, len(got) / 2, len(got) - 1} {
						if i < 0 || i >= len(got) {
							continue
						}
						from := opts
						from.Cursor = got[i].Cursor()
						rest, err := listAll(tr, job, from)
						if err != nil {
							t.Fatal(err)
						}
						if !sameTasks(tasksOf(rest), want[i+1:]) {
							t.Errorf("from the cursor of task %d (%s): %v, want %v", i, got[i].Task.TaskID, idsOf(tasksOf(rest)), idsOf(want[i+1:]))
						}
						if pagedRest := paged(t, tr, job, from, 3); !sameTasks(pagedRest, want[i+1:]) {
							t.Errorf("List from the cursor of task %d: %v, want %v", i, idsOf(pagedRest), idsOf(want[i+1:]))
						}
					}
				})
			}
		})
	}
}

// TestListAllRefuses: options List refuses are the first and only pair.
func TestListAllRefuses(t *testing.T) {
	t.Parallel()
	tr, _ := failedJob(t, "refuse", 1)
	for _, bad := range []tracker.ListOptions{
		{Fingerprint: "v1:NOTHEX"}, {Fingerprint: fp(pyKeyError), Pending: true}, {ErrorContains: "x", Statuses: []tracker.Status{tracker.Todo}},
		{ErrorContains: "x", Limit: tracker.MaxPageLimit + 1}, {Fingerprint: fp(pyKeyError), Cursor: "Fnot-a-cursor"},
		{Fingerprint: fp(pyKeyError), Cursor: tracker.CursorAfter("refuse", "t-01")},
	} {
		got, err := listAll(tr, "refuse", bad)
		if len(got) != 0 || !isInvalid(err) {
			t.Errorf("ListAll(%+v): %d tasks, %v; want a validation error alone", bad, len(got), err)
		}
	}
}

// TestListAllResumesAfterAFailedRead: when the query of one partition fails, ListAll yields
// every task before that partition's, in order, then the error; the last cursor resumes
// the listing with the rest. Each of the group's partitions fails in turn.
func TestListAllResumesAfterAFailedRead(t *testing.T) {
	t.Parallel()
	const job = "resume"
	tr, gate := failedJob(t, job, 1)
	opts := tracker.ListOptions{Fingerprint: fp(pyNoText[0])}
	want := paged(t, tr, job, opts, tracker.MaxPageLimit)
	injected := errors.New("injected: connection reset by peer")
	codes := tr.Codes(job)
	for _, s := range []tracker.Status{tracker.Failed, tracker.Ignored} {
		for shard := range tracker.FailureShards(1) {
			part := fmt.Sprintf("%s%s%02d%s%02d", job, tracker.Separator, codes.Code(s), tracker.Separator, shard)
			t.Run(fmt.Sprintf("%s shard %d fails", s, shard), func(t *testing.T) {
				// Not parallel: the gate is the table's.
				gate.set(func(p string) error {
					if p == part {
						return injected
					}
					return nil
				})
				got, err := listAll(tr, job, opts)
				gate.set(func(string) error { return nil })
				if !errors.Is(err, injected) {
					t.Fatalf("error %v, want the injected one", err)
				}
				if !sameTasks(tasksOf(got), want[:len(got)]) {
					t.Fatalf("before the error: %v, want a start of %v", idsOf(tasksOf(got)), idsOf(want))
				}
				for _, task := range got {
					if tracker.ShardOf(task.Task.TaskID, tracker.FailureShards(1)) == shard && task.Task.Status == s {
						t.Fatalf("task %s of the failed partition was yielded", task.Task.TaskID)
					}
				}
				resumed := opts
				if len(got) > 0 {
					resumed.Cursor = got[len(got)-1].Cursor()
				}
				rest, err := listAll(tr, job, resumed)
				if err != nil {
					t.Fatal(err)
				}
				if all := append(tasksOf(got), tasksOf(rest)...); !sameTasks(all, want) {
					t.Errorf("before the error %v, then resumed %v; want %v", idsOf(tasksOf(got)), idsOf(tasksOf(rest)), idsOf(want))
				}
			})
		}
	}
}

// TestListAllStopsItsReads: when the caller stops early or its context ends, the reads under
// way are cancelled and ListAll returns once they ended: no Query in flight, no reader left.
func TestListAllStopsItsReads(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		cancels bool                                 // the stop ends ctx, which ListAll yields
		stop    func(cancel context.CancelFunc) bool // after the first task: go on with the loop?
	}{
		{"the caller breaks out of the loop", false, func(context.CancelFunc) bool { return false }},
		{"the caller's context ends", true, func(cancel context.CancelFunc) bool { cancel(); return true }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			job := "stop"
			tr, gate := failedJob(t, job, 1)
			opts := tracker.ListOptions{Fingerprint: fp(pyNoText[0])}
			want := paged(t, tr, job, opts, tracker.MaxPageLimit)
			// The first task's partition answers; every other one is held until cancelled.
			first := fmt.Sprintf("%s%s%02d%s%02d", job, tracker.Separator, tr.Codes(job).Code(want[0].Status), tracker.Separator, tracker.ShardOf(want[0].TaskID, tracker.FailureShards(1)))
			gate.set(func(p string) error {
				if p == first {
					return nil
				}
				return errHold
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Past the stop, ListAll has 30 s to return; then the watchdog cancels ctx to
			// unblock the test and the test fails.
			var timedOut atomic.Bool
			var watchdog *time.Timer
			afterFirst := func() (goOn bool, err error) {
				select {
				case <-gate.held: // another partition's read is under way
				case <-time.After(30 * time.Second):
					return false, errors.New("no other partition was read ahead")
				}
				watchdog = time.AfterFunc(30*time.Second, func() { timedOut.Store(true); cancel() })
				return c.stop(cancel), nil
			}
			var err error
			label := pprof.Labels("listall-test", t.Name())
			pprof.Do(ctx, label, func(ctx context.Context) {
				n := 0
				for lt, lerr := range tr.ListAll(ctx, job, opts) {
					if err = lerr; err != nil {
						return
					}
					if n++; n > 1 {
						err = fmt.Errorf("a second task, %s, yielded past the stop", lt.Task.TaskID)
						return
					}
					var goOn bool
					if goOn, err = afterFirst(); !goOn {
						return
					}
				}
			})
			if watchdog != nil {
				watchdog.Stop()
			}
			if timedOut.Load() {
				t.Fatal("ListAll did not return: its held reads were not cancelled")
			}
			if c.cancels && !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			} else if !c.cancels && err != nil {
				t.Error(err)
			}
			if n := gate.inFlight.Load(); n != 0 {
				t.Errorf("%d Queries still in flight after ListAll returned", n)
			}
			// The goroutines ListAll started carry the loop's labels (as do the HTTP client's
			// connections it opened, which stay for the next request: those run no code of
			// this package).
			var profile strings.Builder
			if err := pprof.Lookup("goroutine").WriteTo(&profile, 1); err != nil {
				t.Fatal(err)
			}
			for _, g := range strings.Split(profile.String(), "\n\n") {
				if strings.Contains(g, fmt.Sprintf("%q:%q", "listall-test", t.Name())) && strings.Contains(g, "dynamodb-tracker/tracker.") {
					t.Errorf("a goroutine of ListAll outlived it:\n%s", g)
				}
			}
		})
	}
}
