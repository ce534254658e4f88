// Package worker runs a handler over the pending tasks of a job with a pool of goroutines:
// it lists pending tasks (one listing shared by the pool's workers), claims each, keeps the
// lease alive while the handler runs, and records the outcome, through package tracker.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Handler does a task's work. It returns the task's result (a JSON object of at most
// tracker.MaxDataBytes, or nil to keep the task's data) or an error, which is a failed
// attempt (or, wrapped with Permanent, ends the task); a result that cannot be the task's
// data is a failed attempt too (ErrInvalidWorkerOutput). ctx ends when the pool stops, or
// when the lease is lost: an extension was refused, or the lease's end (less the skew
// allowance) came before an extension got through. The handler should return soon after.
type Handler func(ctx context.Context, task *tracker.Task) (json.RawMessage, error)

// Permanent marks err as one that no retry can cure: the pool records the failure and
// ignores the task at once, in the same write (tracker.Failure.Permanent), instead of letting
// it be retried. The failure is fingerprinted like any other.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// ErrLeaseLost is the cause of a handler's ctx ending because its lease was lost: an
// extension was refused (another worker took the task, an operator reset it), or the lease's
// deadline passed before an extension got through. The deadline is Lease.Expires, moved by
// every extension, less the tracker's ClockSkew (at most a tenth of the lease), timed by the
// tracker's clock (tracker.Config.Now): before any other worker, its clock within ClockSkew
// of this one, may take the task over.
var ErrLeaseLost = errors.New("worker: the task's lease was lost")

// Pool runs Handler over the pending tasks of Job with Workers goroutines.
type Pool struct {
	Tracker *tracker.Tracker // required
	Job     string           // required
	Handler Handler          // required
	// Workers is how many tasks run at once; 0 means 4.
	Workers int
	// Owner names this process in the leases it takes (lock_owner), each worker adding
	// "/<n>"; empty means the host name and process id.
	Owner string
	// PageSize is how many pending tasks one listing call reads; 0 means 8 × Workers,
	// at least 100 (at most tracker.MaxPageLimit).
	PageSize int
	// Heartbeat is how often a running task's lease is extended; 0 means a third of the
	// lease duration. It must be shorter than the lease less the skew allowance (see
	// ErrLeaseLost).
	Heartbeat time.Duration
	// Poll keeps the pool running when nothing is pending, looking again after an idle wait
	// that doubles from MinIdle to MaxIdle; without it Run returns once nothing is pending
	// (waiting out failed tasks' backoff first).
	//
	// A listing call that fails with a transient error (throttling, DynamoDB unreachable)
	// after the SDK's own retries is made again after a wait that doubles from MinIdle to
	// MaxIdle: with Poll for as long as ctx lasts, without it 3 times before Run returns the
	// error. Any other listing error ends Run at once.
	Poll             bool
	MinIdle, MaxIdle time.Duration // 0 means 1 second and 30 seconds
	// OnListError, when not nil, is called with each listing error that the pool waits out
	// and lists again after (Stats.ListErrors counts them), from Run's one listing
	// goroutine: to log them, say.
	OnListError func(err error)
	// Seed picks the pool's starting point in the id space; 0 means a random one. Pools of
	// different processes start at different points so that they rarely race for a task.
	Seed uint64
}

// Stats counts what a Run did.
type Stats struct {
	Claimed   int // tasks claimed
	Succeeded int // ... and completed
	Failed    int // ... and failed (panics included)
	Ignored   int // ... ended by a Permanent error or reaching MaxRetry
	Released  int // ... handed back uncounted when the pool stopped
	Lost      int // ... whose lease was lost while running
	Refused   int // claims refused (another worker had the task, or it was finished) or failed (throttled)
	Listed    int // pending tasks the listing returned
	Skipped   int // ... and left unclaimed: listed before a collision, where another pool works
	// ListErrors counts the listing calls that failed after the SDK's retries and that the
	// pool made again after a wait (see Poll); not the one Run returns.
	ListErrors int
}

