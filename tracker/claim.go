package tracker

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/google/uuid"
)

// maxClaimRounds bounds Claim's writes: the fresh claim, then a takeover (or the ignore of a
// poison task) chosen from the refused write, and one more if the task moved in between.
const maxClaimRounds = 3

// Claim takes the lease on a task that is ready to run, recording owner (a worker or
// execution id; may be empty) as its holder. It sets the task in progress with a fresh lock
// and lock time, and counts the attempt. It never reads before writing:
//
//   - The first write is a single conditional UpdateItem that claims a todo task, or a failed
//     task that is due (its RetryAt has passed), holding no live lock.
//   - When that write is refused and the item it returns shows a task in progress whose lease
//     ran out (its holder crashed or stalled), the lost attempt is a failure: a second
//     conditional write takes the task over and, in that same write, increments retry and
//     records an error naming the previous holder and when its lease ran out. If that
//     failure brings retry to MaxRetry the write sets the task ignored instead, and Claim
//     returns a *ConflictError matching ErrTaskIgnored: a task that kills its workers ends.
//
// Claim is safe to retry: the lock token is chosen before the write, so a claim whose answer
// was lost, and that the SDK sends again, recognises its own lock and returns the lease.
//
// A refusal is a *ConflictError matching ErrTaskNotFound, ErrTaskLocked (with the holder and
// the lease's end), ErrTaskNotDue (with the task's RetryAt), ErrTaskAlreadySucceeded,
// ErrTaskIgnored or ErrTaskWrongStatus.
func (t *Tracker) Claim(ctx context.Context, job, task, owner string) (*Lease, error) {
	return t.checkedClaim(ctx, job, task, owner, false)
}

// ClaimListed is Claim of a task as a listing returned it (List, IDsOnly or not): listed
// gives its job and id, and what the listing saw of it. A task listed todo, unlocked and
// without a retry time (never run, or released at once) is claimed by a first write that
// asks only that it still is: four clauses where Claim's condition has seven, and no
// retry time to remove. DynamoDB Local parses a write's expressions on every request, and a
// claim is half of a task's writes (docs/benchmarks.md); DynamoDB bills the same for both. A
// task that changed since the listing, and that Claim's write would still take (a retry time
// now due, an expired lock), is then claimed by that write: one more call. Whatever the
// listing saw, the outcome is Claim's: the first write takes only tasks that Claim takes.
func (t *Tracker) ClaimListed(ctx context.Context, listed *Task, owner string) (*Lease, error) {
	if listed == nil {
		return nil, &ValidationError{Field: "task_id", Reason: "no task given"}
	}
	return t.checkedClaim(ctx, listed.JobID, listed.TaskID, owner, listedNew(listed))
}

// listedNew reports whether a listing saw task todo, unlocked and without a retry time.
func listedNew(task *Task) bool {
	return task.Status == Todo && task.Lock == "" && task.RetryAt.IsZero()
}

