package worker

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/idspace"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// A pool's one listing goroutine, the feeder, lists the job's pending tasks in passes round
// the id space from the pool's starting point and hands them to the workers. Pools of other
// processes on the same job start elsewhere (Seed), and each works forward from its start,
// so two pools meet when one reaches the stretch where the other works. A pending listing
// shows it before any claim is refused: the tasks the other pool finished are no longer
// pending, so the listing jumps over them (a wake) to where the other pool claims, and the
// next tasks are those that pool has listed already. The feeder leaves that pool as many as
// it may hold listed (reach) and goes on after them: the two then leapfrog, each finding the
// other's wake in turn, without racing for a task. A stretch left that is still where it was
// in the next pass is nobody's (its pool is gone, or the gap was in the ids themselves), and
// that pass takes it.
//
// When a claim is refused all the same (meets), because the other pool finished the task,
// the listing is stale there: the feeder lists again after it, and sees the wake. Because the
// other pool holds it, both work there now: the pool whose name sorts first leaves the other
// the tasks it lists next. The workers skip what was handed out before either.
//
// At the end of a job every pending task is one that another pool has listed: a pass that
// finds nothing else waits about as long as one of its tasks takes, for as long as the
// others get on, then takes what is left. It counts what is left as it waits, and ends once
// the others have taken it all.

// feeder is the state of Run's one listing goroutine.
type feeder struct {
	p        *Pool
	c        *counters
	tasks    chan<- handout
	inflight *sync.WaitGroup // tasks handed out and not yet finished
	pageSize int
	rng      *rand.Rand
	start    string        // the point of the id space after which each pass begins
	first    string        // the job's first pending id when the pool started
	scale    idspace.Scale // first to last pending id when the pool started: how far apart ids lie
	idle     time.Duration // the next wait of a polling pool that finds nothing

	// reach is how many pending tasks past where another pool claims that pool may have
	// listed already: a page and a task per worker, judged by this pool's.
	reach int
	yield bool   // whether this pass leaves tasks to other pools
	seen  uint64 // c.collisions when the feeder last looked
	found int    // tasks handed out in the current pass
	left  int    // ... and left to other pools
	// leaving is how many tasks to leave before handing out again, and prev the id the leg
	// listed last (or the point it started after, or jumped to).
	leaving int
	prev    string
	// step is the mean distance (idspace.Scale.Distance) between neighbours of the last page
	// handed out that lie across no wake; 0 when its wakes were not looked for.
	step float64
	// leftFrom holds the first task of each stretch past a wake this pass left to another
	// pool, and wasLeft the last pass's.
	leftFrom, wasLeft map[string]bool
	// lastLeft is what the last pass left to other pools when it found nothing else, and
	// leftAt when it ended.
	lastLeft int
	leftAt   time.Time
	// stragglersAt is when the last look at the failed and in-progress tasks found none
	// (zero when it found some, or when the next pass must look), and stragglersFailed the
	// pool's count of failed tasks before it.
	stragglersAt     time.Time
	stragglersFailed int64
	// counted is whether the wait that leave just made ended with a count of the job's
	// todo and failed tasks (await), and leftNow that count, which othersDone then takes.
	counted bool
	leftNow int
}

// listRetries is how often a pool that does not poll makes a failed listing call again
// before Run returns its error.
const listRetries = 3

// Wakes: two neighbours of a listing lie across a wake when they are more than wakeFactor
// times the page's median distance between neighbours apart; a page of fewer than
// wakePage tasks tells nothing. Ids spread at random lie that far apart by chance once in
// about 60,000 neighbours.
const (
	wakeFactor = 16
	wakePage   = 8
)

func (p *Pool) newFeeder(c *counters, tasks chan<- handout, inflight *sync.WaitGroup, pageSize, workers int) *feeder {
	seed := p.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &feeder{p: p, c: c, tasks: tasks, inflight: inflight, pageSize: pageSize,
		rng: rand.New(rand.NewPCG(seed, seed>>1|1)), reach: pageSize + workers, yield: true, idle: p.minIdle(), leftFrom: map[string]bool{}}
}

