package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NewTask is a task to create: its id and optional data (a JSON object).
type NewTask struct {
	ID   string          `json:"task_id"`
	Data json.RawMessage `json:"data,omitempty"`
}

// CreateResult says what CreateTasks did with each task id.
type CreateResult struct {
	// Created lists the ids written as new todo tasks.
	Created []string
	// Existing lists the ids that were already in the table and were left untouched.
	Existing []string
}

// Batch limits of DynamoDB.
const (
	batchWriteSize = 25
	batchGetSize   = 100
	batchRounds    = 8
)

// CreateTask writes a new todo task in one conditional PutItem, after recording its job in
// the registry (see Jobs) with one UpdateItem. An existing task is never
// overwritten: CreateTask then returns a *ConflictError matching ErrTaskExists that holds the
// task as it is.
func (t *Tracker) CreateTask(ctx context.Context, job, id string, data json.RawMessage) (*Task, error) {
	norm, err := checkNew(job, NewTask{ID: id, Data: data})
	if err != nil {
		return nil, err // nothing is written for a task that is invalid
	}
	shards, err := t.registered(ctx, job)
	if err != nil {
		return nil, err
	}
	av, err := t.newItem(job, id, norm, shards)
	if err != nil {
		return nil, err
	}
	expr, err := expression.NewBuilder().WithCondition(expression.Name(KeyAttribute).AttributeNotExists()).Build()
	if err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", job, id, err)
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(t.cfg.Table),
		Item:                                av,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		old, derr := t.decodeTask(ccf.Item)
		if derr != nil {
			return nil, derr
		}
		return nil, &ConflictError{Op: "create", JobID: job, TaskID: id, Reason: ErrTaskExists, Task: old}
	}
	if err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", job, id, err)
	}
	return t.decodeTask(av)
}

// CreateTasks creates many todo tasks of a job in batches. It validates every task first and
// writes nothing if any id or data is invalid or an id repeats. It records the job in the
// registry (see Jobs), then looks up which ids
// already exist (consistent BatchGetItem, 100 keys a call) and writes only the new ones with
// BatchWriteItem, 25 a call, retrying unprocessed items with backoff. Existing tasks are never
// reset: they are reported in CreateResult.Existing.
//
// BatchWriteItem cannot be conditional, so a task that another writer creates for the same
// id between the look-up and the write is overwritten with a fresh todo task; use CreateTask
// when writers race on the same ids.
func (t *Tracker) CreateTasks(ctx context.Context, job string, tasks []NewTask) (*CreateResult, error) {
	data := make([]json.RawMessage, len(tasks))
	seen := make(map[string]int, len(tasks))
	for i, nt := range tasks {
		norm, err := checkNew(job, nt)
		if err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				return nil, &ValidationError{Field: fmt.Sprintf("tasks[%d].%s", i, ve.Field), Reason: ve.Reason}
			}
			return nil, err
		}
		if j, dup := seen[nt.ID]; dup {
			return nil, &ValidationError{Field: fmt.Sprintf("tasks[%d].task_id", i), Reason: fmt.Sprintf("%q repeats tasks[%d]", clip(nt.ID), j)}
		}
		seen[nt.ID] = i
		data[i] = norm
	}
	shards, err := t.registered(ctx, job)
	if err != nil {
		return nil, err
	}
	items := make([]map[string]types.AttributeValue, len(tasks))
	for i, nt := range tasks {
		if items[i], err = t.newItem(job, nt.ID, data[i], shards); err != nil {
			return nil, err
		}
	}
	existing, err := t.existingKeys(ctx, job, tasks)
	if err != nil {
		return nil, err
	}
	res := &CreateResult{}
	var writes []types.WriteRequest
	for i, nt := range tasks {
		if existing[makeKey(job, nt.ID)] {
			res.Existing = append(res.Existing, nt.ID)
			continue
		}
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: items[i]}})
		res.Created = append(res.Created, nt.ID)
	}
	if err := t.batchWrite(ctx, writes); err != nil {
		return nil, fmt.Errorf("create tasks of %s: %w", job, err)
	}
	return res, nil
}

// registered registers job (once per Tracker) and returns its shards.
func (t *Tracker) registered(ctx context.Context, job string) (int, error) {
	if err := t.register(ctx, job); err != nil {
		return 0, err
	}
	return t.shards(ctx, job)
}

// checkNew validates a new task and returns its data normalised (NormalizeData).
func checkNew(job string, nt NewTask) (json.RawMessage, error) {
	if err := ValidateID(job, nt.ID); err != nil {
		return nil, err
	}
	return NormalizeData(nt.Data)
}

// newItem is the stored form of a new todo task of a job of shards, with data normalised.
func (t *Tracker) newItem(job, id string, data json.RawMessage, shards int) (map[string]types.AttributeValue, error) {
	now := formatTime(t.now())
	it := item{
		Key:        makeKey(job, id),
		Value:      makeValue(job, t.Codes(job).Todo) + shardSuffix(id, shards),
		UpdateTime: now,
		LockTime:   formatTime(epoch),
		CreateTime: now,
	}
	if data != nil {
		s := string(data)
		it.Data = &s
	}
	return attributevalue.MarshalMap(it)
}

// existingKeys returns the keys of tasks that are already in the table.
func (t *Tracker) existingKeys(ctx context.Context, job string, tasks []NewTask) (map[string]bool, error) {
	found := map[string]bool{}
	proj, err := expression.NewBuilder().WithProjection(expression.NamesList(expression.Name(KeyAttribute))).Build()
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(tasks); start += batchGetSize {
		end := min(start+batchGetSize, len(tasks))
		keys := make([]map[string]types.AttributeValue, 0, end-start)
		for _, nt := range tasks[start:end] {
			keys = append(keys, keyAV(job, nt.ID))
		}
		req := map[string]types.KeysAndAttributes{t.cfg.Table: {
			Keys: keys, ConsistentRead: aws.Bool(true),
			ProjectionExpression: proj.Projection(), ExpressionAttributeNames: proj.Names(),
		}}
		for round := 0; len(req) > 0; round++ {
			if round == batchRounds {
				return nil, errUnprocessed
			}
			if err := backoff(ctx, round); err != nil {
				return nil, err
			}
			out, err := t.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("look up tasks of %s: %w", job, err)
			}
			for _, av := range out.Responses[t.cfg.Table] {
				if k, ok := av[KeyAttribute].(*types.AttributeValueMemberS); ok {
					found[k.Value] = true
				}
			}
			req = out.UnprocessedKeys
		}
	}
	return found, nil
}

// batchWrite sends writes in BatchWriteItem calls of 25, retrying unprocessed items with
// exponential backoff.
func (t *Tracker) batchWrite(ctx context.Context, writes []types.WriteRequest) error {
	for start := 0; start < len(writes); start += batchWriteSize {
		req := map[string][]types.WriteRequest{t.cfg.Table: writes[start:min(start+batchWriteSize, len(writes))]}
		for round := 0; len(req) > 0; round++ {
			if round == batchRounds {
				return errUnprocessed
			}
			if err := backoff(ctx, round); err != nil {
				return err
			}
			out, err := t.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
			if err != nil {
				return err
			}
			req = out.UnprocessedItems
		}
	}
	return nil
}

// backoff waits before retry round n (none before the first): 25 ms doubling to 3.2 s.
func backoff(ctx context.Context, round int) error {
	if round == 0 {
		return nil
	}
	d := 25 * time.Millisecond << min(round-1, 7)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
