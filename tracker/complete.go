package tracker

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/writeopt"
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
	expr, err := compile(t, "complete", r.codes, completeArgs{job: lease.JobID, suffix: r.suffix, codes: r.codes,
		token: lease.Token, now: formatTime(t.now()), data: string(data)}, completeWrite)
	if err != nil {
		return nil, err
	}
	// A caller of this module that needs nothing back (the worker pool) says so through ctx:
	// the write then returns nothing, nor does Complete.
	got, refused, err := t.apply(ctx, transition{op: "complete", job: lease.JobID, task: lease.TaskID, expr: expr, quiet: !writeopt.TaskWanted(ctx)})
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

// completeArgs are what a completion is made of: the task's job, shard suffix and status
// codes, the lease's token, the time, and the data (empty to keep the task's).
type completeArgs struct {
	job, suffix string
	codes       StatusCodes
	token, now  string
	data        string
}

func (a *completeArgs) strings() []*string {
	return []*string{&a.job, &a.suffix, &a.token, &a.now, &a.data}
}

// completeWrite is a completion: under the lease, succeeded, unlocked, retry 0, the lease
// recorded as the last. It leaves retry_at alone: every claim removes it, and nothing sets it
// on a task in progress.
func completeWrite(a completeArgs) (expression.ConditionBuilder, expression.UpdateBuilder) {
	update := setStatus(expression.UpdateBuilder{}, ref{job: a.job, codes: a.codes, suffix: a.suffix}, Succeeded, a.now).
		Set(expression.Name(attrLock), null).
		Set(expression.Name(attrRetry), expression.Value(0)).
		Set(expression.Name(attrLastLock), expression.Value(a.token)).
		Set(expression.Name(attrLastOutcome), expression.Value(outcomeComplete))
	if a.data != "" {
		update = update.Set(expression.Name(attrData), expression.Value(a.data))
	}
	return held(a.job, a.token, a.codes), update
}
