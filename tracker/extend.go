package tracker

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Extend renews the lease for another lease duration (a heartbeat for long work) by moving
// the task's lock_time to now, which is also what the seed's code reads to tell a live lock.
// It is one conditional write that applies only while the lease's token is the lock and the
// task is in progress; otherwise it returns a *ConflictError matching ErrLeaseLost (or
// ErrTaskNotFound, ErrTaskAlreadySucceeded, ErrTaskIgnored). Extending an expired lease that nobody
// took over succeeds. Extend never moves lock_time back: when the stored lock time is later
// than this clock's now (the lease was extended by a clock that runs ahead), it leaves it and
// returns the lease as stored.
func (t *Tracker) Extend(ctx context.Context, lease Lease) (*Lease, error) {
	if err := validateLease(lease); err != nil {
		return nil, err
	}
	codes := t.Codes(lease.JobID)
	now := t.now()
	stamp := formatTime(now)
	cond := held(lease.JobID, lease.Token, codes).
		And(expression.Name(attrLockTime).LessThanEqual(expression.Value(stamp)))
	update := expression.Set(expression.Name(attrLockTime), expression.Value(stamp))
	got, refused, err := t.apply(ctx, transition{op: "extend", job: lease.JobID, task: lease.TaskID, cond: cond, update: update})
	if err != nil {
		return nil, err
	}
	if refused && !(holds(got, lease.Token) && got.LockTime.After(now)) {
		return nil, t.leaseRefusal("extend", lease, got)
	}
	out := lease
	out.Retry = got.Retry
	out.Expires = got.LockTime.Add(t.cfg.LeaseDuration)
	out.Task = got
	return &out, nil
}
