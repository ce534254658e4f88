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
type heartbeat struct {
	tr   *tracker.Tracker
	cfg  tracker.Config
	lose context.CancelCauseFunc // ends the handler's ctx

	mu      sync.Mutex
	lease   tracker.Lease
	failed  error       // the last extension's error when it failed and the deadline decides
	timer   *time.Timer // calls expire at the lease's deadline
	stopped bool

	stopBeats context.CancelFunc // ends the beats and an extension under way
	done      chan struct{}      // closed when the beats have ended
}

// startHeartbeat starts keeping lease, extending it every beat until stop is called or hctx
// (the handler's ctx, which lose ends) ends.
func startHeartbeat(hctx context.Context, tr *tracker.Tracker, lease tracker.Lease, every time.Duration, lose context.CancelCauseFunc) *heartbeat {
	// An extension goes on when the pool stops (ctx ends): only stop ends it.
	beatCtx, stopBeats := context.WithCancel(context.WithoutCancel(hctx))
	h := &heartbeat{tr: tr, cfg: tr.Config(), lose: lose, lease: lease, stopBeats: stopBeats, done: make(chan struct{})}
	h.mu.Lock()
	h.timer = time.AfterFunc(h.untilDeadline(), h.expire)
	h.mu.Unlock()
	go h.beat(hctx, beatCtx, every)
	return h
}

// beat extends the lease every beat. A refused extension ends the handler's ctx at once; a
// transient failure leaves it to the deadline.
func (h *heartbeat) beat(hctx, beatCtx context.Context, every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-hctx.Done():
			return
		case <-beatCtx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		cur := h.lease
		h.mu.Unlock()
		next, err := h.tr.Extend(beatCtx, cur)
		switch {
		case beatCtx.Err() != nil:
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
	}
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
	h.mu.Unlock()
	h.stopBeats()
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}
