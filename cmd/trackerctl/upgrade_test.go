package main

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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

// TestUpgradeTableRegistersTheSeedsJobs: on a table that has the tracker's index already (an
// earlier upgrade-table), the jobs the seed created are still unregistered, so sweeps of all
// jobs skip them. upgrade-table registers them, moves a legacy registry item to the current
// key with its times, says what it read and wrote, and a second run writes nothing.
func TestUpgradeTableRegistersTheSeedsJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true)
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	seedTask := func(key, value string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"key": s(key), "value": s(value), "update_time": s("2022-12-26T04:09:18.866585+0000"),
			"retry": &types.AttributeValueMemberN{Value: "0"}, "lock_time": s("1970-01-01T00:00:00.000000+0000")}
	}
	for _, it := range []map[string]types.AttributeValue{
		seedTask("seed-a____t-1", "seed-a____00"), seedTask("seed-a____t-2", "seed-a____00"), seedTask("seed-b____t-1", "seed-b____00"),
		seedTask("old-job____t-1", "old-job____00"),
		// A failure the seed recorded: PynamoDB's errors attribute, no fingerprint.
		{"key": s("seed-b____t-2"), "value": s("seed-b____06"), "update_time": s("2022-12-26T04:09:18.866585+0000"), "retry": &types.AttributeValueMemberN{Value: "1"},
			"lock": &types.AttributeValueMemberNULL{Value: true}, "lock_time": s("2022-12-26T04:09:18.000000+0000"),
			"errors": s(`{"error": "KeyError: 'path'", "traceback": "  File \"/var/task/job.py\", line 9, in run\n"}`)},
		{"key": s("____jobs____old-job"), "value": s("____jobs"), "create_time": s("2025-01-02T03:04:05.123456+0000"),
			"update_time": s("2025-02-03T04:05:06.234567+0000"), "last_run": s("2025-03-04T05:06:07.345678+0000")},
	} {
		if _, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	layout := "table " + f.table + " at " + f.endpoint + " has the tracker's layout already; its index is left as it is\n" +
		"table " + f.table + " has the index failure-index already\n"

	r := f.cli().run(t, "upgrade-table").wantCode(t, exitOK)
	want := layout +
		"registry: read the keys of 6 items (a Scan of 1 page): 3 jobs with tasks, 1 registry item in the legacy form\n" +
		"registry: registered 2 jobs that had tasks and no registry item: seed-a, seed-b\n" +
		"registry: moved 1 legacy item from ____jobs____{job} to {job}____, times kept: old-job\n" +
		"failures: read 1 item with an error and no fingerprint (a Scan of 1 page): fingerprinted 1 failed or ignored task\n"
	if r.stdout != want {
		t.Errorf("stdout\n%s\nwant\n%s", r.stdout, want)
	}
	at := func(text string) time.Time {
		v, err := time.Parse(tracker.TimeLayout, text)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	wantJobs := []tracker.Job{
		{JobID: "old-job", Created: at("2025-01-02T03:04:05.123456+0000"), Updated: at("2025-02-03T04:05:06.234567+0000"), LastRun: at("2025-03-04T05:06:07.345678+0000")},
		{JobID: "seed-a", Created: t0, Updated: t0},
		{JobID: "seed-b", Created: t0, Updated: t0},
	}
	reg, err := f.tr.Jobs(ctx)
	if err != nil || !reflect.DeepEqual(reg.Jobs, wantJobs) || len(reg.Bad) != 0 {
		t.Fatalf("Jobs = %+v, %v\nwant %+v", reg, err, wantJobs)
	}
	out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"key": s("____jobs____old-job")}})
	if err != nil || len(out.Item) != 0 {
		t.Errorf("the legacy item after upgrade-table: %v, %v", out.Item, err)
	}

	f.clock.Advance(time.Hour)
	r = f.cli().run(t, "upgrade-table").wantCode(t, exitOK)
	want = layout +
		"registry: read the keys of 8 items (a Scan of 1 page): 3 jobs with tasks, 0 registry items in the legacy form\n" +
		"registry: every job with tasks is registered, in the current form: nothing written\n" +
		"failures: read 0 items with an error and no fingerprint (a Scan of 1 page): fingerprinted 0 failed or ignored tasks\n"
	if r.stdout != want {
		t.Errorf("second run: stdout\n%s\nwant\n%s", r.stdout, want)
	}
	if reg, err := f.tr.Jobs(ctx); err != nil || !reflect.DeepEqual(reg.Jobs, wantJobs) {
		t.Errorf("Jobs after the second run = %+v, %v", reg, err)
	}
	groups, err := f.tr.Groups(ctx, "seed-b", tracker.GroupOptions{})
	if err != nil || len(groups) != 1 || groups[0].SampleID != "t-2" || groups[0].Failed != 1 {
		t.Errorf("the seed's failure after upgrade-table: groups %+v, %v", groups, err)
	}
}

// TestUpgradeTableAddsTheFailureIndex: a table of the tracker's layout from before failures
// were grouped (the status index alone) gets the failure index; its tasks' failures are then
// listed by group.
func TestUpgradeTableAddsTheFailureIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, false)
	def := tracker.TableDefinition(f.table)
	def.GlobalSecondaryIndexes = def.GlobalSecondaryIndexes[:1]
	def.AttributeDefinitions = def.AttributeDefinitions[:2]
	if _, err := f.db.CreateTable(ctx, def); err != nil {
		t.Fatal(err)
	}
	if err := tracker.CreateTable(ctx, f.db, f.table); err != nil { // waits until active
		t.Fatal(err)
	}
	c := f.cli()
	c.run(t, "errors", job).wantCode(t, exitError).wantOneLineError(t, "has no index failure-index", "trackerctl upgrade-table")
	r := c.run(t, "upgrade-table").wantCode(t, exitOK)
	if !strings.Contains(r.stdout, "creating index failure-index of "+f.table) || !strings.Contains(r.stdout, "now has the index failure-index") {
		t.Errorf("stdout = %s", r.stdout)
	}
	desc, err := f.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
	if err != nil || checkLayout(desc.Table) != nil {
		t.Fatalf("after upgrade-table: %v, %v", checkLayout(desc.Table), err)
	}
	c.run(t, "errors", job).wantCode(t, exitError).wantOneLineError(t, "has no tasks")
}
