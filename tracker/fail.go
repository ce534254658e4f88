package tracker

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Failure describes a failed attempt: the error's message and its stack or trace text.
type Failure struct {
	Error     string
	Traceback string
	// Permanent says that no retry can cure the failure (a worker said so, by its error's
	// type or with worker.Permanent): Fail ignores the task at once, whatever its retry
	// counter, in the same write that records the failure.
	Permanent bool
}

// maxFailRounds bounds Fail's re-tries when the lease's Retry was out of date.
const maxFailRounds = 3

// Fail records a failed attempt of the leased task in one conditional write, applied only
// while the lease's token is the task's lock: it increments retry, stores the failure as the
// task's errors (the seed's {"error", "traceback"}, cut by its size as stored so that the
// item stays under DynamoDB's 400 KB whatever the task's data), adds it to the task's
// history (the last MaxHistory failures, each cut shorter), unlocks the task, and sets it
// failed with a RetryAt of now plus BackoffAfter(retry) (no run claims it before then), or
// ignored when retry reaches MaxRetry or the failure is Permanent. The failure is
// fingerprinted (package fingerprint): the fingerprint goes with the task's current failure
// into the failure index (see FailureIndexName) and with the attempt into its history.
//
// The write also checks that retry still equals lease.Retry, which is what lets it choose
// failed or ignored without reading first. If lease.Retry was out of date, Fail reads the true
// counter from the refused write and tries again (one more call).
//
// Fail is idempotent: replaying it with the same lease after it applied returns the task's
// current state and counts nothing. A lease that is no longer the lock gets a *ConflictError
// matching ErrLeaseLost (or ErrTaskAlreadySucceeded, ErrTaskIgnored, ErrTaskNotFound).
func (t *Tracker) Fail(ctx context.Context, lease Lease, failure Failure) (*Task, error) {
	if err := validateLease(lease); err != nil {
		return nil, err
	}
	errs := encodeErrors(TaskError{Error: failure.Error, Traceback: failure.Traceback}, maxErrorsBytes(lease.JobID, lease.TaskID))
	fp := fingerprintOf(failure.Error, failure.Traceback)
	r, err := t.ref(ctx, lease.JobID, lease.TaskID)
	if err != nil {
		return nil, err
	}
	codes := r.codes
	expected := lease.Retry
	for range maxFailRounds {
		at := t.now()
		now := formatTime(at)
		next := Failed
		if expected+1 >= t.cfg.MaxRetry || failure.Permanent {
			next = Ignored
		}
		cond := held(lease.JobID, lease.Token, codes).
			And(expression.Name(attrRetry).Equal(expression.Value(expected)))
		n := lease.Attempt
		if n == 0 { // a lease from before leases carried their attempt
			n = expected + 1
		}
		entry := encodeAttempt(Attempt{Attempt: n, Time: at, Holder: lease.Owner, Error: failure.Error, Traceback: failure.Traceback, Fingerprint: fp})
		// update is the failure's write, with the history entry set at path.
		update := func(path string, entry expression.OperandBuilder) expression.UpdateBuilder {
			u := setStatus(expression.UpdateBuilder{}, r, next, now).
				Set(expression.Name(attrRetry), expression.Value(expected+1)).
				Set(expression.Name(attrErrors), expression.Value(errs)).
				Set(expression.Name(attrLock), null).
				Set(expression.Name(attrLastLock), expression.Value(lease.Token)).
				Set(expression.Name(attrLastOutcome), expression.Value(outcomeFail)).
				Set(expression.Name(path), entry)
			u = setFailure(u, r, next, fp, at, failure.Error)
			if next == Failed {
				return u.Set(expression.Name(attrRetryAt), expression.Value(formatTime(at.Add(t.BackoffAfter(expected+1)))))
			}
			return u.Remove(expression.Name(attrRetryAt))
		}
		got, refused, err := t.apply(ctx, transition{op: "fail", job: lease.JobID, task: lease.TaskID, cond: cond,
			withHistory: update, entry: entry, attempt: n})
		if err != nil {
			return nil, err
		}
		if !refused {
			return got, nil
		}
		if replayOf(got, lease, outcomeFail) {
			return got, nil
		}
		if holds(got, lease.Token) && got.Retry != expected {
			expected = got.Retry
			continue
		}
		return nil, t.leaseRefusal("fail", lease, got)
	}
	return nil, fmt.Errorf("fail %s/%s: retry counter kept changing under the lease", lease.JobID, lease.TaskID)
}
