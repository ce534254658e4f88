package tracker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// ErrTableLayout: the table's index is not the one the tracker's queries need (the seed's
// index, keyed on `value` alone and projecting keys only, say). Nothing read is returned.
var ErrTableLayout = errors.New("the table's index does not have the tracker's layout")

// TableLayoutError says what is wrong with the table's index and how to fix it. It matches
// ErrTableLayout.
type TableLayoutError struct {
	Table string
	// Index is the index at fault: IndexName (the zero value means it too) or
	// FailureIndexName.
	Index  string
	Reason string // what differs from TableDefinition
}

func (e *TableLayoutError) Error() string {
	if e.Index == FailureIndexName {
		return fmt.Sprintf("table %s: %s; queries of failures need the index %s keyed on %s and %s: run `trackerctl upgrade-table --table %s` to create it",
			e.Table, e.Reason, FailureIndexName, FailurePartAttribute, FailureKeyAttribute, e.Table)
	}
	return fmt.Sprintf("table %s: %s; queries need the index %s keyed on %s and %s with the tracker's projection: run `trackerctl upgrade-table --table %s` to recreate it",
		e.Table, e.Reason, IndexName, StatusAttribute, KeyAttribute, e.Table)
}

// Is reports whether target is ErrTableLayout.
func (e *TableLayoutError) Is(target error) bool { return target == ErrTableLayout }

// CheckLayout compares a table's description with TableDefinition: hash key `key` alone,
// and the index status_and_task_id-index on `value` and `key` projecting at least
// IndexProjection. It returns a *TableLayoutError naming the first difference, or nil.
func CheckLayout(desc *types.TableDescription) error {
	name := aws.ToString(desc.TableName)
	want := TableDefinition(name)
	if !sameKeys(desc.KeySchema, want.KeySchema) {
		return &TableLayoutError{Table: name, Reason: fmt.Sprintf("its key schema is not hash %q alone: it is not a tracker table", KeyAttribute)}
	}
	for _, gsi := range desc.GlobalSecondaryIndexes {
		if aws.ToString(gsi.IndexName) != IndexName {
			continue
		}
		if !sameKeys(gsi.KeySchema, want.GlobalSecondaryIndexes[0].KeySchema) {
			return &TableLayoutError{Table: name, Reason: fmt.Sprintf("its index %s is keyed on %s, without %s as range key (the seed's layout)", IndexName, describeKeys(gsi.KeySchema), KeyAttribute)}
		}
		if p := gsi.Projection; p == nil || p.ProjectionType == types.ProjectionTypeKeysOnly ||
			(p.ProjectionType == types.ProjectionTypeInclude && !containsAll(p.NonKeyAttributes, IndexProjection())) {
			return &TableLayoutError{Table: name, Reason: fmt.Sprintf("its index %s does not project %v", IndexName, IndexProjection())}
		}
		return nil
	}
	return &TableLayoutError{Table: name, Reason: fmt.Sprintf("it has no index %s", IndexName)}
}

func sameKeys(got, want []types.KeySchemaElement) bool {
	return slices.EqualFunc(got, want, func(g, w types.KeySchemaElement) bool {
		return aws.ToString(g.AttributeName) == aws.ToString(w.AttributeName) && g.KeyType == w.KeyType
	})
}

func describeKeys(ks []types.KeySchemaElement) string {
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%s)", aws.ToString(k.AttributeName), k.KeyType)
	}
	return s
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// CheckFailureIndex compares a table's description with the failure index of
// TableDefinition: FailureIndexName on failure_part and failure_key, projecting at least
// FailureIndexProjection. It returns a *TableLayoutError naming the difference, or nil. A
// table without it (created before failures were grouped) gets one from `trackerctl
// upgrade-table`; until then the queries of failures (Groups, List by fingerprint or error
// text, bulk actions on them) fail, and nothing else does: failures are recorded the same.
func CheckFailureIndex(desc *types.TableDescription) error {
	name := aws.ToString(desc.TableName)
	want := FailureIndex()
	for _, gsi := range desc.GlobalSecondaryIndexes {
		if aws.ToString(gsi.IndexName) != FailureIndexName {
			continue
		}
		if !sameKeys(gsi.KeySchema, want.KeySchema) {
			return &TableLayoutError{Table: name, Index: FailureIndexName, Reason: fmt.Sprintf("its index %s is keyed on %s, not %s and %s", FailureIndexName, describeKeys(gsi.KeySchema), FailurePartAttribute, FailureKeyAttribute)}
		}
		if p := gsi.Projection; p == nil || p.ProjectionType == types.ProjectionTypeKeysOnly ||
			(p.ProjectionType == types.ProjectionTypeInclude && !containsAll(p.NonKeyAttributes, FailureIndexProjection())) {
			return &TableLayoutError{Table: name, Index: FailureIndexName, Reason: fmt.Sprintf("its index %s does not project %v", FailureIndexName, FailureIndexProjection())}
		}
		return nil
	}
	return &TableLayoutError{Table: name, Index: FailureIndexName, Reason: fmt.Sprintf("it has no index %s (the table predates failure groups)", FailureIndexName)}
}

