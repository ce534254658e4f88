package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/idspace"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ids returns n ids made by id, sorted.
func ids(n int, id func(i int) string) []string {
	all := make([]string, n)
	for i := range all {
		all[i] = id(i)
	}
	sort.Strings(all)
	return all
}

func decimal(i int) string { return fmt.Sprintf("t-%05d", i) }

// TestPoolStartsSpreadOverTheJob: the points a pool may start from split a job's ids evenly,
// whatever its size, so that pools of different processes start apart. (Points read as
// printable ASCII put nine in ten of them between t-00999 and t-01000 on a job of t-00000 to
// t-01499: four pools started together.)
func TestPoolStartsSpreadOverTheJob(t *testing.T) {
	p := &Pool{Job: "j"}
	for _, c := range []struct {
		name string
		ids  []string
	}{
		{"1,500 decimal ids", ids(1500, decimal)},
		{"10,000 decimal ids", ids(10000, decimal)},
		{"5,000 hex ids", ids(5000, func(i int) string { return fmt.Sprintf("%08x", uint32(i)*2654435761) })},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := len(c.ids)
			for k := 1; k < 8; k++ {
				at := p.point(c.ids[0], c.ids[n-1], float64(k)/8)
				below := sort.SearchStrings(c.ids, at)
				if want := n * k / 8; below < want-n/50 || below > want+n/50 {
					t.Errorf("point %d/8 = %q has %d ids below it, want about %d", k, at, below, want)
				}
			}
		})
	}
}

// TestOneCollisionPerStretch: the first refused claim of what the feeder handed out since it
// last skipped is a collision; the refusals of claims handed out before it skipped are not
// (they were listed where the other pool works), or it would skip again for each of them.
func TestOneCollisionPerStretch(t *testing.T) {
	var c counters
	for _, step := range []struct {
		name string
		h    handout
		want bool
	}{
		{"the first refusal is a collision", handout{listed: &tracker.Task{TaskID: "t-1"}, collisions: 0}, true},
		{"a claim handed out before it is not", handout{listed: &tracker.Task{TaskID: "t-2"}, collisions: 0}, false},
		{"nor another one", handout{listed: &tracker.Task{TaskID: "t-3"}, collisions: 0}, false},
		{"a claim handed out after the skip is", handout{listed: &tracker.Task{TaskID: "t-9"}, collisions: 1}, true},
	} {
		if got := c.collide(step.h, meeting{at: step.h.listed.TaskID}); got != step.want {
			t.Errorf("%s: collide = %v, want %v", step.name, got, step.want)
		}
	}
	if n := c.collisions.Load(); n != 2 {
		t.Errorf("%d collisions, want 2", n)
	}
}