// feed lists pending tasks round the id space from the pool's starting point and hands
// them to the workers, pass after pass, until a pass finds nothing, or one whose every task
// succeeded is followed by a check that finds nothing pending nor due later.
func (f *feeder) feed(ctx context.Context) error {
	if err := f.list(ctx, func() error { return f.begin(ctx) }); err != nil {
		return err
	}
	// Whether a listing found nothing in the previous pass: then one task of a page from the
	// beginning tells whether it has anything now, before the two legs are read. The failed
	// and in-progress statuses start so (begin may skip their first look altogether).
	wasEmpty := [2]bool{true, false}
	for {
		f.found, f.left = 0, 0
		done0 := f.c.succeeded.Load()
		f.c.yielding.Store(f.yield)
		f.seen = f.c.collisions.Load() // a collision of the last pass was elsewhere
		f.wasLeft, f.leftFrom = f.leftFrom, map[string]bool{}
		if err := f.sweeps(ctx, &wasEmpty); err != nil {
			return err
		}
		// Let the workers finish this pass, so that the next listing sees their outcomes.
		f.inflight.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.found > 0 || f.left > 0 {
			f.idle = f.p.minIdle()
			if err := f.leave(ctx); err != nil {
				return err
			}
			// A pass whose every task succeeded and that left none to other pools leaves
			// nothing of its own for another pass to find: without Poll, what ends Run is
			// pause's check (nothing due later, nothing pending), made at once.
			if f.p.Poll || f.left > 0 || f.c.succeeded.Load()-done0 != int64(f.found) {
				if done, err := f.othersDone(ctx); err != nil || done {
					return err
				}
				continue
			}
		}
		f.yield, f.lastLeft = true, 0
		if done, err := f.pause(ctx); err != nil || done {
			return err
		}
	}
}

// sweeps lists a pass's pending tasks and hands them out. First the failed tasks that are
// due and those whose lease ran out (a crashed worker's), once a pass rather than with every
// page of todo tasks: each status is a partition of the index, a query apiece, and the
// in-progress one holds every running task, which a pending listing reads to find the expired
// ones. Then the todo tasks, where pools meet. Both from the pool's own starting point, so
// that pools do not race for the same failed tasks either. wasEmpty holds, for each, whether
// the last pass found none.
func (f *feeder) sweeps(ctx context.Context, wasEmpty *[2]bool) error {
	for k, leg := range []struct {
		statuses []tracker.Status
		wakes    bool
	}{{[]tracker.Status{tracker.InProgress, tracker.Failed}, false}, {[]tracker.Status{tracker.Todo}, true}} {
		if k == 0 && wasEmpty[k] && f.stragglersRecent() {
			continue
		}
		before, failed := f.found+f.left, f.c.failed.Load()
		if err := f.sweep(ctx, leg.statuses, leg.wakes, wasEmpty[k]); err != nil {
			return err
		}
		wasEmpty[k] = f.found+f.left == before
		if k == 0 {
			f.stragglersAt, f.stragglersFailed = time.Time{}, failed
			if wasEmpty[k] {
				f.stragglersAt = time.Now()
			}
		}
	}
	return nil
}

// stragglerLooks is how many MinIdle a pass may go without looking at the failed and
// in-progress tasks, when the last look found none and the pool failed no task since.
const stragglerLooks = 10

// stragglersRecent reports whether the last pass's look at the failed and in-progress tasks
// found none less than stragglerLooks MinIdle ago, and no worker of the pool failed a task
// since (or, the first time, begin found the job with todo tasks and none failed): then a
// pass skips that look (a query for each of the two statuses). A failed task another pool
// left, or a lease that ran out, waits that much longer; pause and othersDone look before
// Run ends, and the pass after pause looks again.
func (f *feeder) stragglersRecent() bool {
	return !f.stragglersAt.IsZero() && time.Since(f.stragglersAt) < stragglerLooks*f.p.minIdle() &&
		f.c.failed.Load() == f.stragglersFailed
}

// othersDone follows a pass that found only tasks it left to other pools (its wait for them
// included), without Poll: when the job has no todo or failed task left, they did the rest,
// and Run ends unless an in-progress task's lease ran out. That is what another pass and
// pause would find, in 3 queries where they make 5. It takes the count the wait ended with
// (await), or counts when the wait made none.
func (f *feeder) othersDone(ctx context.Context) (bool, error) {
	if f.found > 0 || !f.yield || f.p.Poll {
		return false, nil
	}
	left := f.leftNow
	if !f.counted {
		var err error
		if left, err = f.countLeft(ctx); err != nil {
			return false, err
		}
	}
	if left > 0 {
		return false, nil
	}
	return f.noneExpired(ctx)
}

