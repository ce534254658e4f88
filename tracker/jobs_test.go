package tracker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
	if err := e.tr.RecordRun(ctx, "parse-json"); err != nil {
		t.Fatal(err)
	}
	jobs, err := e.tr.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	later := created.Add(time.Minute)
	want := []tracker.Job{
		{JobID: "a", Created: created, Updated: later},
		{JobID: "parse-json", Created: created, Updated: created, LastRun: later},
		{JobID: "resize-images", Created: created, Updated: created},
	}
	if len(jobs) != len(want) {
		t.Fatalf("jobs = %+v", jobs)
	}
	for i := range want {
		if jobs[i] != want[i] {
			t.Errorf("job %d = %+v, want %+v", i, jobs[i], want[i])
		}
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
	if jobs, err := e.tr.Jobs(ctx); err != nil || len(jobs) != 2 || jobs[1].JobID != "parse-json" {
		t.Errorf("after DeleteJob: %+v, %v", jobs, err)
	}
}
