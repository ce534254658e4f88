package tracker

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Complete marks the leased task succeeded, unlocks it and resets its retry counter, in one
// conditional write that applies only while the lease's token is the task's lock. A non-nil
// result (a JSON object) replaces the task's data, as the seed's set_data does; nil keeps it.
//
// Complete is idempotent: replaying it with the same lease after it applied returns the
// task's current state and no error. A lease that is no longer the lock gets a *ConflictError
// matching ErrLeaseLost (or ErrTaskAlreadySucceeded, ErrTaskIgnored, ErrTaskNotFound) and writes
// nothing.
func (t *Tracker) Complete(ctx context.Context, lease Lease, result json.RawMessage) (*Task, error) {
	if err := validateLease(lease); err != nil {
		return nil, err
	}
	data, err := NormalizeData(result)
	if err != nil {
		return nil, err
	}
	r, err := t.ref(ctx, lease.JobID, lease.TaskID)
	if err != nil {
		return nil, err
	}
	expr, err := t.compiled("complete", r.codes, []string{lease.JobID, lease.Token, formatTime(t.now()), string(data), r.suffix}, completeWrite(r.codes))
	if err != nil {
		return nil, err
	}
	got, refused, err := t.apply(ctx, transition{op: "complete", job: lease.JobID, task: lease.TaskID, expr: expr})
	if err != nil {
		return nil, err
	}
	if refused {
		if replayOf(got, lease, outcomeComplete) {
			return got, nil
		}
		return nil, t.leaseRefusal("complete", lease, got)
	}
	return got, nil
}

// completeWrite builds a completion from its arguments (job, token, the time, the data, empty
// to keep the task's, and the task's shard suffix): succeeded, unlocked, retry 0, the lease
// recorded as the last.
func completeWrite(codes StatusCodes) func(a []string) (expression.ConditionBuilder, expression.UpdateBuilder) {
	return func(a []string) (expression.ConditionBuilder, expression.UpdateBuilder) {
		job, token, now, data, suffix := a[0], a[1], a[2], a[3], a[4]
		update := setStatus(expression.UpdateBuilder{}, ref{job: job, codes: codes, suffix: suffix}, Succeeded, now).
			Set(expression.Name(attrLock), null).
			Set(expression.Name(attrRetry), expression.Value(0)).
			Set(expression.Name(attrLastLock), expression.Value(token)).
			Set(expression.Name(attrLastOutcome), expression.Value(outcomeComplete)).
			Remove(expression.Name(attrRetryAt))
		if data != "" {
			update = update.Set(expression.Name(attrData), expression.Value(data))
		}
		return held(job, token, codes), update
	}
}