type counters struct {
	claimed, succeeded, failed, ignored, released, lost, refused, listed, skipped, listErrors atomic.Int64
	// collisions counts the claims refused because another worker had the task: the feeder
	// jumps elsewhere when it grew, and the workers skip the tasks handed out before.
	collisions atomic.Uint64
}

// handout is a task the feeder hands a worker, with the count of collisions when it did.
type handout struct {
	id         string
	collisions uint64
}

func (c *counters) stats() Stats {
	return Stats{Claimed: int(c.claimed.Load()), Succeeded: int(c.succeeded.Load()), Failed: int(c.failed.Load()),
		Ignored: int(c.ignored.Load()), Released: int(c.released.Load()), Lost: int(c.lost.Load()),
		Refused: int(c.refused.Load()), Listed: int(c.listed.Load()), Skipped: int(c.skipped.Load()),
		ListErrors: int(c.listErrors.Load())}
}

// Run works until nothing is pending (or, with Poll, until ctx ends). When ctx ends, tasks
// not yet started are left alone and running handlers see their ctx end; a handler that
// then returns an error has its task released (tracker.Release), not failed. Run returns
// the counts and the first error that stopped it (nil when it ran out of work, ctx.Err()
// when ctx ended).
func (p *Pool) Run(ctx context.Context) (Stats, error) {
	var c counters
	if p.Tracker == nil || p.Handler == nil || p.Job == "" {
		return Stats{}, errors.New("worker: a Pool needs Tracker, Job and Handler")
	}
	workers := p.Workers
	if workers <= 0 {
		workers = 4
	}
	pageSize := p.PageSize
	if pageSize <= 0 {
		pageSize = max(100, 8*workers)
	}
	pageSize = min(pageSize, tracker.MaxPageLimit)
	cfg := p.Tracker.Config()
	if window := cfg.LeaseDuration - skewAllowance(cfg); p.heartbeat() >= window {
		return Stats{}, fmt.Errorf("worker: Heartbeat %v must be shorter than the lease less the clock skew allowance, %v", p.heartbeat(), window)
	}
	owner := p.Owner
	if owner == "" {
		host, _ := os.Hostname()
		owner = fmt.Sprintf("%s-%d", host, os.Getpid())
	}

	tasks := make(chan handout, workers)
	var wg sync.WaitGroup
	var inflight sync.WaitGroup // tasks handed out and not yet finished
	for i := range workers {
		who := fmt.Sprintf("%s/%d", owner, i)
		wg.Go(func() {
			for h := range tasks {
				// A collision since this task was handed out means it was listed where
				// another pool works now: leave it to that pool (or to the next pass)
				// rather than spend a refused write on it.
				if c.collisions.Load() == h.collisions {
					p.one(ctx, &c, h.id, who)
				} else {
					c.skipped.Add(1)
				}
				inflight.Done()
			}
		})
	}
	err := p.feed(ctx, &c, tasks, &inflight, pageSize)
	close(tasks)
	wg.Wait()
	return c.stats(), err
}

// feeder is the state of Run's one listing goroutine.
type feeder struct {
	p        *Pool
	c        *counters
	tasks    chan<- handout
	inflight *sync.WaitGroup // tasks handed out and not yet finished
	pageSize int
	rng      *rand.Rand
	start    string        // the point of the id space after which each pass begins
	seen     uint64        // c.collisions when the feeder last looked
	found    int           // tasks handed out in the current pass
	idle     time.Duration // the next wait of a polling pool that finds nothing
}

// listRetries is how often a pool that does not poll makes a failed listing call again
// before Run returns its error.
const listRetries = 3

