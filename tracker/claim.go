package tracker

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/google/uuid"
)

// Lease is a worker's hold on a claimed task. Its Token is the task's lock; Complete, Fail and
// Extend apply only while it still is. A Lease is plain data: it can travel through JSON
// (between Lambda steps, say) and be used by another process.
type Lease struct {
	JobID  string `json:"job_id"`
	TaskID string `json:"task_id"`
	// Token is the lock: 32 lower-case hex characters.
	Token string `json:"token"`
	// Retry is the task's retry counter when claimed. Fail uses it to decide, in its single
	// write, whether this failure makes the task ignored; a wrong value costs one more call.
	Retry int `json:"retry"`
	// Expires is when the lease runs out unless extended.
	Expires time.Time `json:"expires"`
	// Task is the task as the claim left it.
	Task *Task `json:"-"`
}

// Claim takes the lease on a task that is ready to run, recording owner (a worker or
// execution id; may be empty) as its holder. It is a single conditional UpdateItem with no
// read before it: it succeeds only when the task exists, is todo, failed, or in progress, and
// holds no live lock (none, or one older than the lease duration: a crashed worker's task is
// taken over), and, when failed, is due (its RetryAt has passed). It sets the task in progress with a fresh lock and lock time, and counts the
// attempt.
//
// A refusal is a *ConflictError matching ErrTaskNotFound, ErrTaskLocked (with the holder and
// the lease's end), ErrTaskNotDue (with the task's RetryAt), ErrTaskSucceeded,
// ErrTaskIgnored or ErrWrongStatus.
func (t *Tracker) Claim(ctx context.Context, job, task, owner string) (*Lease, error) {
	if err := ValidateID(job, task); err != nil {
		return nil, err
	}
	codes := t.Codes(job)
	now := t.now()
	token := newToken()
	stamp := formatTime(now)
	lockName := expression.Name(attrLock)
	cond := t.claimable(job, codes, now)
	update := setStatus(expression.UpdateBuilder{}, job, codes, InProgress, stamp).
		Set(lockName, expression.Value(token)).
		Set(expression.Name(attrLockTime), expression.Value(stamp)).
		Add(expression.Name(attrAttempts), expression.Value(1)).
		Remove(expression.Name(attrRetryAt))
	if owner != "" {
		update = update.Set(expression.Name(attrLockOwner), expression.Value(owner))
	} else {
		update = update.Remove(expression.Name(attrLockOwner))
	}
	got, refused, err := t.apply(ctx, transition{op: "claim", job: job, task: task, cond: cond, update: update})
	if err != nil {
		return nil, err
	}
	if refused {
		return nil, t.refusal("claim", job, task, got)
	}
	return &Lease{JobID: job, TaskID: task, Token: token, Retry: got.Retry, Expires: now.Add(t.cfg.LeaseDuration), Task: got}, nil
}

// claimable is the condition that makes a task claimable at now, the one definition Claim
// writes under and Pending lists by: it exists, is todo, failed or in progress, holds no live
// lock, and is due.
func (t *Tracker) claimable(job string, codes StatusCodes, now time.Time) expression.ConditionBuilder {
	return expression.Name(KeyAttribute).AttributeExists().
		And(statusIs(job, codes, Todo, Failed, InProgress)).
		And(t.lockFree(now)).
		And(due(now))
}

// Claimable reports whether Claim would take task now, by the same rule as its condition
// (claimable), for a task read whole: todo, failed and due, or in progress without a live
// lock.
func (t *Tracker) Claimable(task *Task) bool {
	now := t.now()
	switch task.Status {
	case Todo, Failed, InProgress:
	default:
		return false
	}
	return !task.Locked(now, t.cfg.LeaseDuration) && !task.RetryAt.After(now)
}

// lockFree holds when a task has no lock, a NULL lock (unlocked), or one older than the
// lease duration (its holder is presumed dead), by the seed's rule.
func (t *Tracker) lockFree(now time.Time) expression.ConditionBuilder {
	lock := expression.Name(attrLock)
	return expression.Or(
		lock.AttributeNotExists(),
		lock.AttributeType(expression.Null),
		expression.Name(attrLockTime).LessThanEqual(expression.Value(formatTime(now.Add(-t.cfg.LeaseDuration)))),
	)
}

// due holds when a task has no retry time or it has passed. Only Fail sets retry_at, and
// every transition out of failed removes it, so on a todo or in-progress task it is absent.
func due(now time.Time) expression.ConditionBuilder {
	at := expression.Name(attrRetryAt)
	return expression.Or(at.AttributeNotExists(), at.LessThanEqual(expression.Value(formatTime(now))))
}

// newToken returns a lock: a random UUID as 32 lower-case hex characters, as the seed writes.
func newToken() string {
	u := uuid.New()
	const hex = "0123456789abcdef"
	b := make([]byte, 32)
	for i, c := range u {
		b[2*i], b[2*i+1] = hex[c>>4], hex[c&0x0f]
	}
	return string(b)
}