// TestPoolLeavesTheTasksPastAWake: where a pool's listing jumps over tasks that are no longer
// pending (another pool's wake), the next ones are those the other pool has listed already:
// the feeder leaves it as many as a pool may hold listed (a page and a task per worker) and
// hands out the rest. (It used to hand them all out, and race the other pool for them.)
// Those it still leaves when its page ends it does not list: it jumps over them, as far as
// the page's density says they reach, a quarter farther (so that it does not land among
// them), and lists on from there.
func TestPoolLeavesTheTasksPastAWake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	const job = "wake"
	tasks := make([]tracker.NewTask, 300)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)}
	}
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	// Another pool has done t-100 to t-199 and runs t-200 to t-204.
	for i := 100; i < 205; i++ {
		lease, err := tr.Claim(ctx, job, fmt.Sprintf("t-%03d", i), "pool-b/0")
		if err != nil {
			t.Fatal(err)
		}
		if i < 200 {
			if _, err := tr.Complete(ctx, *lease, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name    string
		yield   bool
		workers int // with pages of 10: reach is 10 + workers
		want    []string
		// listed and left to the other pool, of what was listed
		listed, left int
	}{
		// t-205 to t-214 listed and left, t-215 jumped over (to t-2152: 1.25 ids on).
		{"a pass that yields leaves a page and a task per worker past the wake", true, 1,
			slices.Concat(ids(100, decimal3(0)), ids(84, decimal3(216))), 194, 10},
		// t-205 to t-214 listed and left, 30 more jumped over: 37.5 ids on, to t-2515.
		{"what it leaves past its page it jumps over", true, 30,
			slices.Concat(ids(100, decimal3(0)), ids(48, decimal3(252))), 158, 10},
		{"a pass that does not yield hands out everything", false, 1,
			slices.Concat(ids(100, decimal3(0)), ids(95, decimal3(205))), 195, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Pool{Tracker: tr, Job: job, Handler: func(context.Context, *tracker.Task) (json.RawMessage, error) { return nil, nil }}
			var cs counters
			handed := make(chan handout, len(tasks))
			var inflight sync.WaitGroup
			f := p.newFeeder(&cs, handed, &inflight, 10, c.workers)
			f.scale, f.yield = idspace.NewScale("t-000", "t-299"), c.yield
			if err := f.sweep(ctx, []tracker.Status{tracker.Todo}, true, false); err != nil {
				t.Fatal(err)
			}
			close(handed)
			var got []string
			for h := range handed {
				got = append(got, h.listed.TaskID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("handed out %d tasks:\n%v\nwant %d:\n%v", len(got), got, len(c.want), c.want)
			}
			if st := cs.stats(); st.Listed != c.listed || st.Skipped != c.left {
				t.Errorf("stats %+v, want %d listed, %d left", st, c.listed, c.left)
			}
		})
	}
}

// decimal3 makes ids t-000 on from from.
func decimal3(from int) func(i int) string {
	return func(i int) string { return fmt.Sprintf("t-%03d", from+i) }
}

// TestMeets: a claim refused because a worker of another pool finished the task means the
// listing is stale there (list again after it); one refused because such a worker holds the
// task means the two pools work there now, and the one whose name sorts first moves on. A
// refusal for another reason, by a holder that names no pool, or by this pool, meets nobody.
func TestMeets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	const job = "meet"
	if _, err := tr.CreateTasks(ctx, job, []tracker.NewTask{{ID: "held"}, {ID: "done"}, {ID: "anonymous"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Claim(ctx, job, "held", "pool-b/3"); err != nil {
		t.Fatal(err)
	}
	lease, err := tr.Claim(ctx, job, "done", "pool-b/4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Complete(ctx, *lease, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Claim(ctx, job, "anonymous", ""); err != nil {
		t.Fatal(err)
	}
	refusal := func(id string) error {
		_, err := tr.Claim(ctx, job, id, "x/0")
		if err == nil {
			t.Fatalf("the claim of %s applied", id)
		}
		return err
	}
	for _, c := range []struct {
		name  string
		owner string
		id    string
		want  meeting
		met   bool
	}{
		{"a pool that sorts before the holder's moves on", "pool-a", "held", meeting{at: "held", leave: true}, true},
		{"a pool that sorts after it stays", "pool-c", "held", meeting{}, false},
		{"a task another pool finished: list again", "pool-c", "done", meeting{at: "done"}, true},
		{"a task this pool holds or finished meets nobody", "pool-b", "held", meeting{}, false},
		{"a holder that names no pool meets nobody", "pool-a", "anonymous", meeting{}, false},
		{"a task that is not there meets nobody", "pool-a", "missing", meeting{}, false},
	} {
		if got, met := meets(c.owner, c.id, refusal(c.id)); got != c.want || met != c.met {
			t.Errorf("%s: meets(%q, %q) = %+v, %v; want %+v, %v", c.name, c.owner, c.id, got, met, c.want, c.met)
		}
	}
}

// TestPoolListsAgainWhereItsListingIsStale: after a claim refused because another pool
// finished the task, the feeder drops the rest of its page and lists again after that task:
// the tasks the other pool did since it listed are gone from the new page, and what is past
// their wake it leaves to that pool.
func TestPoolListsAgainWhereItsListingIsStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	const job = "stale"
	tasks := make([]tracker.NewTask, 100)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)}
	}
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	p := &Pool{Tracker: tr, Job: job, Owner: "pool-a", Handler: func(context.Context, *tracker.Task) (json.RawMessage, error) { return nil, nil }}
	var cs counters
	cs.yielding.Store(true)
	handed := make(chan handout)
	var inflight sync.WaitGroup
	f := p.newFeeder(&cs, handed, &inflight, 50, 1) // pages of 50, reach 51
	f.scale = idspace.NewScale("t-000", "t-099")
	// A worker: when it gets t-010, another pool has done t-010 to t-039 since the feeder
	// listed them, and the claim of t-010 is refused.
	var after []string // handed out after the refusal
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		for h := range handed {
			switch {
			case h.collisions > 0:
				after = append(after, h.listed.TaskID)
			case h.listed.TaskID == "t-010":
				for i := 10; i < 40; i++ {
					lease, err := tr.Claim(ctx, job, fmt.Sprintf("t-%03d", i), "pool-b/1")
					if err == nil {
						_, err = tr.Complete(ctx, *lease, nil)
					}
					if err != nil {
						t.Error(err)
					}
				}
				cs.collide(h, meeting{at: h.listed.TaskID})
			}
		}
	}()
	err := f.sweep(ctx, []tracker.Status{tracker.Todo}, true, false)
	close(handed)
	<-worked
	if err != nil {
		t.Fatal(err)
	}
	// Listed again after t-010: t-040 on lies past the other pool's wake, and the first 51
	// of them are left to it.
	if want := ids(9, decimal3(91)); !slices.Equal(after, want) {
		t.Errorf("handed out after the refusal %v, want %v", after, want)
	}
}