// feed lists pending tasks round the id space from the pool's starting point and hands
// them to the workers, pass after pass, until a pass finds nothing.
func (p *Pool) feed(ctx context.Context, c *counters, tasks chan<- handout, inflight *sync.WaitGroup, pageSize int) error {
	seed := p.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	f := &feeder{p: p, c: c, tasks: tasks, inflight: inflight, pageSize: pageSize, rng: rand.New(rand.NewPCG(seed, seed>>1|1)),
		idle: p.minIdle()}
	if err := f.list(ctx, func() (err error) { f.start, err = p.start(ctx, f.rng); return err }); err != nil {
		return err
	}
	// Whether a listing found nothing in the previous pass: then one task of a page from the
	// beginning tells whether it has anything now, before the two legs are read.
	var wasEmpty [2]bool
	for {
		f.found = 0
		// First the failed tasks that are due and those whose lease ran out (a crashed
		// worker's), once a pass rather than with every page of todo tasks: each status is a
		// partition of the index, a query apiece, and the in-progress one holds every running
		// task, which a pending listing reads to find the expired ones. Then the todo tasks.
		// Both from the pool's own starting point, so that pools do not race for the same
		// failed tasks either.
		for k, statuses := range [][]tracker.Status{{tracker.InProgress, tracker.Failed}, {tracker.Todo}} {
			before := f.found
			if err := f.sweep(ctx, statuses, wasEmpty[k]); err != nil {
				return err
			}
			wasEmpty[k] = f.found == before
		}
		// Let the workers finish this pass, so that the next listing sees their outcomes.
		inflight.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.found > 0 {
			f.idle = p.minIdle()
			continue
		}
		if done, err := f.pause(ctx); err != nil || done {
			return err
		}
	}
}

// pause follows a pass that found nothing: it waits until the next failed task is due, or,
// polling, for the idle wait (which doubles); it returns done when Run should end, nothing
// being pending nor due later.
func (f *feeder) pause(ctx context.Context) (done bool, err error) {
	var next time.Time
	var ok bool
	if err := f.list(ctx, func() error {
		due, err := f.p.Tracker.NextDue(ctx, f.p.Job)
		next, ok = due.First, due.Waiting
		return err
	}); err != nil {
		return false, err
	}
	switch {
	case ok:
		return false, sleep(ctx, next.Sub(f.p.Tracker.Config().Now())+10*time.Millisecond)
	case f.p.Poll:
		wait := f.idle
		f.idle = min(2*f.idle, f.p.maxIdle())
		return false, sleep(ctx, wait)
	}
	// A failed task may have come due between the pass and NextDue: look once more.
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
// from the beginning up to the start, and hands them out. When they were none the last
// time, it first looks for one: a query for each status instead of two.
func (f *feeder) sweep(ctx context.Context, statuses []tracker.Status, wasEmpty bool) error {
	if wasEmpty {
		var pending bool
		if err := f.list(ctx, func() (err error) { pending, err = f.any(ctx, statuses); return err }); err != nil || !pending {
			return err
		}
	}
	if err := f.leg(ctx, statuses, f.start, ""); err != nil || f.start == "" {
		return err
	}
	return f.leg(ctx, statuses, "", f.start)
}

// leg lists the pending tasks of statuses after from (from the beginning when empty) through
// until (to the end when empty), page after page, and hands them out.
func (f *feeder) leg(ctx context.Context, statuses []tracker.Status, from, until string) error {
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
		next, err := f.hand(ctx, page, until)
		if err != nil || next == "" {
			return err
		}
		cursor = next
	}
}

// hand hands out the tasks of page, and returns the cursor that the leg goes on after, empty
// when it ends. When a claim was refused since the feeder last looked, another pool works
// here: it jumps ahead over a random stretch of the ids and leaves this one to it; the next
// pass picks up whatever it leaves.
func (f *feeder) hand(ctx context.Context, page *tracker.Page, until string) (string, error) {
	skipTo := "" // the page's tasks up to this id are left to another pool
	for _, task := range page.Tasks {
		if task.TaskID <= skipTo {
			continue
		}
		if n := f.c.collisions.Load(); n != f.seen {
			f.seen = n
			jump := f.p.jump(task.TaskID, page.Tasks, f.rng)
			if until != "" && jump > until {
				return "", nil
			}
			// A jump within the page needs no listing.
			if jump < page.Tasks[len(page.Tasks)-1].TaskID {
				skipTo = jump
				continue
			}
			return tracker.CursorAfter(f.p.Job, jump), nil
		}
		if err := f.give(ctx, task.TaskID); err != nil {
			return "", err
		}
	}
	return page.Cursor, nil
}

