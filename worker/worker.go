// Package worker runs a handler over the pending tasks of a job with a pool of goroutines:
// it lists pending tasks (one listing shared by the pool's workers), claims each, keeps the
// lease alive while the handler runs, and records the outcome, through package tracker.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/writeopt"
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

// ErrLeaseLost is tracker.ErrLeaseLost, the one lease-lost error (the functions' LeaseLost):
// a handler's ctx ends with a cause matching it when its lease was lost: an extension was
// refused (another worker took the task, an operator reset it), or the lease's deadline
// passed before an extension got through. The deadline is Lease.Expires, moved by every
// extension, less the tracker's ClockSkew (at most a tenth of the lease), timed by the
// tracker's clock (tracker.Config.Now): before any other worker, its clock within ClockSkew
// of this one, may take the task over.
var ErrLeaseLost = tracker.ErrLeaseLost

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
	//
	// A pass within 10 MinIdle of the last look at the failed and in-progress tasks does not
	// look again when that look found none and the pool failed no task since; Run's last
	// check, before it returns, looks at every status.
	Poll             bool
	MinIdle, MaxIdle time.Duration // 0 means 1 second and 30 seconds
	// OnListError, when not nil, is called with each listing error that the pool waits out
	// and lists again after (Stats.ListErrors counts them), from Run's one listing
	// goroutine: to log them, say.
	OnListError func(err error)
	// Seed picks the pool's starting point in the id space; 0 means a random one. Pools of
	// different processes on one job start at different points and, where they meet, one
	// leaves the other the tasks that one has listed, so that they rarely race for a task.
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
	Skipped   int // ... and left unclaimed to another pool that works where they lie (see Seed)
	// ListErrors counts the listing calls that failed after the SDK's retries and that the
	// pool made again after a wait (see Poll); not the one Run returns.
	ListErrors int
}

type counters struct {
	claimed, succeeded, failed, ignored, released, lost, refused, listed, skipped, listErrors atomic.Int64
	// collisions counts the meetings with other pools (meets): the feeder acts on the last,
	// and the workers skip the tasks handed out before it.
	collisions atomic.Uint64
	mu         sync.Mutex
	meeting    meeting // the last
	// yielding is whether the current pass leaves tasks to other pools (feeder.yield).
	yielding atomic.Bool
	// busy is the time the workers spent on the tasks they claimed, from their claim on.
	busy atomic.Int64
}

// taskTime is how long a task takes this pool on average, claim to outcome, or otherwise
// when it has finished none.
func (c *counters) taskTime(otherwise time.Duration) time.Duration {
	n := c.claimed.Load()
	if n == 0 {
		return otherwise
	}
	return time.Duration(c.busy.Load() / n)
}

// handout is a task the feeder hands a worker, as the listing showed it, with the count of
// collisions when it did.
type handout struct {
	listed     *tracker.Task
	collisions uint64
}

// collide records m, met claiming h, and reports whether it is a new meeting. Only the first
// refusal of a stretch is: the claims handed out before the feeder acted on it, and still
// under way when it did, were listed where the other pool works, and their refusals tell
// nothing new. Acting on them would move on again and again, past stretches no pool works.
func (c *counters) collide(h handout, m meeting) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.collisions.CompareAndSwap(h.collisions, h.collisions+1) {
		return false
	}
	c.meeting = m
	return true
}

// lastMeeting is the meeting collisions last counted.
func (c *counters) lastMeeting() meeting {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meeting
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
					p.one(ctx, &c, h, owner, who)
				} else {
					c.skipped.Add(1)
				}
				inflight.Done()
			}
		})
	}
	f := p.newFeeder(&c, tasks, &inflight, pageSize, workers)
	err := f.feed(ctx)
	close(tasks)
	wg.Wait()
	return c.stats(), err
}

// one claims the task handed out and runs it, as worker who of the pool named owner.
func (p *Pool) one(ctx context.Context, c *counters, h handout, owner, who string) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	lease, err := p.Tracker.ClaimListed(ctx, h.listed, who)
	if err != nil {
		// Another worker got there first, the task finished meanwhile, or a takeover found
		// its last attempt lost and ignored it: the listing was stale, nothing to do.
		c.refused.Add(1)
		m, met := meets(owner, h.listed.TaskID, err)
		if met && c.yielding.Load() {
			c.collide(h, m)
		}
		return
	}
	c.claimed.Add(1)
	outcome := execute(ctx, p.Tracker, lease, p.Handler, p.heartbeat(), false)
	c.busy.Add(int64(time.Since(start)))
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

// A meeting is what a claim refused because of another pool tells the feeder.
type meeting struct {
	at    string // the task
	leave bool   // leave the other pool the next tasks; otherwise list again after at
}

// meets reports whether a claim of task id, refused with err, by the pool named owner, met
// another pool: the task is held, or was finished, by a worker of a pool ("<name>/<n>",
// lock_owner) of another name. A finished task means the listing is stale there: the feeder
// lists again after it, and sees the other pool's wake. A held task means both work there
// now: of the two, the one whose name sorts first moves on, leaving the other the tasks it
// lists next, and the other stays.
func meets(owner, id string, err error) (meeting, bool) {
	ce, ok := errors.AsType[*tracker.ConflictError](err)
	if !ok || ce.Task == nil {
		return meeting{}, false
	}
	holder := ce.Task.LockOwner
	if i := strings.LastIndexByte(holder, '/'); i >= 0 {
		holder = holder[:i]
	}
	switch {
	case holder == "" || holder == owner:
		return meeting{}, false
	case errors.Is(err, tracker.ErrTaskAlreadySucceeded):
		return meeting{at: id}, true
	case errors.Is(err, tracker.ErrTaskLocked) && owner < holder:
		return meeting{at: id, leave: true}, true
	}
	return meeting{}, false
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
	o := execute(ctx, tr, lease, fn, tr.Config().LeaseDuration/3, true)
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

// execute runs fn under lease with a heartbeat and records what came of it. Without
// needTask, a completion returns no task (the pool counts outcomes, nothing more), which
// spares DynamoDB and the client the item.
func execute(ctx context.Context, tr *tracker.Tracker, lease *tracker.Lease, fn Handler, every time.Duration, needTask bool) outcome {
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
			done := bg
			if !needTask {
				done = writeopt.WithoutTask(bg)
			}
			task, err := w.retry(func() (*tracker.Task, error) { return tr.Complete(done, cur, result) })
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