// TestPoolTakesWhatAGonePoolLeft: the tasks past the wake of a pool that is gone are left to
// it once, and taken by a later pass, since nobody took one since: every pending task runs
// once and succeeds, whichever point the pool starts from.
func TestPoolTakesWhatAGonePoolLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	for seed := range uint64(4) {
		job := fmt.Sprintf("gone-%d", seed)
		tasks := make([]tracker.NewTask, 300)
		for i := range tasks {
			tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)}
		}
		if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
			t.Fatal(err)
		}
		// A pool did t-100 to t-199 and is gone.
		for i := 100; i < 200; i++ {
			lease, err := tr.Claim(ctx, job, fmt.Sprintf("t-%03d", i), "pool-b/0")
			if err == nil {
				_, err = tr.Complete(ctx, *lease, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		runs := map[string]int{}
		p := &Pool{Tracker: tr, Job: job, Owner: "pool-a", Workers: 2, PageSize: 10, Seed: seed + 1,
			Handler: func(_ context.Context, task *tracker.Task) (json.RawMessage, error) {
				mu.Lock()
				runs[task.TaskID]++
				mu.Unlock()
				return nil, nil
			}}
		st, err := p.Run(ctx)
		if err != nil || st.Succeeded != 200 || st.Claimed != 200 || st.Refused != 0 || len(runs) != 200 {
			t.Errorf("seed %d: Run = %+v, %v, %d tasks run; want the 200 pending ones succeeded", seed+1, st, err, len(runs))
		}
		for id, n := range runs {
			if n != 1 {
				t.Errorf("seed %d: %s ran %d times", seed+1, id, n)
			}
		}
	}
}

// TestAPoolEndsWhenOthersDidTheRest: a pass that found only tasks it left to another pool
// (past that pool's wake) is followed by a wait for it, in which the pool counts the job's
// todo and failed tasks: once the other pool did the rest, the pool ends after one more look
// (at the in-progress tasks), instead of another pass that finds nothing and pause's checks.
// It used to take the tasks left if the stretch stood still, and to make that pass otherwise.
// It counts as it waits, the first time after a quarter of the wait: when the other pool
// takes the rest only after that first count, the pool counts again and ends, where it used
// to count once after the whole wait and, finding tasks left, pass again and take them.
//
// Pool b holds t-200 to t-204, having done t-050 to t-199; pool a (one worker, pages of 20,
// so it leaves 21 past a wake) takes t-000 to t-049 and t-226 to t-299 in its first pass. As
// that pass ends, b does t-200 to t-204 and holds t-205 to t-209, so a's second pass finds
// its wake at t-210 and leaves t-210 to t-225; at a's count doneAt, b does all.
func TestAPoolEndsWhenOthersDidTheRest(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		doneAt int
		// after is what a's queries are from its first count on (true: a count).
		after []bool
	}{
		{doneAt: 1, after: []bool{true, true, false}},       // todo, failed; in progress
		{doneAt: 2, after: []bool{true, true, true, false}}, // todo (one left); todo, failed; in progress
	} {
		t.Run(fmt.Sprintf("done at count %d", c.doneAt), func(t *testing.T) {
			t.Parallel()
			othersDoTheRest(t, fmt.Sprintf("others-%d", c.doneAt), c.doneAt, c.after)
		})
	}
}

