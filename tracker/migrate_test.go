package tracker_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestMigrateRegistry: the jobs the seed created (tasks and no registry item) are
// registered with the default options, legacy registry items (____jobs____{job}) move to
// {job}____ with their times, and a second run writes nothing.
func TestMigrateRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	null := &types.AttributeValueMemberNULL{Value: true}
	// A job of ours, registered in the current form.
	created := e.clock.Now()
	if _, err := e.tr.CreateTasks(ctx, "ours", []tracker.NewTask{{ID: "t-1"}}); err != nil {
		t.Fatal(err)
	}
	// Items as the seed writes them (Task.new, a failed task), a legacy registry item of a job
	// with a task, a legacy item of a job registered in the current form too (it was created
	// earlier than the current one says), and a seed job whose id the tracker refuses.
	items := []map[string]types.AttributeValue{
		{"key": s("seed-a____t-1"), "value": s("seed-a____00"), "update_time": s("2022-12-26T04:09:18.866585+0000"), "retry": n("0"),
			"lock_time": s("1970-01-01T00:00:00.000000+0000"), "data": s(`{"a": 1}`)},
		{"key": s("seed-a____t-2"), "value": s("seed-a____00"), "update_time": s("2022-12-26T04:09:18.866585+0000"), "retry": n("0"),
			"lock_time": s("1970-01-01T00:00:00.000000+0000")},
		{"key": s("seed-b____t-1"), "value": s("seed-b____06"), "update_time": s("2022-12-26T04:06:44.124953+0000"), "retry": n("1"),
			"lock": null, "lock_time": s("2022-12-26T04:06:44.100000+0000"), "errors": s(`{"error": "UserError('x')", "traceback": ""}`)},
		{"key": s("old-job____t-1"), "value": s("old-job____09"), "update_time": s("2025-01-02T03:04:05.000001+0000"), "retry": n("0"),
			"lock": null, "lock_time": s("2025-01-02T03:04:05.000000+0000")},
		{"key": s("____jobs____old-job"), "value": s("____jobs"), "create_time": s("2025-01-02T03:04:05.123456+0000"),
			"update_time": s("2025-02-03T04:05:06.234567+0000"), "last_run": s("2025-03-04T05:06:07.345678+0000"),
			"lock": null, "lock_time": s("2025-03-04T05:06:07.345678+0000"), "lock_owner": s("exec-old")},
		{"key": s("____jobs____ours"), "value": s("____jobs"), "create_time": s("2024-06-07T08:09:10.111111+0000"),
			"update_time": s("2024-06-07T08:09:10.111111+0000")},
		{"key": s("bad\x01job____t-1"), "value": s("bad\x01job____00"), "update_time": s("2022-12-26T04:09:18.866585+0000"), "retry": n("0"),
			"lock_time": s("1970-01-01T00:00:00.000000+0000")},
	}
	for _, it := range items {
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Hour)
	migrated := e.clock.Now()

	got, err := e.tr.MigrateRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &tracker.RegistryMigration{
		Scanned: len(items) + 2, Pages: 1, Jobs: 5,
		Registered: []string{"seed-a", "seed-b"}, Moved: []string{"old-job"}, Dropped: []string{"ours"},
		Skipped: []tracker.RegistryError{{Key: "bad\x01job____t-1", Reason: `invalid job_id: "bad\x01job" holds U+0001 at byte 3: control and bidirectional-override characters are not allowed`}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MigrateRegistry = %+v\nwant %+v", got, want)
	}

	at := func(text string) time.Time {
		v, err := time.Parse(tracker.TimeLayout, text)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	wantJobs := []tracker.Job{
		{JobID: "old-job", Created: at("2025-01-02T03:04:05.123456+0000"), Updated: at("2025-02-03T04:05:06.234567+0000"),
			LastRun: at("2025-03-04T05:06:07.345678+0000"), Run: tracker.RunHolder{Owner: "exec-old"}},
		{JobID: "ours", Created: at("2024-06-07T08:09:10.111111+0000"), Updated: created},
		{JobID: "seed-a", Created: migrated, Updated: migrated},
		{JobID: "seed-b", Created: migrated, Updated: migrated},
	}
	reg, err := e.tr.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg.Jobs, wantJobs) || len(reg.Bad) != 0 {
		t.Errorf("Jobs = %+v, bad %+v\nwant %+v", reg.Jobs, reg.Bad, wantJobs)
	}
	for _, key := range []string{"____jobs____old-job", "____jobs____ours"} {
		out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"key": s(key)}})
		if err != nil || len(out.Item) != 0 {
			t.Errorf("legacy item %s after the migration: %v, %v", key, out.Item, err)
		}
	}

	// A second run reads the table again and changes nothing.
	before := scanAll(t, e)
	e.clock.Advance(time.Hour)
	again, err := e.tr.MigrateRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = &tracker.RegistryMigration{Scanned: len(items) + 2 - 2 + 3, Pages: 1, Jobs: 5, Skipped: want.Skipped}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("second MigrateRegistry = %+v\nwant %+v", again, want)
	}
	if after := scanAll(t, e); !reflect.DeepEqual(after, before) {
		t.Errorf("the second run changed the table:\nbefore %v\nafter  %v", before, after)
	}
}

