package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// skewAllowance is how long before its lease's end (Lease.Expires) a handler's ctx ends:
// the tracker's ClockSkew, at most a tenth of the lease. Another worker takes a task over
// only once its own clock is ClockSkew past the lease's end: with clocks at most ClockSkew
// apart, not before the lease's end by this worker's clock. Ending the ctx that much
// earlier leaves the handler time to return before anyone else may start the task.
func skewAllowance(cfg tracker.Config) time.Duration {
	return min(cfg.ClockSkew, cfg.LeaseDuration/10)
}

// heartbeat keeps a running task's lease: it extends it every so often, and ends the
// handler's ctx (with a cause matching ErrLeaseLost) when an extension is refused, or when
// the lease's deadline, its end less the skew allowance, passes before an extension moved
// it. The deadline is kept by a timer of its own, so that it holds while an extension is
// slow (throttled, say) or between two beats; it is timed by the tracker's clock.
//
// The beats are a timer too, not a goroutine with a ticker: most tasks end before their
// first beat, and starting and stopping a heartbeat that way cost twice the CPU time (3.0
// against 1.4 µs on this project's 2-core machine), on every task a pool runs.
type heartbeat struct {
	tr    *tracker.Tracker
	cfg   tracker.Config
	lose  context.CancelCauseFunc // ends the handler's ctx
	hctx  context.Context         // the handler's ctx: no beat once it ended
	every time.Duration

	mu      sync.Mutex
	lease   tracker.Lease
	failed  error       // the last extension's error when it failed and the deadline decides
	timer   *time.Timer // calls expire at the lease's deadline
	beats   *time.Timer // calls beat at the next beat
	next    time.Time   // when the next beat is due, on the monotonic clock
	stopped bool

	beatCtx   context.Context    // an extension's: ends with stop, not with the pool
	stopBeats context.CancelFunc // ends an extension under way
	pending   sync.WaitGroup     // a beat set or under way
}

// startHeartbeat starts keeping lease, extending it every beat until stop is called or hctx
// (the handler's ctx, which lose ends) ends.
func startHeartbeat(hctx context.Context, tr *tracker.Tracker, lease tracker.Lease, every time.Duration, lose context.CancelCauseFunc) *heartbeat {
	// An extension goes on when the pool stops (ctx ends): only stop ends it.
	beatCtx, stopBeats := context.WithCancel(context.WithoutCancel(hctx))
	h := &heartbeat{tr: tr, cfg: tr.Config(), lose: lose, hctx: hctx, every: every, lease: lease,
		beatCtx: beatCtx, stopBeats: stopBeats, next: time.Now().Add(every)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer = time.AfterFunc(h.untilDeadline(), h.expire)
	h.pending.Add(1)
	h.beats = time.AfterFunc(every, h.beat)
	return h
}

// beat extends the lease, and sets the next beat unless the heartbeat stopped or the
// handler's ctx ended. A refused extension ends the handler's ctx at once; a transient
// failure leaves it to the deadline. Beats come every beat from the start, as a ticker's
// would: one that comes late (after a slow extension) is followed by the next on time, not
// a beat later.
func (h *heartbeat) beat() {
	defer h.pending.Done()
	h.mu.Lock()
	cur, stopped := h.lease, h.stopped
	h.mu.Unlock()
	if stopped || h.hctx.Err() != nil {
		return
	}
	next, err := h.tr.Extend(h.beatCtx, cur)
	switch {
	case h.beatCtx.Err() != nil:
		return
	case err == nil:
		h.extended(*next)
	case tracker.IsTransient(err):
		h.mu.Lock()
		h.failed = err
		h.mu.Unlock()
	default:
		if !errors.Is(err, ErrLeaseLost) { // refused for another reason: the task was ignored, say
			err = fmt.Errorf("%w: %w", ErrLeaseLost, err)
		}
		h.lose(err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || h.hctx.Err() != nil {
		return
	}
	now := time.Now()
	for !h.next.After(now) {
		h.next = h.next.Add(h.every)
	}
	h.pending.Add(1)
	h.beats.Reset(h.next.Sub(now))
}

// extended takes the extended lease and moves the deadline with it.
func (h *heartbeat) extended(lease tracker.Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lease, h.failed = lease, nil
	if !h.stopped {
		h.timer.Reset(h.untilDeadline())
	}
}

// expire ends the handler's ctx when the lease's deadline has passed: the timer's.
func (h *heartbeat) expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	// An extension may have moved the deadline as the timer fired, or the clock (the
	// tracker's, a wall clock) may lag the timer's: then wait on.
	if wait := h.untilDeadline(); wait > 0 {
		h.timer.Reset(wait)
		return
	}
	cause := fmt.Errorf("%w: no extension got through before %s (the lease's end less the clock skew allowance)",
		ErrLeaseLost, h.end().UTC().Format(time.RFC3339Nano))
	if h.failed != nil {
		cause = fmt.Errorf("%w; the last one failed: %w", cause, h.failed)
	}
	h.lose(cause)
}

// end is the lease's deadline: its end less the skew allowance. The caller holds h.mu.
func (h *heartbeat) end() time.Time { return h.lease.Expires.Add(-skewAllowance(h.cfg)) }

// untilDeadline is how long the lease has until its deadline, by the tracker's clock. The
// caller holds h.mu.
func (h *heartbeat) untilDeadline() time.Duration { return h.end().Sub(h.cfg.Now()) }

// deadline is the lease's deadline, as last extended.
func (h *heartbeat) deadline() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.end()
}

// stop ends the heartbeat (an extension under way included) and returns the lease as last
// extended. Once it returns, the handler's ctx ends no more for the lease.
func (h *heartbeat) stop() tracker.Lease {
	h.mu.Lock()
	h.stopped = true
	h.timer.Stop()
	if h.beats.Stop() {
		h.pending.Done() // the beat that was set will not come
	}
	h.mu.Unlock()
	h.stopBeats()
	h.pending.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}