func othersDoTheRest(t *testing.T, job string, doneAt int, wantAfter []bool) {
	ctx := context.Background()
	var (
		mu     sync.Mutex
		counts int    // pool a's counts so far
		after  []bool // a's queries from its first count on (true: a count)
		finish func()
	)
	watch := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("watch", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if q, ok := in.Parameters.(*dynamodb.QueryInput); ok {
					mu.Lock()
					if q.Select == types.SelectCount {
						if counts++; counts == doneAt {
							finish()
						}
					}
					if counts > 0 {
						after = append(after, q.Select == types.SelectCount)
					}
					mu.Unlock()
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	}
	tr, _ := trackertest.New(t, tracker.Config{}, watch)
	b, err := tracker.New(dynamotest.Client(t), tracker.Config{Table: tr.Config().Table})
	if err != nil {
		t.Fatal(err)
	}
	tasks := make([]tracker.NewTask, 300)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)}
	}
	if _, err := b.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	held := map[string]*tracker.Lease{}
	// b claims tasks from through to, and completes those it held and the new ones before done.
	work := func(from, to, done int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("t-%03d", i)
			lease, err := b.Claim(ctx, job, id, "pool-b/0")
			if err != nil {
				t.Error(err)
				return
			}
			held[id] = lease
		}
		for i := range done {
			id := fmt.Sprintf("t-%03d", i)
			if lease := held[id]; lease != nil {
				if _, err := b.Complete(ctx, *lease, nil); err != nil {
					t.Error(err)
				}
				delete(held, id)
			}
		}
	}
	work(50, 205, 200)
	finish = func() { work(210, 226, 226) }

	// A seed whose starting point lies away from the stretch b works, so that a's listing
	// meets b's wake in both passes.
	p := &Pool{Tracker: tr, Job: job, Owner: "pool-a", Workers: 1, PageSize: 20}
	for seed := uint64(1); p.Seed == 0 && seed <= 20; seed++ {
		p.Seed = seed
		f := p.newFeeder(&counters{}, nil, nil, 20, 1)
		if start := p.point("t-000", "t-299", f.rng.Float64()); start >= "t-190" && start <= "t-230" {
			p.Seed = 0
		}
	}
	if p.Seed == 0 {
		t.Fatal("no seed of 1 to 20 starts away from t-190 to t-230")
	}
	var ran []string
	p.Handler = func(_ context.Context, task *tracker.Task) (json.RawMessage, error) {
		if ran = append(ran, task.TaskID); len(ran) == 124 {
			work(205, 210, 210) // the first pass's last task
		}
		return nil, nil
	}
	st, err := p.Run(ctx)
	if err != nil || st.Succeeded != 124 || st.Claimed != 124 || st.Refused != 0 {
		t.Fatalf("Run = %+v, %v; want 124 claimed and succeeded, none refused", st, err)
	}
	want := slices.Concat(ids(50, decimal3(0)), ids(74, decimal3(226)))
	if slices.Sort(ran); !slices.Equal(ran, want) {
		t.Errorf("pool a ran %v, want %v", ran, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(after, wantAfter) {
		t.Errorf("pool a's queries from its first count on (true: a count): %v, want %v", after, wantAfter)
	}
	if counts, err := b.Count(ctx, job); err != nil || counts[tracker.Succeeded] != 300 {
		t.Errorf("counts %v, %v: want 300 succeeded", counts, err)
	}
}