// countLeft counts the job's todo and failed tasks, up to one.
func (f *feeder) countLeft(ctx context.Context) (left int, err error) {
	err = f.list(ctx, func() (err error) {
		left, err = f.p.Tracker.CountUpTo(ctx, f.p.Job, []tracker.Status{tracker.Todo, tracker.Failed}, 1)
		return err
	})
	return left, err
}

// noneExpired reports whether no in-progress task of the job is pending (its lease ran
// out); when one is, the next pass lists it.
func (f *feeder) noneExpired(ctx context.Context) (bool, error) {
	var pending bool
	if err := f.list(ctx, func() (err error) { pending, err = f.any(ctx, []tracker.Status{tracker.InProgress}); return err }); err != nil {
		return false, err
	}
	if pending {
		f.stragglersAt = time.Time{}
	}
	return !pending, nil
}

// leave follows a pass that found tasks. When all it found it left to other pools, they work
// the last of the job: it lets them, and looks again after about as long as a task takes
// this pool, then after as long as they will take for the rest at the pace they kept, for as
// long as they get on (each pass leaves fewer); then it takes whatever they leave, since
// they may be gone or the gap in the ids be no pool's wake. Without Poll it counts what is
// left as it waits (await), and stops waiting once the others have taken it all.
func (f *feeder) leave(ctx context.Context) error {
	f.counted = false
	now := time.Now()
	wait := f.c.taskTime(f.p.minIdle())
	switch {
	case f.found > 0:
		f.yield, f.lastLeft = true, 0
		return nil
	case !f.yield || (f.lastLeft > 0 && f.left >= f.lastLeft):
		f.yield, f.lastLeft = false, 0
		return nil
	case f.lastLeft > 0:
		pace := now.Sub(f.leftAt) / time.Duration(f.lastLeft-f.left) // per task
		wait = max(wait, pace*time.Duration(f.left))
	}
	f.lastLeft, f.leftAt = f.left, now
	return f.await(ctx, wait)
}

// firstLook: await first counts what is left after 1/firstLook of its wait.
const firstLook = 4

// await waits up to wait for the other pools to take the tasks this pass left them. Without
// Poll it counts the job's todo and failed tasks (up to one) as it waits: after
// 1/firstLook of the wait (at least a millisecond), then after twice as long each time, the
// last at the wait's end, and it returns as soon as none is left. Run then ends soon after
// the other pools took the job's last tasks, not up to a whole wait later, for at most three
// counts of one query each (docs/benchmarks.md, run AE, has the figures and why firstLook is
// 4); othersDone takes the last (counted, leftNow).
func (f *feeder) await(ctx context.Context, wait time.Duration) error {
	if f.p.Poll {
		return sleep(ctx, wait)
	}
	step := max(wait/firstLook, time.Millisecond)
	for waited := time.Duration(0); waited < wait; step *= 2 {
		d := min(step, wait-waited)
		if err := sleep(ctx, d); err != nil {
			return err
		}
		waited += d
		left, err := f.countLeft(ctx)
		if err != nil {
			return err
		}
		f.leftNow, f.counted = left, true
		if left == 0 {
			return nil
		}
	}
	return nil
}

// begin reads the first and the last pending id of the job (tracker.Span: no listing), which
// set the scale of the id space, and picks the point after which the pool begins, at random
// between them, so that pools of different processes begin apart. Nothing pending: the
// beginning. When the job has todo tasks and no failed one, the first pass skips the look at
// the failed and in-progress tasks.
func (f *feeder) begin(ctx context.Context) error {
	span, err := f.p.Tracker.Span(ctx, f.p.Job)
	if err != nil {
		return ctxErr(ctx, err)
	}
	if span.Pending {
		f.first, f.scale = span.First, idspace.NewScale(span.First, span.Last)
		f.start = f.p.point(span.First, span.Last, f.rng.Float64())
	}
	if span.Pending && !span.Failed {
		// No task failed: the first pass lists the todo tasks alone, and the in-progress ones
		// wait for the look stragglersRecent allows (a lease that ran out before the pool
		// started is a crashed worker's, taken a little later).
		f.stragglersAt, f.stragglersFailed = time.Now(), f.c.failed.Load()
	}
	return nil
}

// point returns the point of the id space at fraction f of the way from lo to hi
// (idspace.Between: evenly spread over ids that use few characters, decimal or hex ones),
// that a cursor can resume after, or lo when it is not a valid task id.
func (p *Pool) point(lo, hi string, f float64) string {
	at := idspace.Between(lo, hi, f)
	if tracker.ValidateID(p.Job, at) != nil {
		return lo
	}
	return at
}