// checkedClaim is Claim, or ClaimListed of a task listed new (fresh).
func (t *Tracker) checkedClaim(ctx context.Context, job, task, owner string, fresh bool) (*Lease, error) {
	if err := ValidateID(job, task); err != nil {
		return nil, err
	}
	if len(owner) > MaxOwnerBytes || !utf8.ValidString(owner) {
		return nil, &ValidationError{Field: "owner", Reason: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", MaxOwnerBytes)}
	}
	r, err := t.ref(ctx, job, task)
	if err != nil {
		return nil, err
	}
	return t.claim(ctx, r, owner, fresh)
}

// claim is Claim of a checked task; fresh, it first sends claimNewWrite.
func (t *Tracker) claim(ctx context.Context, r ref, owner string, fresh bool) (*Lease, error) {
	now := t.now()
	token := newToken()
	args := claimArgs{job: r.job, suffix: r.suffix, codes: r.codes, token: token, owner: owner, now: formatTime(now)}
	next, err := t.claimFirst(r, args, now, fresh)
	if err != nil {
		return nil, err
	}
	ignoring := false
	rounds := maxClaimRounds
	if fresh {
		rounds++
	}
	for range rounds {
		got, refused, err := t.apply(ctx, next)
		if err != nil {
			return nil, err
		}
		if ignoring && !refused {
			return nil, &ConflictError{Op: "claim", JobID: r.job, TaskID: r.task, Reason: ErrTaskIgnored, Task: got}
		}
		// Refused under our own token: an earlier send of this very write applied and its
		// answer was lost.
		if !refused || holds(got, token) {
			return &Lease{JobID: r.job, TaskID: r.task, Token: token, Retry: got.Retry, Attempt: got.Attempts, Owner: owner,
				Expires: now.Add(t.cfg.LeaseDuration), Task: got}, nil
		}
		if fresh {
			// The task is no longer as listed. If Claim's own write would take it, send that.
			fresh = false
			if t.firstWriteTakes(got, now) {
				if next, err = t.claimFirst(r, args, now, false); err != nil {
					return nil, err
				}
				continue
			}
		}
		if got == nil || got.Status != InProgress || got.Locked(now, t.expiry()) {
			return nil, t.refusal("claim", r.job, r.task, got, now)
		}
		// In progress under a lease that ran out: its attempt failed.
		ignoring = got.Retry+1 >= t.cfg.MaxRetry
		if ignoring {
			next = t.abandon(r, got, now)
		} else {
			next = t.takeover(r, got, now, token, owner)
		}
	}
	return nil, fmt.Errorf("claim %s/%s: the task kept changing under the claim", r.job, r.task)
}

// claimFirst is a claim's first write: claimNewWrite for a task listed new (fresh),
// claimWrite for any other.
func (t *Tracker) claimFirst(r ref, args claimArgs, now time.Time, fresh bool) (transition, error) {
	op, build := "claim", claimWrite
	if fresh {
		op, build = "claim-new", claimNewWrite
	} else {
		args.lockedBefore = t.lockedBefore(now)
	}
	expr, err := compile(t, op, r.codes, args, build)
	if err != nil {
		return transition{}, err
	}
	return transition{op: "claim", job: r.job, task: r.task, expr: expr}, nil
}

// firstWriteTakes reports whether claimWrite takes task, as a refused write returned it, at
// now: todo or failed, no live lock, due.
func (t *Tracker) firstWriteTakes(task *Task, now time.Time) bool {
	return task != nil && (task.Status == Todo || task.Status == Failed) && !task.Locked(now, t.expiry()) && !task.RetryAt.After(now)
}

// claimArgs are what a claim's first write is made of: the task's job, shard suffix and
// status codes (its ref, but for its id: that is the write's key), the new lock and its
// holder, the time, and the time at or before which a lock taken is no longer live.
type claimArgs struct {
	job, suffix       string
	codes             StatusCodes
	token, owner      string
	now, lockedBefore string
}

func (a *claimArgs) strings() []*string {
	return []*string{&a.job, &a.suffix, &a.token, &a.owner, &a.now, &a.lockedBefore}
}

// claimWrite is a claim's first write: it takes a todo task, or a failed one that is due,
// holding no live lock, and makes sure the task has a history for Fail to record in.
func claimWrite(a claimArgs) (expression.ConditionBuilder, expression.UpdateBuilder) {
	r := ref{job: a.job, codes: a.codes, suffix: a.suffix}
	return claimable(a.job, a.codes, a.now, a.lockedBefore, Todo, Failed),
		claimUpdate(r, a.token, a.owner, a.now).
			Set(expression.Name(attrHistory), expression.IfNotExists(expression.Name(attrHistory), emptyHistory))
}

// claimNewWrite is the first write of a claim of a task listed new: it takes the task only
// while it is todo (in the listed shard), unlocked and without a retry time, each a case of
// what claimWrite asks (claimable), so it takes no task that claimWrite would not. It writes
// what claimWrite does but the removal of a retry time that the task has not.
func claimNewWrite(a claimArgs) (expression.ConditionBuilder, expression.UpdateBuilder) {
	r := ref{job: a.job, codes: a.codes, suffix: a.suffix}
	lock := expression.Name(attrLock)
	cond := expression.Name(StatusAttribute).Equal(expression.Value(r.value(Todo))).
		And(expression.Or(lock.AttributeNotExists(), lock.AttributeType(expression.Null))).
		And(expression.Name(attrRetryAt).AttributeNotExists())
	return cond, claimSets(r, a.token, a.owner, a.now).
		Set(expression.Name(attrHistory), expression.IfNotExists(expression.Name(attrHistory), emptyHistory))
}

// claimUpdate is what every claim writes: claimSets, and no retry time.
func claimUpdate(r ref, token, owner, stamp string) expression.UpdateBuilder {
	return claimSets(r, token, owner, stamp).Remove(expression.Name(attrRetryAt))
}

// claimSets is what every claim writes but the removal of a retry time: in progress, our
// lock and lock time, the holder, one more attempt, out of the failure index (a task that
// never failed has no failure_part: removing it costs nothing).
func claimSets(r ref, token, owner, stamp string) expression.UpdateBuilder {
	update := setStatus(expression.UpdateBuilder{}, r, InProgress, stamp).
		Set(expression.Name(attrLock), expression.Value(token)).
		Set(expression.Name(attrLockTime), expression.Value(stamp)).
		Add(expression.Name(attrAttempts), expression.Value(1)).
		Remove(expression.Name(FailurePartAttribute))
	if owner != "" {
		return update.Set(expression.Name(attrLockOwner), expression.Value(owner))
	}
	return update.Remove(expression.Name(attrLockOwner))
}

// takeover claims a task whose holder's lease ran out, counting that holder's attempt as a
// failure in the same write. Its condition pins the task as old showed it (same lock, same
// retry, still in progress, lease still expired), so the recorded error is true.
func (t *Tracker) takeover(r ref, old *Task, now time.Time, token, owner string) transition {
	lost := t.leaseLostError(old)
	return transition{op: "claim", job: r.job, task: r.task,
		cond: t.abandoned(r, old, now),
		withHistory: func(path string, entry expression.OperandBuilder) expression.UpdateBuilder {
			return claimUpdate(r, token, owner, formatTime(now)).
				Set(expression.Name(attrRetry), expression.Value(old.Retry+1)).
				Set(expression.Name(attrErrors), expression.Value(encodeErrors(lost, maxErrorsBytes(r.job, r.task)))).
				Set(expression.Name(path), entry)
		},
		entry: encodeAttempt(Attempt{Attempt: old.Attempts, Time: now, Holder: old.LockOwner, Error: lost.Error}), attempt: old.Attempts}
}

// abandon sets ignored a task whose holder's lease ran out when that lost attempt is the
// one that reaches MaxRetry, under the same condition as takeover.
func (t *Tracker) abandon(r ref, old *Task, now time.Time) transition {
	lost := t.leaseLostError(old)
	return transition{op: "claim", job: r.job, task: r.task,
		cond: t.abandoned(r, old, now),
		withHistory: func(path string, entry expression.OperandBuilder) expression.UpdateBuilder {
			u := setStatus(expression.UpdateBuilder{}, r, Ignored, formatTime(now)).
				Set(expression.Name(attrLock), null).
				Set(expression.Name(attrRetry), expression.Value(old.Retry+1)).
				Set(expression.Name(attrErrors), expression.Value(encodeErrors(lost, maxErrorsBytes(r.job, r.task)))).
				Set(expression.Name(path), entry).
				Remove(expression.Name(attrRetryAt))
			return setFailure(u, r, Ignored, fingerprintOf(lost.Error, ""), now, lost.Error)
		},
		entry: encodeAttempt(Attempt{Attempt: old.Attempts, Time: now, Holder: old.LockOwner, Error: lost.Error}), attempt: old.Attempts}
}

// abandoned holds while the task is still in progress under old's lock and retry, and that
// lock is not live at the time of the claim.
func (t *Tracker) abandoned(r ref, old *Task, now time.Time) expression.ConditionBuilder {
	lock := expression.Name(attrLock)
	held := expression.Or(lock.AttributeNotExists(), lock.AttributeType(expression.Null))
	if old.Lock != "" {
		held = lock.Equal(expression.Value(old.Lock))
	}
	return statusIs(r.job, r.codes, InProgress).
		And(held).
		And(expression.Name(attrRetry).Equal(expression.Value(old.Retry))).
		And(lockFree(t.lockedBefore(now)))
}

// leaseLostError is the failure recorded for an attempt whose holder let its lease run out.
func (t *Tracker) leaseLostError(old *Task) TaskError {
	owner := old.LockOwner
	if owner == "" {
		owner = "an unnamed worker"
	}
	return TaskError{Error: fmt.Sprintf("lease lost: %s held the task and its lease ran out at %s without the task finishing",
		owner, formatTime(old.LockTime.Add(t.cfg.LeaseDuration)))}
}

// claimable is the condition that makes a task claimable at now (formatted), the one
// definition Claim writes under and a pending listing filters by: it is in one of statuses
// (so it exists: a missing item has no status), and claimableAt holds (no live lock, due). A
// lock taken before lockedBefore (now less the lease and the skew allowance) is no longer
// live.
func claimable(job string, codes StatusCodes, now, lockedBefore string, statuses ...Status) expression.ConditionBuilder {
	return statusIs(job, codes, statuses...).And(claimableAt(now, lockedBefore))
}

// Claimable reports whether Claim would take task now, by the same rule as its condition
// (claimable, and claimableFilter for the rest), for a task read whole: todo, failed and due,
// or in progress without a live lock.
func (t *Tracker) Claimable(task *Task) bool {
	now := t.now()
	return slices.Contains(claimableStatuses, task.Status) && !task.Locked(now, t.expiry()) && !task.RetryAt.After(now)
}

// claimableStatuses are the statuses Claim takes a task from: todo and failed by its first
// write (claimable), in progress by a takeover once the lease ran out (abandoned).
var claimableStatuses = []Status{Todo, Failed, InProgress}

// claimableFilter is what claimable asks of a task beside its existence and its status: no
// live lock (lockFree) and due. Listing pending tasks reads the index partitions of
// claimableStatuses filtered by it, since a query selects the status by its key condition and
// its filter may not name a key attribute; so List lists what Claim takes.
func (t *Tracker) claimableFilter(now time.Time) expression.ConditionBuilder {
	return claimableAt(formatTime(now), t.lockedBefore(now))
}

// lockedBefore is the time (formatted) at or before which a lock taken is no longer live at
// now: now less the lease and the skew allowance.
func (t *Tracker) lockedBefore(now time.Time) string { return formatTime(now.Add(-t.expiry())) }

// claimableAt is claimableFilter at now (formatted), for locks taken before lockedBefore.
func claimableAt(now, lockedBefore string) expression.ConditionBuilder {
	return lockFree(lockedBefore).And(due(now))
}

// lockFree holds when a task has no lock, a NULL lock (unlocked), or one taken at or before
// lockedBefore (now less the lease expiry: its holder is presumed dead), by the seed's rule.
func lockFree(lockedBefore string) expression.ConditionBuilder {
	lock := expression.Name(attrLock)
	return expression.Or(
		lock.AttributeNotExists(),
		lock.AttributeType(expression.Null),
		expression.Name(attrLockTime).LessThanEqual(expression.Value(lockedBefore)),
	)
}

// due holds when a task has no retry time or it is at or before now (formatted). Fail sets
// retry_at on a failed task and ReleaseFor on a todo one; every claim removes it, so on an
// in-progress task it is absent.
func due(now string) expression.ConditionBuilder {
	at := expression.Name(attrRetryAt)
	return expression.Or(at.AttributeNotExists(), at.LessThanEqual(expression.Value(now)))
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
