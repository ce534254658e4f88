package tracker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// transition is one conditional UpdateItem on one task.
type transition struct {
	op, job, task string
	cond          expression.ConditionBuilder
	update        expression.UpdateBuilder
	// expr, when set, is cond and update already built (compiled), and they are unset.
	expr *built
	// A transition that records a failed attempt sets entry (for attempt) in the history
	// instead: withHistory returns the whole update, with the entry set at path.
	withHistory func(path string, entry expression.OperandBuilder) expression.UpdateBuilder
	entry       string
	attempt     int
	// quiet asks DynamoDB to return nothing when the write applies: apply then returns a nil
	// task. A refused write still returns the task as it was.
	quiet bool
}

// apply runs the transition. On success it returns the task as written (nil when quiet).
// When the condition fails it returns refused=true and the task as it was (nil when there is
// no such item), read from the failed write itself (ReturnValuesOnConditionCheckFailure), not
// a second call.
//
// A history entry goes to its ring slot in the history list. On an item without a history
// (claimed by code that kept none, the seed's say) DynamoDB refuses that path, and apply
// writes again with the history started from the entry.
func (t *Tracker) apply(ctx context.Context, tr transition) (task *Task, refused bool, err error) {
	if tr.withHistory == nil {
		return t.write(ctx, tr)
	}
	tr.update = tr.withHistory(fmt.Sprintf("%s[%d]", attrHistory, historySlot(tr.attempt)), expression.Value(tr.entry))
	task, refused, err = t.write(ctx, tr)
	if err != nil && isMissingHistory(err) {
		tr.update = tr.withHistory(attrHistory, expression.Value(&types.AttributeValueMemberL{
			Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: tr.entry}}}))
		return t.write(ctx, tr)
	}
	return task, refused, err
}

// write sends the transition's UpdateItem.
func (t *Tracker) write(ctx context.Context, tr transition) (task *Task, refused bool, err error) {
	expr := tr.expr
	if expr == nil {
		e, err := expression.NewBuilder().WithCondition(tr.cond).WithUpdate(tr.update).Build()
		if err != nil {
			return nil, false, fmt.Errorf("%s %s/%s: build expression: %w", tr.op, tr.job, tr.task, err)
		}
		expr = &built{cond: e.Condition(), update: e.Update(), names: e.Names(), values: e.Values()}
	}
	returns := types.ReturnValueAllNew
	if tr.quiet {
		returns = types.ReturnValueNone
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(t.cfg.Table),
		Key:                                 keyAV(tr.job, tr.task),
		ConditionExpression:                 expr.cond,
		UpdateExpression:                    expr.update,
		ExpressionAttributeNames:            expr.names,
		ExpressionAttributeValues:           expr.values,
		ReturnValues:                        returns,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return nil, true, nil
		}
		old, derr := t.decodeTask(ccf.Item)
		if derr != nil {
			return nil, true, derr
		}
		return old, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s %s/%s: %w", tr.op, tr.job, tr.task, err)
	}
	if tr.quiet {
		return nil, false, nil
	}
	task, err = t.decodeTask(out.Attributes)
	return task, false, err
}

// refusal explains why a transition's condition failed, from the task as it was at now,
// the time the transition was written with (not read again: a lock live then may have run
// out since).
func (t *Tracker) refusal(op, job, id string, old *Task, now time.Time) error {
	e := &ConflictError{Op: op, JobID: job, TaskID: id, Task: old}
	switch {
	case old == nil:
		e.Reason = ErrTaskNotFound
	case old.Status == Succeeded:
		e.Reason = ErrTaskAlreadySucceeded
	case old.Status == Ignored:
		e.Reason = ErrTaskIgnored
	case old.Locked(now, t.expiry()):
		e.Reason = ErrTaskLocked
		e.LockExpires = old.LeaseExpires(t.expiry())
	case (old.Status == Failed || old.Status == Todo) && old.RetryAt.After(now):
		e.Reason = ErrTaskNotDue // failed, or handed back with a wait (ReleaseFor)
	default:
		e.Reason = ErrTaskWrongStatus
	}
	return e
}

// ref is a task as a write addresses it: its job and id, the job's status codes, the
// suffix of its index value after the status code (its shard; "" for an unsharded job), and
// its shard in the failure index.
type ref struct {
	job, task string
	codes     StatusCodes
	suffix    string
	fshard    int
}

// ref looks up what a write to job/task needs: the job's codes and shards (the registry,
// read once per job and remembered).
func (t *Tracker) ref(ctx context.Context, job, task string) (ref, error) {
	n, err := t.shards(ctx, job)
	if err != nil {
		return ref{}, err
	}
	return ref{job: job, task: task, codes: t.Codes(job), suffix: shardSuffix(task, n), fshard: ShardOf(task, FailureShards(n))}, nil
}

// value is the task's index value in status s.
func (r ref) value(s Status) string { return makeValue(r.job, r.codes.Code(s)) + r.suffix }

// statusIs holds when the task is in one of statuses: its index value starts with
// {job}____{code}, whatever shard follows (a writer that does not shard may have moved it to
// the unsharded value).
func statusIs(job string, codes StatusCodes, statuses ...Status) expression.ConditionBuilder {
	name := expression.Name(StatusAttribute)
	conds := make([]expression.ConditionBuilder, len(statuses))
	for i, s := range statuses {
		conds[i] = name.BeginsWith(makeValue(job, codes.Code(s)))
	}
	if len(conds) == 1 {
		return conds[0]
	}
	return expression.Or(conds[0], conds[1], conds[2:]...)
}

// setStatus sets the task's status (its index value, with its shard) and update time.
func setStatus(u expression.UpdateBuilder, r ref, s Status, now string) expression.UpdateBuilder {
	return u.Set(expression.Name(StatusAttribute), expression.Value(r.value(s))).
		Set(expression.Name(attrUpdateTime), expression.Value(now))
}

// null is the NULL attribute value the contract stores in `lock` once a task is unlocked.
var null = expression.Value(&types.AttributeValueMemberNULL{Value: true})