// scanAll returns every item of the test's table, by key.
func scanAll(t *testing.T, e *env) map[string]map[string]types.AttributeValue {
	t.Helper()
	items := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			items[it["key"].(*types.AttributeValueMemberS).Value] = it
		}
	}
	return items
}

// TestMigrateFailures: the failed and ignored tasks whose failure was recorded without a
// fingerprint (by the seed, as PynamoDB writes it; by an earlier version) join their groups,
// with their update time as the failure's time; a second run writes nothing.
func TestMigrateFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	null := &types.AttributeValueMemberNULL{Value: true}
	seedFailure := func(id, code, stamp, errors string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"key": s(job + "____" + id), "value": s(job + "____" + code), "update_time": s(stamp),
			"retry": n("1"), "lock": null, "lock_time": s("2022-12-26T04:06:44.100000+0000"), "errors": s(errors)}
	}
	const boom = `{"error": "UserError: row 17 is bad", "traceback": "  File \"/var/task/job.py\", line 4, in run\n"}`
	for _, it := range []map[string]types.AttributeValue{
		seedFailure("t-1", "06", "2022-12-26T04:06:44.124953+0000", boom),
		seedFailure("t-2", "10", "2022-12-26T05:00:00.000000+0000", `{"error": "UserError: row 99 is bad", "traceback": "  File \"/var/task/job.py\", line 4, in run\n"}`),
		seedFailure("t-3", "00", "2022-12-26T05:00:00.000000+0000", boom), // retried: its error is history
	} {
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	e.create(t, "t-4", "")
	e.failAt(t, "t-4", pyKeyError) // fingerprinted already
	m, err := e.tr.MigrateFailures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Fingerprinted != 2 || m.Changed != 0 || m.Scanned != 3 {
		t.Errorf("migration %+v: want 2 fingerprinted of 3 scanned", m)
	}
	first, _ := time.Parse(tracker.TimeLayout, "2022-12-26T04:06:44.124953+0000")
	last, _ := time.Parse(tracker.TimeLayout, "2022-12-26T05:00:00.000000+0000")
	want := []groupView{{fp(tracker.Failure{Error: "UserError: row 17 is bad", Traceback: "  File \"/var/task/job.py\", line 4, in run\n"}), 2, 1, 1, first.UTC(), last.UTC(), "t-2"}}
	if got := e.groups(t); len(got) != 2 || !reflect.DeepEqual(got[0], want[0]) {
		t.Errorf("groups %+v, want %+v and t-4's", got, want)
	}
	again, err := e.tr.MigrateFailures(ctx)
	if err != nil || again.Fingerprinted != 0 || again.Scanned != 1 {
		t.Errorf("a second run: %+v, %v; want nothing written (the todo task's old error read again)", again, err)
	}
}