// give hands a task to a worker.
func (f *feeder) give(ctx context.Context, id string) error {
	f.found++
	f.c.listed.Add(1)
	f.inflight.Add(1)
	select {
	case f.tasks <- handout{id: id, collisions: f.seen}:
		return nil
	case <-ctx.Done():
		f.inflight.Done()
		return ctx.Err()
	}
}

// start picks the point of the id space after which the pool begins, at random between the
// first and the last pending id (tracker.Span: no listing), so that pools of different
// processes begin apart.
func (p *Pool) start(ctx context.Context, rng *rand.Rand) (string, error) {
	first, last, ok, err := p.Tracker.Span(ctx, p.Job)
	if err != nil || !ok {
		return "", ctxErr(ctx, err)
	}
	return p.point(first, last, rng), nil
}

// point picks a random point of the id space between lo and hi that a cursor can resume
// after, or lo when the point drawn is not a valid task id.
func (p *Pool) point(lo, hi string, rng *rand.Rand) string {
	at := between(lo, hi, rng.Float64())
	if tracker.ValidateID(p.Job, at) != nil {
		return lo
	}
	return at
}

// jumpSpan is about how many pending tasks a jump skips at most: enough to leave a colliding
// pool a stretch of its own, few enough to stay near.
const jumpSpan = 300

// jump returns the point after which the pool goes on from id, a task of page: up to about
// jumpSpan ids further on, judged by how densely the page's ids lie, without reading them.
func (p *Pool) jump(id string, page []tracker.Task, rng *rand.Rand) string {
	lo, hi := page[0].TaskID, page[len(page)-1].TaskID
	at := ahead(id, lo, hi, float64(1+rng.IntN(jumpSpan))/float64(len(page)))
	if tracker.ValidateID(p.Job, at) != nil {
		return id
	}
	return at
}

// one claims a task and runs it.
func (p *Pool) one(ctx context.Context, c *counters, id, owner string) {
	if ctx.Err() != nil {
		return
	}
	lease, err := p.Tracker.Claim(ctx, p.Job, id, owner)
	if err != nil {
		// Another worker got there first, the task finished meanwhile, or a takeover found
		// its last attempt lost and ignored it: the listing was stale, nothing to do.
		c.refused.Add(1)
		if errors.Is(err, tracker.ErrTaskLocked) || errors.Is(err, tracker.ErrTaskAlreadySucceeded) {
			c.collisions.Add(1)
		}
		return
	}
	c.claimed.Add(1)
	outcome := execute(ctx, p.Tracker, lease, p.Handler, p.heartbeat())
	switch outcome.kind {
	case outcomeSucceeded:
		c.succeeded.Add(1)
	case outcomeFailed:
		c.failed.Add(1)
	case outcomeIgnored:
		c.ignored.Add(1)
	case outcomeReleased:
		c.released.Add(1)
	case outcomeLost:
		c.lost.Add(1)
	}
}

func (p *Pool) heartbeat() time.Duration {
	if p.Heartbeat > 0 {
		return p.Heartbeat
	}
	return p.Tracker.Config().LeaseDuration / 3
}

func (p *Pool) minIdle() time.Duration {
	if p.MinIdle > 0 {
		return p.MinIdle
	}
	return time.Second
}

func (p *Pool) maxIdle() time.Duration {
	if p.MaxIdle > 0 {
		return p.MaxIdle
	}
	return 30 * time.Second
}

// Run claims one task, runs fn on it while keeping its lease alive, and records the outcome,
// like the seed's `with task.start_job():`: a nil error completes the task with fn's result,
// an error (or a panic) fails it, a Permanent error ignores it, and if ctx ends while fn
// runs and fn fails, the task is released for another run. It returns the task as left and
// the claim's refusal or fn's error.
func Run(ctx context.Context, tr *tracker.Tracker, job, id string, fn Handler) (*tracker.Task, error) {
	host, _ := os.Hostname()
	lease, err := tr.Claim(ctx, job, id, fmt.Sprintf("%s-%d", host, os.Getpid()))
	if err != nil {
		return nil, err
	}
	o := execute(ctx, tr, lease, fn, tr.Config().LeaseDuration/3)
	return o.task, o.err
}

