package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestUpgradeTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a seed-created table gets the tracker's index and its tasks list again", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, false)
		if _, err := f.db.CreateTable(ctx, dynamotest.SeedTable(f.table)); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"t-2", "t-1", "t-3"} {
			if _, err := f.tr.CreateTask(ctx, job, id, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.tr.List(ctx, job, tracker.ListOptions{}); !errors.Is(err, tracker.ErrTableLayout) {
			t.Fatalf("List before the upgrade = %v, want ErrTableLayout", err)
		}
		r := f.cli().run(t, "upgrade-table").wantCode(t, exitOK)
		if !strings.Contains(r.stdout, "now has the tracker's layout") {
			t.Errorf("stdout = %q", r.stdout)
		}
		desc, err := f.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
		if err != nil {
			t.Fatal(err)
		}
		if err := tracker.CheckLayout(desc.Table); err != nil {
			t.Fatalf("after the upgrade: %v", err)
		}
		// The same Tracker checks again (a wrong layout is not remembered) and lists in order.
		page, err := f.tr.List(ctx, job, tracker.ListOptions{})
		if err != nil || len(page.Tasks) != 3 || page.Tasks[0].TaskID != "t-1" || page.Tasks[2].TaskID != "t-3" {
			t.Fatalf("List after the upgrade = %+v, %v", page, err)
		}
		r = f.cli().run(t, "upgrade-table").wantCode(t, exitOK)
		if !strings.Contains(r.stdout, "has the tracker's layout already") {
			t.Errorf("second run: stdout = %q", r.stdout)
		}
	})

	t.Run("a table that is not a tracker table is refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, false)
		in := dynamotest.SeedTable(f.table)
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String("value"), KeyType: types.KeyTypeRange})
		if _, err := f.db.CreateTable(ctx, in); err != nil {
			t.Fatal(err)
		}
		r := f.cli().run(t, "upgrade-table").wantCode(t, exitError)
		if !strings.Contains(r.stderr, "does not look like a tracker table") {
			t.Errorf("stderr = %q", r.stderr)
		}
		desc, err := f.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
		if err != nil || len(desc.Table.GlobalSecondaryIndexes) != 1 || desc.Table.GlobalSecondaryIndexes[0].Projection.ProjectionType != types.ProjectionTypeKeysOnly {
			t.Errorf("the refused table's index changed: %+v, %v", desc.Table.GlobalSecondaryIndexes, err)
		}
	})
}