// pause follows a pass that found nothing: it waits until the next failed task is due, or,
// polling, for the idle wait (which doubles); it returns done when Run should end, nothing
// being pending nor due later. It first counts the job's todo and failed tasks, up to one:
// when there are none, nothing is due later either, and only the in-progress ones are left
// to look at (a crashed worker's lease may have run out): three queries where NextDue and a
// look at every status make five.
func (f *feeder) pause(ctx context.Context) (done bool, err error) {
	// Whatever pause finds, the next pass lists the failed and in-progress tasks.
	f.stragglersAt = time.Time{}
	left, err := f.countLeft(ctx)
	if err != nil {
		return false, err
	}
	var next time.Time
	var ok bool
	if left > 0 {
		if err := f.list(ctx, func() error {
			due, err := f.p.Tracker.NextDue(ctx, f.p.Job)
			next, ok = due.First, due.Waiting
			return err
		}); err != nil {
			return false, err
		}
	}
	switch {
	case ok:
		return false, sleep(ctx, next.Sub(f.p.Tracker.Config().Now())+10*time.Millisecond)
	case f.p.Poll:
		wait := f.idle
		f.idle = min(2*f.idle, f.p.maxIdle())
		return false, sleep(ctx, wait)
	}
	// A failed task may have come due between the pass and NextDue: look once more, at
	// every status, or at the in-progress ones alone when no other was left.
	if left == 0 {
		return f.noneExpired(ctx)
	}
	var pending bool
	if err := f.list(ctx, func() (err error) { pending, err = f.any(ctx, nil); return err }); err != nil {
		return false, err
	}
	return !pending, nil
}

// list makes a listing call, and makes it again while it fails with a transient error,
// after a wait that doubles from MinIdle to MaxIdle: with Poll until ctx ends, without it
// listRetries times. It counts and reports each failure it waits out.
func (f *feeder) list(ctx context.Context, call func() error) error {
	wait := f.p.minIdle()
	for i := 0; ; i++ {
		err := call()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !tracker.IsTransient(err) || (!f.p.Poll && i == listRetries) {
			return err
		}
		f.c.listErrors.Add(1)
		if f.p.OnListError != nil {
			f.p.OnListError(err)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, f.p.maxIdle())
	}
}

// any reports whether the job has a pending task of statuses (every status when none).
func (f *feeder) any(ctx context.Context, statuses []tracker.Status) (bool, error) {
	page, err := f.p.Tracker.List(ctx, f.p.Job, tracker.ListOptions{Pending: true, Statuses: statuses, Limit: 1, IDsOnly: true})
	if err != nil {
		return false, err
	}
	return len(page.Tasks) > 0 || page.Cursor != "", nil
}

// sweep lists the pending tasks of statuses from the start to the end of the id space, then
// from the beginning up to the start, and hands them out, watching for other pools' wakes
// when wakes is set. When they were none the last time, it first looks for one: a query
// for each status instead of two.
func (f *feeder) sweep(ctx context.Context, statuses []tracker.Status, wakes, wasEmpty bool) error {
	if wasEmpty {
		var pending bool
		if err := f.list(ctx, func() (err error) { pending, err = f.any(ctx, statuses); return err }); err != nil || !pending {
			return err
		}
	}
	f.prev, f.leaving = f.start, 0
	if err := f.leg(ctx, statuses, wakes, f.start, ""); err != nil || f.start == "" {
		return err
	}
	// Round the end of the id space to its beginning, where a pool that began there leaves a
	// wake from the job's first id.
	f.prev = f.first
	return f.leg(ctx, statuses, wakes, "", f.start)
}

// leg lists the pending tasks of statuses after from (from the beginning when empty) through
// until (to the end when empty), page after page, and hands them out.
func (f *feeder) leg(ctx context.Context, statuses []tracker.Status, wakes bool, from, until string) error {
	cursor := ""
	if from != "" {
		cursor = tracker.CursorAfter(f.p.Job, from)
	}
	for {
		var page *tracker.Page
		opts := tracker.ListOptions{Pending: true, Statuses: statuses, Limit: f.pageSize, Cursor: cursor, Through: until, IDsOnly: true}
		if err := f.list(ctx, func() (err error) { page, err = f.p.Tracker.List(ctx, f.p.Job, opts); return err }); err != nil {
			return err
		}
		again, err := f.hand(ctx, page, wakes && f.yield)
		if err != nil {
			return err
		}
		switch {
		case again != "" && again > from && (until == "" || again < until):
			// The listing is stale from again on: read it anew, its wakes included.
			cursor, f.prev, f.leaving = tracker.CursorAfter(f.p.Job, again), again, 0
		case page.Cursor == "":
			return nil
		default:
			cursor = page.Cursor
			if to, ok := f.jump(); ok {
				if until != "" && to >= until {
					return nil
				}
				cursor = tracker.CursorAfter(f.p.Job, to)
			}
		}
	}
}