// layoutCheck remembers that the table's layout was found right, so a Tracker describes its
// table once. A wrong layout is not remembered: after `trackerctl upgrade-table` the next
// query checks again and goes ahead.
type layoutCheck struct {
	mu       sync.Mutex
	ok       bool
	failures bool // the failure index was found right
}

// checkLayout makes sure, before a query, that the index can answer it. A caller not allowed
// to describe the table (an IAM policy without dynamodb:DescribeTable) goes ahead unchecked.
func (t *Tracker) checkLayout(ctx context.Context) error {
	return t.checkIndex(ctx, &t.layout.ok, CheckLayout)
}

// checkFailureLayout makes sure, before a query of the failure index, that it is there.
func (t *Tracker) checkFailureLayout(ctx context.Context) error {
	return t.checkIndex(ctx, &t.layout.failures, CheckFailureIndex)
}

// explainFailureQuery is explainQuery for a query of the failure index.
func (t *Tracker) explainFailureQuery(ctx context.Context, err error) error {
	return t.explainQuery(ctx, err, t.checkFailureLayout)
}

// explainQuery returns, for a query that DynamoDB refused as invalid, the *TableLayoutError
// saying what is wrong with the index when check (which describes the table) finds it
// wrong; else err.
func (t *Tracker) explainQuery(ctx context.Context, err error, check func(context.Context) error) error {
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		return err
	}
	var le *TableLayoutError
	if lerr := check(ctx); errors.As(lerr, &le) {
		return lerr
	}
	return err
}

// provingQuery returns q, a query of the status index for job with a projection, made to
// prove the index's layout without describing the table: a condition on the range key (key
// begins with the job's prefix, unless q bounds it already) and a projection of
// IndexProjection too. DynamoDB refuses a condition on an attribute that is not the index's
// range key, and a projection of attributes the index does not project (as it documents
// for a global secondary index; DynamoDB Local refuses both too), so a query it answers
// proves what CheckLayout checks of the index. It does not prove the table's own key
// schema: a table keyed otherwise refuses every write.
func provingQuery(job string, q indexQuery) indexQuery {
	if q.after == "" && q.through == "" {
		q.keyPrefix = makeKey(job, "")
	}
	q.projection = append(slices.Clip(q.projection), IndexProjection()...)
	return q
}

// layoutKnown reports whether the table's layout was found right (described, or proved by
// a query).
func (t *Tracker) layoutKnown() bool {
	t.layout.mu.Lock()
	defer t.layout.mu.Unlock()
	return t.layout.ok
}

// layoutProven remembers that a query proved the layout (provingQuery).
func (t *Tracker) layoutProven() {
	t.layout.mu.Lock()
	defer t.layout.mu.Unlock()
	t.layout.ok = true
}

// checkLayoutBeside starts checkLayout in the background, unless a check found the index
// right already, and returns the wait for its answer: a listing's queries run while the
// table is described, which saves a round trip on a Tracker's first query (a command's; a
// worker pool starts with Span, which proves the layout by its query instead), and on
// DynamoDB Local, whose DescribeTable counts the table's items, far more. The caller
// returns nothing it read until the check has passed, and the check's error before the
// queries' (the seed's index fails them too). The wait may be called again.
func (t *Tracker) checkLayoutBeside(ctx context.Context) (wait func() error) {
	return t.checkIndexBeside(ctx, &t.layout.ok, CheckLayout)
}

// checkFailureLayoutBeside is checkLayoutBeside for the failure index (checkFailureLayout).
func (t *Tracker) checkFailureLayoutBeside(ctx context.Context) (wait func() error) {
	return t.checkIndexBeside(ctx, &t.layout.failures, CheckFailureIndex)
}

// checkIndexBeside runs checkIndex in the background, unless *ok says the index was found
// right already, and returns the wait for its answer.
func (t *Tracker) checkIndexBeside(ctx context.Context, ok *bool, check func(*types.TableDescription) error) (wait func() error) {
	t.layout.mu.Lock()
	done := *ok
	t.layout.mu.Unlock()
	if done {
		return func() error { return nil }
	}
	answer := make(chan error, 1)
	go func() { answer <- t.checkIndex(ctx, ok, check) }()
	return sync.OnceValue(func() error { return <-answer })
}

// checkIndex describes the table, unless *ok says it was found right already, and checks it.
func (t *Tracker) checkIndex(ctx context.Context, ok *bool, check func(*types.TableDescription) error) error {
	t.layout.mu.Lock()
	defer t.layout.mu.Unlock()
	if *ok {
		return nil
	}
	out, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.cfg.Table)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
		*ok = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe table %s: %w", t.cfg.Table, err)
	}
	if err := check(out.Table); err != nil {
		return err
	}
	*ok = true
	return nil
}
