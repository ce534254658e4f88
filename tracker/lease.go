package tracker

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// Lease is a worker's hold on a claimed task. Its Token is the task's lock; Complete, Fail,
// Extend and Release apply only while it still is (held). A Lease is plain data: it can travel
// through JSON (between Lambda steps, say) and be used by another process.
type Lease struct {
	JobID  string `json:"job_id"`
	TaskID string `json:"task_id"`
	// Token is the lock: 32 lower-case hex characters.
	Token string `json:"token"`
	// Retry is the task's retry counter when claimed. Fail uses it to decide, in its single
	// write, whether this failure makes the task ignored; a wrong value costs one more call.
	Retry int `json:"retry"`
	// Attempt is the claim's number among the task's claims (Task.Attempts), and Owner the
	// owner given to Claim: Fail records both in the task's history.
	Attempt int    `json:"attempt,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// Expires is when the lease runs out unless extended.
	Expires time.Time `json:"expires"`
	// Task is the task as the claim left it.
	Task *Task `json:"-"`
}

// validateLease refuses, before any write, a lease that no Claim can have returned.
func validateLease(l Lease) error {
	if err := ValidateID(l.JobID, l.TaskID); err != nil {
		return err
	}
	if len(l.Token) != 32 {
		return &ValidationError{Field: "lease.token", Reason: "must be the 32-character lock Claim returned"}
	}
	return nil
}

// expiry is how old a lock must be before another worker may take the task over: the lease
// and the allowance for clock skew between its holder and us.
func (t *Tracker) expiry() time.Duration { return t.cfg.LeaseDuration + t.cfg.ClockSkew }

// held is the condition every write under a lease applies on: the lease's token is still
// the task's lock and the task of job is still in progress.
func held(job, token string, codes StatusCodes) expression.ConditionBuilder {
	return expression.Name(attrLock).Equal(expression.Value(token)).And(statusIs(job, codes, InProgress))
}

// holds reports whether task, as a refused write returned it, is still in progress under
// token: the refusal was about something else than the lease (the retry counter, the time).
func holds(task *Task, token string) bool {
	return task != nil && task.Lock == token && task.Status == InProgress
}

// Outcomes recorded in last_outcome, so that a replayed Complete, Fail or
// Release is recognised (replayOf).
const (
	outcomeComplete = "complete"
	outcomeFail     = "fail"
	outcomeRelease  = "release"
)

// replayOf reports whether the task was last finished by this lease with this outcome and
// nobody holds it since: once another worker has locked it, the old lease has lost it.
func replayOf(task *Task, lease Lease, outcome string) bool {
	return task != nil && task.Lock == "" && task.lastLock == lease.Token && task.lastOutcome == outcome
}

// leaseRefusal explains why a write under a lease was refused: the task is gone, finished
// by someone else, or its lock is no longer the lease's token.
func (t *Tracker) leaseRefusal(op string, l Lease, old *Task) error {
	e := &ConflictError{Op: op, JobID: l.JobID, TaskID: l.TaskID, Task: old, Reason: ErrLeaseLost}
	switch {
	case old == nil:
		e.Reason = ErrTaskNotFound
	case old.Lock == l.Token:
		// Our lock, yet refused: the task left in-progress under us (an unknown code).
		e.Reason = ErrTaskWrongStatus
	case old.Status == Succeeded:
		e.Reason = ErrTaskAlreadySucceeded
	case old.Status == Ignored:
		e.Reason = ErrTaskIgnored
	}
	return e
}
