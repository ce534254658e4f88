package tracker

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Outcomes recorded in last_outcome, so a replayed Complete or Fail is recognised.
const (
	outcomeComplete = "complete"
	outcomeFail     = "fail"
	outcomeRelease  = "release"
)

// Complete marks the leased task succeeded, unlocks it and resets its retry counter, in one
// conditional write that applies only while the lease's token is the task's lock. A non-nil
// result (a JSON object) replaces the task's data, as the seed's set_data does; nil keeps it.
//
// Complete is idempotent: replaying it with the same lease after it applied returns the
// task's current state and no error. A lease that is no longer the lock gets a *ConflictError
// matching ErrLeaseLost (or ErrTaskSucceeded, ErrTaskIgnored, ErrTaskNotFound) and writes
// nothing.
func (t *Tracker) Complete(ctx context.Context, lease Lease, result json.RawMessage) (*Task, error) {
	if err := validateLease(lease); err != nil {
		return nil, err
	}
	data, err := NormalizeData(result)
	if err != nil {
		return nil, err
	}
	codes := t.Codes(lease.JobID)
	now := formatTime(t.now())
	cond := expression.Name(attrLock).Equal(expression.Value(lease.Token)).
		And(statusIs(lease.JobID, codes, InProgress))
	update := setStatus(expression.UpdateBuilder{}, lease.JobID, codes, Succeeded, now).
		Set(expression.Name(attrLock), null).
		Set(expression.Name(attrRetry), expression.Value(0)).
		Set(expression.Name(attrLastLock), expression.Value(lease.Token)).
		Set(expression.Name(attrLastOutcome), expression.Value(outcomeComplete)).
		Remove(expression.Name(attrRetryAt))
	if data != nil {
		update = update.Set(expression.Name(attrData), expression.Value(string(data)))
	}
	got, refused, err := t.apply(ctx, transition{op: "complete", job: lease.JobID, task: lease.TaskID, cond: cond, update: update})
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

// replayOf reports whether the task was last finished by this lease with this outcome and
// nobody holds it since: once another worker has locked it, the old lease has lost it.
func replayOf(task *Task, lease Lease, outcome string) bool {
	return task != nil && task.Lock == "" && task.lastLock == lease.Token && task.lastOutcome == outcome
}

func validateLease(l Lease) error {
	if err := ValidateID(l.JobID, l.TaskID); err != nil {
		return err
	}
	if len(l.Token) != 32 {
		return &ValidationError{Field: "lease.token", Reason: "must be the 32-character lock Claim returned"}
	}
	return nil
}
