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
// index, keyed on `value` alone and projecting keys only, say). Nothing was read.
var ErrTableLayout = errors.New("the table's index does not have the tracker's layout")

// TableLayoutError says what is wrong with the table's index and how to fix it. It matches
// ErrTableLayout.
type TableLayoutError struct {
	Table  string
	Reason string // what differs from TableDefinition
}

func (e *TableLayoutError) Error() string {
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

// layoutCheck remembers that the table's layout was found right, so a Tracker describes its
// table once. A wrong layout is not remembered: after `trackerctl upgrade-table` the next
// query checks again and goes ahead.
type layoutCheck struct {
	mu sync.Mutex
	ok bool
}

// checkLayout makes sure, before a query, that the index can answer it. A caller not allowed
// to describe the table (an IAM policy without dynamodb:DescribeTable) goes ahead unchecked.
func (t *Tracker) checkLayout(ctx context.Context) error {
	t.layout.mu.Lock()
	defer t.layout.mu.Unlock()
	if t.layout.ok {
		return nil
	}
	out, err := t.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.cfg.Table)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
		t.layout.ok = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe table %s: %w", t.cfg.Table, err)
	}
	if err := CheckLayout(out.Table); err != nil {
		return err
	}
	t.layout.ok = true
	return nil
}
