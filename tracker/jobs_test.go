package tracker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestJobRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	created := e.clock.Now()
	for _, job := range []string{"resize-images", "parse-json", "a"} {
		if _, err := e.tr.CreateTasks(ctx, job, []tracker.NewTask{{ID: "t-1"}, {ID: "t-2"}}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute)
	if _, err := e.tr.CreateTask(ctx, "a", "t-3", nil); err != nil {
		t.Fatal(err)
	}
	run, err := e.tr.AcquireRun(ctx, "parse-json", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := e.tr.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	later := created.Add(time.Minute)
	// A Tracker registers a job once: creating t-3 wrote no registry item.
	want := []tracker.Job{
		{JobID: "a", Created: created, Updated: created},
		{JobID: "parse-json", Created: created, Updated: created, LastRun: later,
			Run: tracker.RunHolder{Owner: "run-1", Expires: later.Add(e.tr.Config().LeaseDuration + e.tr.Config().ClockSkew)}},
		{JobID: "resize-images", Created: created, Updated: created},
	}
	if len(reg.Jobs) != len(want) || len(reg.Bad) != 0 {
		t.Fatalf("jobs = %+v, bad %+v", reg.Jobs, reg.Bad)
	}
	for i := range want {
		if reg.Jobs[i] != want[i] {
			t.Errorf("job %d = %+v, want %+v", i, reg.Jobs[i], want[i])
		}
	}
	if run.Expires != later.Add(e.tr.Config().LeaseDuration) {
		t.Errorf("run lease expires %v", run.Expires)
	}

	// The seed's query_by_status (the index partition {job}____{NN}) of any job never returns
	// a registry item, and neither do our own queries: counts are the tasks alone.
	for _, job := range []string{"a", "parse-json", "resize-images"} {
		for _, code := range []string{"00", "03", "06", "09", "10"} {
			out, err := e.db.Query(ctx, &dynamodb.QueryInput{
				TableName: aws.String(e.table), IndexName: aws.String(tracker.IndexName),
				KeyConditionExpression:    aws.String("#v = :v"),
				ExpressionAttributeNames:  map[string]string{"#v": "value"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: job + "____" + code}},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range out.Items {
				if key := it["key"].(*types.AttributeValueMemberS).Value; !strings.HasPrefix(key, job+"____t-") {
					t.Errorf("the seed's query of %s____%s returned %q", job, code, key)
				}
			}
		}
		counts, err := e.tr.Count(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		if n := counts[tracker.Todo]; n != map[string]int{"a": 3}[job]+map[bool]int{true: 0, false: 2}[job == "a"] {
			t.Errorf("%s counts %d todo", job, n)
		}
	}

	if _, err := e.tr.DeleteJob(ctx, "resize-images"); err != nil {
		t.Fatal(err)
	}
	if reg, err := e.tr.Jobs(ctx); err != nil || len(reg.Jobs) != 2 || reg.Jobs[1].JobID != "parse-json" {
		t.Errorf("after DeleteJob: %+v, %v", reg, err)
	}
}

// TestRegistryCostsOneWritePerJob: creating a job's tasks one at a time writes its registry
// item once, not once a task (2 calls and 4 write units a task before).
func TestRegistryCostsOneWritePerJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	counter := &dynamotest.Counter{}
	e := newEnv(t, tracker.Config{}, counter.Option())
	for i := range 20 {
		if _, err := e.tr.CreateTask(ctx, "one-by-one", "t-"+string(rune('a'+i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	calls := counter.Calls()
	// The first creation reads the job's registry item (two keys, the new and the legacy) and
	// writes it; each creation is one PutItem.
	if calls["PutItem"] != 20 || calls["UpdateItem"] != 1 || calls["GetItem"] != 2 {
		t.Errorf("20 creations made %v", calls)
	}
}

// TestBadRegistryItems: an item of the registry that cannot be read is reported and skipped,
// and every other job is still listed.
func TestBadRegistryItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	if _, err := e.tr.CreateTasks(ctx, "good", []tracker.NewTask{{ID: "t-1"}}); err != nil {
		t.Fatal(err)
	}
	for _, it := range []map[string]string{
		{"key": "garbage-time____", "value": "____jobs", "create_time": "yesterday", "update_time": "yesterday"},
		{"key": "bad\x01id____", "value": "____jobs", "create_time": "2026-11-29T00:43:51.185247+0000", "update_time": "2026-11-29T00:43:51.185247+0000"},
		{"key": "no-separator", "value": "____jobs"},
	} {
		item := map[string]types.AttributeValue{}
		for k, v := range it {
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := e.tr.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Jobs) != 1 || reg.Jobs[0].JobID != "good" {
		t.Errorf("jobs = %+v", reg.Jobs)
	}
	var keys []string
	for _, b := range reg.Bad {
		keys = append(keys, b.Key)
	}
	if strings.Join(keys, ",") != "bad\x01id____,garbage-time____,no-separator" {
		t.Errorf("bad items %q", keys)
	}
}

// TestRunLease: one run holds a job at a time; a crashed run's lease expires; a run whose
// lease was taken cannot renew it; EndRun lets the next run start at once.
func TestRunLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	first, err := e.tr.AcquireRun(ctx, "seed-made", "exec-1") // a job with no registry item
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.tr.AcquireRun(ctx, "seed-made", "exec-2")
	var live *tracker.RunLiveError
	if !errors.As(err, &live) || !errors.Is(err, tracker.ErrRunLive) || live.Holder.Owner != "exec-1" {
		t.Fatalf("second run: %v", err)
	}
	e.clock.Advance(e.tr.Config().LeaseDuration / 2)
	renewed, err := e.tr.RenewRun(ctx, tracker.RunLease{JobID: "seed-made", Token: first.Token, Owner: "exec-1b"})
	if err != nil || renewed.Owner != "exec-1b" || renewed.Expires != e.clock.Now().Add(e.tr.Config().LeaseDuration) {
		t.Fatalf("renew: %+v, %v", renewed, err)
	}
	// The renewal counts from its own time: half a lease later, the lease is still live.
	e.clock.Advance(e.tr.Config().LeaseDuration * 3 / 4)
	if _, err := e.tr.AcquireRun(ctx, "seed-made", "exec-2"); !errors.Is(err, tracker.ErrRunLive) {
		t.Fatalf("run during a renewed lease: %v", err)
	}
	// The holder crashed: past the lease and the skew allowance, the next run takes over.
	e.clock.Advance(e.tr.Config().LeaseDuration + e.tr.Config().ClockSkew)
	second, err := e.tr.AcquireRun(ctx, "seed-made", "exec-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.RenewRun(ctx, *renewed); !errors.Is(err, tracker.ErrRunLost) || !strings.Contains(err.Error(), "exec-2") {
		t.Errorf("the old run renews: %v", err)
	}
	if err := e.tr.EndRun(ctx, *renewed); !errors.Is(err, tracker.ErrRunLost) {
		t.Errorf("the old run ends the new one's lease: %v", err)
	}
	if err := e.tr.EndRun(ctx, *second); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.EndRun(ctx, *second); err != nil {
		t.Errorf("EndRun again: %v", err)
	}
	if _, err := e.tr.AcquireRun(ctx, "seed-made", "exec-3"); err != nil {
		t.Errorf("after EndRun: %v", err)
	}
	j, err := e.tr.Job(ctx, "seed-made")
	if err != nil || j.Run.Owner != "exec-3" || j.Shards != 0 {
		t.Errorf("job = %+v, %v", j, err)
	}
	if _, err := e.tr.RenewRun(ctx, tracker.RunLease{JobID: "seed-made", Token: "short"}); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Errorf("a malformed lease: %v", err)
	}
}