// jumpMargin is how much farther than the page's density says the feeder jumps over tasks
// it leaves (jump): a jump short of them makes claims meet the other pool's, a jump too far
// leaves that pool a few tasks more, which it lists in turn.
const jumpMargin = 1.25

// jump follows a page that ends while the feeder still leaves tasks to another pool, in a
// pass that found tasks of its own: rather than list the rest of them, it reckons how far
// they reach from how densely the page's ids lie (step, jumpMargin times as far) and returns
// the point to list after. They count as left. A jump short of them makes a claim meet the
// other pool's, and hand lists anew after it; in the last of a job (a pass that found
// nothing of its own) the feeder reads them, to count what it leaves (leave).
func (f *feeder) jump() (string, bool) {
	if f.leaving == 0 || f.found == 0 || f.step == 0 {
		return "", false
	}
	to := f.scale.Ahead(f.prev, float64(f.leaving)*f.step*jumpMargin)
	if to <= f.prev || tracker.ValidateID(f.p.Job, to) != nil {
		return "", false
	}
	f.left += f.leaving
	f.leaving, f.prev = 0, to
	return to, true
}

// hand hands out the tasks of page, but those it leaves to another pool: the reach tasks
// past another pool's wake (with wakes), or past where the feeder was when it met a pool it
// yields to (meets). When it met a pool that finished a task the listing had, it stops and
// returns that task, after which to list again.
func (f *feeder) hand(ctx context.Context, page *tracker.Page, wakes bool) (again string, err error) {
	gap := 0.0
	f.step = 0
	if wakes {
		gap, f.step = f.wakeGap(page)
	}
	for _, task := range page.Tasks {
		id := task.TaskID
		if n := f.c.collisions.Load(); n != f.seen {
			f.seen = n
			m := f.c.lastMeeting()
			if !m.leave {
				return m.at, nil
			}
			f.leaving = f.reach
		}
		if gap > 0 && f.prev != "" && f.scale.Distance(f.prev, id) > gap {
			// Another pool works from id on, unless the last pass left it the same stretch:
			// then nobody took a task of it since, and it is nobody's.
			if !f.wasLeft[id] {
				f.leaving = f.reach
				f.leftFrom[id] = true
			}
		}
		f.prev = id
		if f.leaving > 0 {
			f.leaving--
			f.left++
			f.c.listed.Add(1)
			f.c.skipped.Add(1)
			continue
		}
		if err := f.give(ctx, &task); err != nil {
			return "", err
		}
	}
	return "", nil
}

// wakeGap returns how far apart (idspace.Scale.Distance) two neighbours of page's listing
// lie across a wake: wakeFactor times the page's median distance between neighbours; 0
// (no wake) on a page of fewer than wakePage tasks. And the mean distance between the
// neighbours that lie across none (step): ids at random lie farther apart on average than
// their median distance.
func (f *feeder) wakeGap(page *tracker.Page) (gap, step float64) {
	if len(page.Tasks) < wakePage {
		return 0, 0
	}
	d := make([]float64, len(page.Tasks)-1)
	for i := range d {
		d[i] = f.scale.Distance(page.Tasks[i].TaskID, page.Tasks[i+1].TaskID)
	}
	slices.Sort(d)
	gap = wakeFactor * d[len(d)/2]
	n, sum := 0, 0.0
	for _, x := range d {
		if x <= gap {
			n, sum = n+1, sum+x
		}
	}
	return gap, sum / float64(n)
}

// give hands a task to a worker.
func (f *feeder) give(ctx context.Context, task *tracker.Task) error {
	f.found++
	f.c.listed.Add(1)
	f.inflight.Add(1)
	select {
	case f.tasks <- handout{listed: task, collisions: f.seen}:
		return nil
	case <-ctx.Done():
		f.inflight.Done()
		return ctx.Err()
	}
}
