package tracker

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Retry puts a failed or ignored task back to todo so the next run claims it, in one
// conditional write. It resets the retry counter to 0, so the task gets MaxRetry fresh
// attempts (an ignored task kept at MaxRetry would be ignored again after one failure), and
// takes it out of the failure index: its failure is history now, kept in its history and in
// the seed's errors attribute (the seed never clears it). Any other status gets a
// *ConflictError matching ErrTaskWrongStatus, ErrTaskAlreadySucceeded or ErrTaskNotFound.
func (t *Tracker) Retry(ctx context.Context, job, task string) (*Task, error) {
	if err := ValidateID(job, task); err != nil {
		return nil, err
	}
	r, err := t.ref(ctx, job, task)
	if err != nil {
		return nil, err
	}
	cond := statusIs(job, r.codes, Failed, Ignored)
	update := clearFailure(setStatus(expression.UpdateBuilder{}, r, Todo, formatTime(t.now())).
		Set(expression.Name(attrRetry), expression.Value(0)).
		Set(expression.Name(attrLock), null).
		Remove(expression.Name(attrRetryAt)))
	got, refused, err := t.apply(ctx, transition{op: "retry", job: job, task: task, cond: cond, update: update})
	if err != nil {
		return nil, err
	}
	if refused {
		e := t.refusal("retry", job, task, got, t.now()).(*ConflictError)
		if e.Reason == ErrTaskIgnored || e.Reason == ErrTaskLocked {
			e.Reason = ErrTaskWrongStatus // only reachable for an unknown code or a lock on todo
		}
		return nil, e
	}
	return got, nil
}

// Ignore sets a task that has not succeeded to ignored and drops any lock, in one
// conditional write, so no run claims it again until an operator retries it. A worker that
// still holds a lease on it then gets ErrTaskIgnored from Complete or Fail. Ignoring an
// ignored task is a no-op that succeeds; a succeeded task gets a *ConflictError matching
// ErrTaskAlreadySucceeded. A task whose last attempt failed stays in its failure's group, as
// ignored.
func (t *Tracker) Ignore(ctx context.Context, job, task string) (*Task, error) {
	if err := ValidateID(job, task); err != nil {
		return nil, err
	}
	r, err := t.ref(ctx, job, task)
	if err != nil {
		return nil, err
	}
	cond := expression.Name(KeyAttribute).AttributeExists().
		And(expression.Not(statusIs(job, r.codes, Succeeded)))
	update := setStatus(expression.UpdateBuilder{}, r, Ignored, formatTime(t.now())).
		Set(expression.Name(attrLock), null).
		Set(expression.Name(FailurePartAttribute), expression.Value(r.failurePart(Ignored))).
		Remove(expression.Name(attrRetryAt))
	got, refused, err := t.apply(ctx, transition{op: "ignore", job: job, task: task, cond: cond, update: update})
	if err != nil {
		return nil, err
	}
	if refused {
		return nil, t.refusal("ignore", job, task, got, t.now())
	}
	return got, nil
}

// DeleteJob deletes every task of a job (in any of the job's status codes), in
// BatchWriteItem calls of 25, and returns how many it deleted. It is meant for finished or
// abandoned jobs: a worker still holding a lease then gets ErrTaskNotFound. It removes the
// job from the registry too, and the records of its bulk actions.
func (t *Tracker) DeleteJob(ctx context.Context, job string) (int, error) {
	if err := ValidateJob(job); err != nil {
		return 0, err
	}
	codes := t.Codes(job)
	shards, err := t.shards(ctx, job)
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, s := range Statuses() {
		err := t.queryPartitions(ctx, indexQuery{projection: []string{KeyAttribute}}, partitions(job, codes.Code(s), shards), func(out *dynamodb.QueryOutput) error {
			writes := make([]types.WriteRequest, 0, len(out.Items))
			for _, it := range out.Items {
				writes = append(writes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
					Key: map[string]types.AttributeValue{KeyAttribute: it[KeyAttribute]}}})
			}
			if err := t.batchWrite(ctx, writes); err != nil {
				return err
			}
			deleted += len(writes)
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("delete job %s: %w", job, err)
		}
	}
	// The records of its bulk actions.
	err = t.queryAll(ctx, indexQuery{value: bulkValue(job), projection: []string{KeyAttribute}}, func(out *dynamodb.QueryOutput) error {
		writes := make([]types.WriteRequest, 0, len(out.Items))
		for _, it := range out.Items {
			writes = append(writes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{KeyAttribute: it[KeyAttribute]}}})
		}
		return t.batchWrite(ctx, writes)
	})
	if err != nil {
		return deleted, fmt.Errorf("delete job %s's bulk actions: %w", job, err)
	}
	for _, key := range []string{registryKey(job), legacyRegistryKey + job} {
		if _, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.cfg.Table), Key: keyAVRaw(key)}); err != nil {
			return deleted, fmt.Errorf("delete job %s from the registry: %w", job, err)
		}
	}
	t.rememberShards(job, shardEntry{shards: 1, until: t.cfg.Now().Add(unregisteredTTL)})
	return deleted, nil
}
