package tracker

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Span is the stretch of the id space that a job's todo and failed tasks lie in (Tracker.Span).
type Span struct {
	// Pending is true when the job has a todo or failed task, and Failed when it has a failed
	// one (due or not).
	Pending, Failed bool
	// First and Last are the lowest and the highest id among them (the same one when there is
	// one task); empty when there is none.
	First, Last string
}

// Span returns the lowest and the highest task id among the job's todo and failed tasks. It
// reads one index item from each end of the two partitions (four queries of one item per
// shard), so a worker pool can pick a starting point anywhere in the id space without
// listing it.
//
// The seed's index (no range key) has no ends to read. Until a Tracker knows its table's
// layout right, Span's first query proves it (provingQuery) instead of describing the table;
// DynamoDB refuses it on the seed's index, and Span then returns the *TableLayoutError.
func (t *Tracker) Span(ctx context.Context, job string) (Span, error) {
	if err := ValidateJob(job); err != nil {
		return Span{}, err
	}
	codes := t.Codes(job)
	shards, err := t.shards(ctx, job)
	if err != nil {
		return Span{}, err
	}
	prove := !t.layoutKnown()
	var s Span
	for _, code := range []int{codes.Todo, codes.Failed} {
		for _, value := range partitions(job, code, shards) {
			for _, forward := range []bool{true, false} {
				id, found, err := t.edge(ctx, job, value, forward, prove)
				if err != nil && prove {
					return Span{}, t.explainQuery(ctx, err, t.checkLayout)
				}
				if err != nil {
					return Span{}, err
				}
				if prove {
					t.layoutProven()
					prove = false
				}
				if !found {
					break
				}
				s.add(id, code == codes.Failed)
			}
		}
	}
	return s, nil
}

// add widens s to id, a todo task's or a failed one's.
func (s *Span) add(id string, failed bool) {
	if !s.Pending || id < s.First {
		s.First = id
	}
	if !s.Pending || id > s.Last {
		s.Last = id
	}
	s.Pending, s.Failed = true, s.Failed || failed
}

// edge reads the lowest (forward) or highest task id in the index partition value of job,
// with a query that proves the index's layout when prove is set.
func (t *Tracker) edge(ctx context.Context, job, value string, forward, prove bool) (string, bool, error) {
	q := indexQuery{value: value, projection: []string{KeyAttribute}, limit: 1, backward: !forward}
	if prove {
		q = provingQuery(job, q)
	}
	in, err := t.queryInput(q)
	if err != nil {
		return "", false, err
	}
	out, err := t.db.Query(ctx, in)
	if err != nil {
		return "", false, fmt.Errorf("span of %s: %w", job, err)
	}
	if len(out.Items) == 0 {
		return "", false, nil
	}
	key, _ := out.Items[0][KeyAttribute].(*types.AttributeValueMemberS)
	if key == nil {
		return "", false, nil
	}
	_, id, err := splitKey(key.Value)
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}