type outcomeKind int

const (
	outcomeSucceeded outcomeKind = iota
	outcomeFailed
	outcomeIgnored
	outcomeReleased
	outcomeLost
)

type outcome struct {
	kind outcomeKind
	task *tracker.Task
	err  error // the handler's error, or the tracker's
}

// execute runs fn under lease with a heartbeat and records what came of it.
func execute(ctx context.Context, tr *tracker.Tracker, lease *tracker.Lease, fn Handler, every time.Duration) outcome {
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beat := startHeartbeat(hctx, tr, *lease, every, cancel)
	result, herr := call(hctx, fn, lease.Task)
	cur := beat.stop()
	if errors.Is(context.Cause(hctx), ErrLeaseLost) {
		return outcome{kind: outcomeLost, err: context.Cause(hctx)}
	}
	bg := context.WithoutCancel(ctx)
	// The outcome is written under the lease: it is worth trying again (throttled, say)
	// until the lease's deadline, past which another worker may have the task.
	w := write{ctx: bg, now: tr.Config().Now, until: beat.deadline()}
	switch {
	case herr == nil:
		if herr = tracker.CheckResult(result); herr == nil {
			task, err := w.retry(func() (*tracker.Task, error) { return tr.Complete(bg, cur, result) })
			if err != nil {
				return outcome{kind: outcomeLost, err: err}
			}
			return outcome{kind: outcomeSucceeded, task: task}
		}
		// A result that cannot be the task's data is the handler's failure, whether or not
		// the pool is stopping: record it.
	case ctx.Err() != nil:
		// The pool is stopping: the attempt was cut short, not failed.
		// Not for long, though: the pool is stopping.
		w.until = time.Time{}
		task, err := w.retry(func() (*tracker.Task, error) { return tr.Release(bg, cur) })
		if err != nil {
			return outcome{kind: outcomeLost, err: err}
		}
		return outcome{kind: outcomeReleased, task: task, err: herr}
	}
	return fail(w, tr, cur, herr)
}

// write is how execute writes an outcome: retryTransient's arguments.
type write struct {
	ctx   context.Context
	now   func() time.Time
	until time.Time
}

func (w write) retry(f func() (*tracker.Task, error)) (*tracker.Task, error) {
	return retryTransient(w.ctx, w.now, w.until, f)
}

// fail records herr as the failure of the attempt under lease, in one write: ignored at
// once when herr is Permanent (tracker.Failure.Permanent).
func fail(w write, tr *tracker.Tracker, lease tracker.Lease, herr error) outcome {
	ctx := w.ctx
	var perm *permanentError
	f := tracker.Failure{Error: herr.Error(), Permanent: errors.As(herr, &perm)}
	var pe *panicError
	if errors.As(herr, &pe) {
		f.Traceback = pe.stack
	}
	task, err := w.retry(func() (*tracker.Task, error) { return tr.Fail(ctx, lease, f) })
	if err != nil {
		return outcome{kind: outcomeLost, err: err}
	}
	if task.Status == tracker.Ignored {
		return outcome{kind: outcomeIgnored, task: task, err: herr}
	}
	return outcome{kind: outcomeFailed, task: task, err: herr}
}

// panicError is a handler's panic, with the goroutine's stack.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// call runs fn, turning a panic into a *panicError holding the Go stack.
func call(ctx context.Context, fn Handler, task *tracker.Task) (result json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: string(debug.Stack())}
		}
	}()
	return fn(ctx, task)
}

// retryTransient calls f again while it fails with a transient error, after a wait that
// doubles from 50 ms to 1 s: 4 times, and after that for as long as now (the tracker's clock)
// is before until, the deadline of the lease f writes under (zero for no more than 4).
func retryTransient(ctx context.Context, now func() time.Time, until time.Time, f func() (*tracker.Task, error)) (*tracker.Task, error) {
	delay := 50 * time.Millisecond
	for i := 0; ; i++ {
		task, err := f()
		if err == nil || !tracker.IsTransient(err) || (i >= 4 && !now().Add(delay).Before(until)) {
			return task, err
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(2*delay, time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
