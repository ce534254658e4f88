package tracker

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// A run (a state machine execution working a job, say) holds a lease on its job so that at
// most one run works a job at a time: a second run of a job that is running would page the
// same tasks and pay for every refused claim. The lease lives in the job's registry item, in
// the attributes a task's lease uses (lock, lock_time, lock_owner), fenced by its token as a
// task's is: it runs LeaseDuration + ClockSkew from its last renewal, a crashed run's lease
// expires, and a run whose lease another run took cannot renew it.

// RunLease is a run's hold on a job. Like a Lease it is plain data that travels through JSON
// (from one execution to the one it continues as).
type RunLease struct {
	JobID string `json:"job_id"`
	// Token is the registry item's lock while the run holds it: 32 lower-case hex characters.
	Token string `json:"token"`
	// Owner names the run (a Step Functions execution's ARN).
	Owner string `json:"owner"`
	// Expires is when the lease runs out unless renewed.
	Expires time.Time `json:"expires"`
}

// RunLiveError is AcquireRun refused: another run holds the job. It matches ErrRunLive.
type RunLiveError struct {
	JobID  string
	Holder RunHolder
}

func (e *RunLiveError) Error() string {
	return fmt.Sprintf("job %s: run %s holds it until %s", clip(e.JobID), clip(e.Holder.Owner), e.Holder.Expires.UTC().Format(time.RFC3339))
}

// Is reports whether target is ErrRunLive.
func (e *RunLiveError) Is(target error) bool { return target == ErrRunLive }

// AcquireRun takes job's run lease for owner, in one conditional write on the job's registry
// item (which it creates for a job that has none, one the seed created say): it applies only
// when no run holds the job or the holder's lease has run out. It also records the run's
// start (Job.LastRun). Refused, it returns a *RunLiveError matching ErrRunLive, naming the
// holder.
func (t *Tracker) AcquireRun(ctx context.Context, job, owner string) (*RunLease, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if len(owner) > MaxOwnerBytes {
		return nil, &ValidationError{Field: "owner", Reason: fmt.Sprintf("is over %d bytes", MaxOwnerBytes)}
	}
	now := t.now()
	stamp := formatTime(now)
	token := newToken()
	update := runUpdate(token, owner, stamp).
		Set(expression.Name(StatusAttribute), expression.Value(registryValue)).
		Set(expression.Name(attrCreateTime), expression.IfNotExists(expression.Name(attrCreateTime), expression.Value(stamp))).
		Set(expression.Name(attrUpdateTime), expression.IfNotExists(expression.Name(attrUpdateTime), expression.Value(stamp))).
		Set(expression.Name(attrLastRun), expression.Value(stamp))
	it, refused, err := t.writeRegistry(ctx, job, lockFree(t.lockedBefore(now)), update)
	if err != nil {
		return nil, fmt.Errorf("acquire the run lease of %s: %w", job, err)
	}
	if refused {
		j, err := it.job(t.expiry())
		if err != nil {
			return nil, err
		}
		return nil, &RunLiveError{JobID: job, Holder: j.Run}
	}
	return &RunLease{JobID: job, Token: token, Owner: owner, Expires: now.Add(t.cfg.LeaseDuration)}, nil
}

// RenewRun renews a run's lease for another lease duration, recording l.Owner as its holder
// (a run that continues as a new execution hands its lease to it this way). It is one
// conditional write that applies only while l.Token is the registry item's lock; otherwise it
// returns ErrRunLost wrapped with the holder. Renewing a lease that ran out but that no other
// run took succeeds.
func (t *Tracker) RenewRun(ctx context.Context, l RunLease) (*RunLease, error) {
	if err := validateRunLease(l); err != nil {
		return nil, err
	}
	now := t.now()
	it, refused, err := t.writeRegistry(ctx, l.JobID,
		expression.Name(attrLock).Equal(expression.Value(l.Token)),
		runUpdate(l.Token, l.Owner, formatTime(now)))
	if err != nil {
		return nil, fmt.Errorf("renew the run lease of %s: %w", l.JobID, err)
	}
	if refused {
		return nil, t.runLost(l, it)
	}
	l.Expires = now.Add(t.cfg.LeaseDuration)
	return &l, nil
}

// EndRun gives up a run's lease (one conditional write): the next run may start at once. It
// is idempotent; a lease another run took is left alone and ErrRunLost returned.
func (t *Tracker) EndRun(ctx context.Context, l RunLease) error {
	if err := validateRunLease(l); err != nil {
		return err
	}
	lock := expression.Name(attrLock)
	_, refused, err := t.writeRegistry(ctx, l.JobID,
		expression.Or(lock.Equal(expression.Value(l.Token)), lock.AttributeType(expression.Null), lock.AttributeNotExists()),
		expression.Set(lock, null))
	if err != nil {
		return fmt.Errorf("end the run lease of %s: %w", l.JobID, err)
	}
	if refused {
		return fmt.Errorf("job %s: %w", l.JobID, ErrRunLost)
	}
	return nil
}

// runUpdate is a run lease's write: the token, its holder and the time it was taken or
// renewed.
func runUpdate(token, owner, stamp string) expression.UpdateBuilder {
	return expression.Set(expression.Name(attrLock), expression.Value(token)).
		Set(expression.Name(attrLockTime), expression.Value(stamp)).
		Set(expression.Name(attrLockOwner), expression.Value(owner))
}

func (t *Tracker) runLost(l RunLease, it *jobItem) error {
	if it == nil {
		return fmt.Errorf("job %s: %w (the job is not registered)", l.JobID, ErrRunLost)
	}
	j, err := it.job(t.expiry())
	if err != nil {
		return err
	}
	return fmt.Errorf("job %s: %w to %s", l.JobID, ErrRunLost, clip(j.Run.Owner))
}

func validateRunLease(l RunLease) error {
	if err := ValidateJob(l.JobID); err != nil {
		return err
	}
	if len(l.Token) != 32 {
		return &ValidationError{Field: "run.token", Reason: "must be the 32-character lock AcquireRun returned"}
	}
	if len(l.Owner) > MaxOwnerBytes {
		return &ValidationError{Field: "run.owner", Reason: fmt.Sprintf("is over %d bytes", MaxOwnerBytes)}
	}
	return nil
}
