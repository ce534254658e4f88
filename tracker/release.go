package tracker

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Release hands a leased task back without counting a failure, for work that never got to
// run (the worker was throttled or unavailable, or the process is shutting down). It is one
// conditional write, applied only while the lease's token is the task's lock: it unlocks the
// task and sets it back to the status it had before the claim, todo when its retry counter is
// 0 and failed (due at once) otherwise. retry and the last error stay as they were (a task
// back to failed is in the failure index again, in its group); the claim's attempt stays
// counted in Attempts.
//
// Release is idempotent: replaying it with the same lease after it applied returns the task's
// current state. A lease that is no longer the lock gets a *ConflictError matching
// ErrLeaseLost (or ErrTaskAlreadySucceeded, ErrTaskIgnored, ErrTaskNotFound).
func (t *Tracker) Release(ctx context.Context, lease Lease) (*Task, error) {
	return t.ReleaseFor(ctx, lease, 0)
}

// ReleaseFor is Release with the task held back for wait (at most MaxBackoff): it is not
// claimed before its RetryAt, now plus wait, so that work a throttle kept from running is
// not claimed again at once to meet the same throttle. A failed task's wait shows in
// NextDue; so does a todo task's.
func (t *Tracker) ReleaseFor(ctx context.Context, lease Lease, wait time.Duration) (*Task, error) {
	if err := validateLease(lease); err != nil {
		return nil, err
	}
	if wait < 0 || wait > MaxBackoff {
		return nil, &ValidationError{Field: "wait", Reason: fmt.Sprintf("%v is out of range 0..%v", wait, MaxBackoff)}
	}
	r, err := t.ref(ctx, lease.JobID, lease.TaskID)
	if err != nil {
		return nil, err
	}
	codes := r.codes
	at := t.now()
	now := formatTime(at)
	// lease.Retry tells which status the task came from; a wrong guess costs one more write.
	order := []Status{Todo, Failed}
	if lease.Retry > 0 {
		order = []Status{Failed, Todo}
	}
	for i, back := range order {
		cond := held(lease.JobID, lease.Token, codes)
		if back == Todo {
			cond = cond.And(expression.Name(attrRetry).Equal(expression.Value(0)))
		} else {
			cond = cond.And(expression.Name(attrRetry).GreaterThan(expression.Value(0)))
		}
		update := setStatus(expression.UpdateBuilder{}, r, back, now).
			Set(expression.Name(attrLock), null).
			Set(expression.Name(attrLastLock), expression.Value(lease.Token)).
			Set(expression.Name(attrLastOutcome), expression.Value(outcomeRelease))
		if back == Failed {
			// Back in the failure index, with the failure its claim took it out with (a
			// failure the seed recorded has no failure_key: then no entry).
			update = update.Set(expression.Name(FailurePartAttribute), expression.Value(r.failurePart(Failed)))
		}
		if wait > 0 {
			update = update.Set(expression.Name(attrRetryAt), expression.Value(formatTime(at.Add(wait))))
		} else {
			update = update.Remove(expression.Name(attrRetryAt))
		}
		got, refused, err := t.apply(ctx, transition{op: "release", job: lease.JobID, task: lease.TaskID, cond: cond, update: update})
		if err != nil {
			return nil, err
		}
		if !refused {
			return got, nil
		}
		if replayOf(got, lease, outcomeRelease) {
			return got, nil
		}
		// Refused under our own lock: the retry counter said the other status (a second
		// write on that path, never a read first).
		if i == 0 && holds(got, lease.Token) {
			continue
		}
		return nil, t.leaseRefusal("release", lease, got)
	}
	return nil, t.leaseRefusal("release", lease, nil)
}
