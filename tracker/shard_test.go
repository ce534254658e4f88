package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestShardOf: the shard of a task id is FNV-1a's, the formula the package documents for
// other writers, the same in every process.
func TestShardOf(t *testing.T) {
	for _, c := range []struct {
		task  string
		n     int
		shard int
	}{
		{"t-1", 1, 0},
		{"t-1", 16, 1},        // fnv1a32("t-1") = 0x73773861
		{"t-2", 16, 8},        // 0x707733a8
		{"file-0001", 32, 29}, // 0x0adbb75d
		{"", 16, 5},           // the offset basis 0x811c9dc5
		{"é", 7, 2},           // 0x1e9de8c1, over the UTF-8 bytes
	} {
		if got := tracker.ShardOf(c.task, c.n); got != c.shard {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", c.task, c.n, got, c.shard)
		}
	}
}

// TestShardedJob: a job of several shards writes each task's index value with its shard,
// through every transition, and every reader (List, Count, NextDue, Span, Get) sees all its
// tasks; the seed's queries by status see none of them, and a task the seed moves to an
// unsharded value is still found and claimed.
func TestShardedJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	if _, err := e.tr.CreateJob(ctx, job, tracker.JobOptions{Shards: 4}); err != nil {
		t.Fatal(err)
	}
	var tasks []tracker.NewTask
	for i := range 40 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%02d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	value := func(id string) string {
		return e.raw(t, job, id)["value"].(*types.AttributeValueMemberS).Value
	}
	for _, nt := range tasks {
		if got, want := value(nt.ID), fmt.Sprintf("%s____00____%02d", job, tracker.ShardOf(nt.ID, 4)); got != want {
			t.Errorf("%s: value %q, want %q", nt.ID, got, want)
		}
	}
	// Through a claim, a failure, a claim and a completion, the shard stays.
	lease := e.claim(t, "t-07", "w")
	if got := value("t-07"); got != fmt.Sprintf("%s____03____%02d", job, tracker.ShardOf("t-07", 4)) {
		t.Errorf("in progress: %q", got)
	}
	if _, err := e.tr.Fail(ctx, *lease, tracker.Failure{Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	if got := value("t-07"); got != fmt.Sprintf("%s____06____%02d", job, tracker.ShardOf("t-07", 4)) {
		t.Errorf("failed: %q", got)
	}
	if d, err := e.tr.NextDue(ctx, job); err != nil || !d.Waiting {
		t.Errorf("NextDue = %+v, %v", d, err)
	}
	lease = e.claim(t, "t-08", "w")
	if _, err := e.tr.Complete(ctx, *lease, nil); err != nil {
		t.Fatal(err)
	}
	if got := value("t-08"); got != fmt.Sprintf("%s____09____%02d", job, tracker.ShardOf("t-08", 4)) {
		t.Errorf("succeeded: %q", got)
	}

	// The seed's query_by_status asks for {job}____00: it sees none of a sharded job's tasks.
	out, err := e.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(e.table), IndexName: aws.String(tracker.IndexName),
		KeyConditionExpression:    aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "value"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: job + "____00"}},
	})
	if err != nil || len(out.Items) != 0 {
		t.Errorf("the seed's query: %d items, %v", len(out.Items), err)
	}
	// A seed writer sets a task's status without the shard: our readers still find it, and a
	// claim moves it back to its shard.
	_, err = e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(e.table), Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____t-09"}},
		UpdateExpression:          aws.String("SET #v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": "value"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: job + "____00"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	counts, err := e.tr.Count(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if counts[tracker.Todo] != 38 || counts[tracker.Failed] != 1 || counts[tracker.Succeeded] != 1 {
		t.Errorf("counts = %v", counts)
	}
	var listed []string
	for cursor := ""; ; {
		page, err := e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo}, Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range page.Tasks {
			listed = append(listed, task.TaskID)
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	if len(listed) != 38 || listed[0] != "t-00" || listed[37] != "t-39" {
		t.Errorf("listed %d todo tasks: %v", len(listed), listed)
	}
	for i := 1; i < len(listed); i++ {
		if listed[i-1] >= listed[i] {
			t.Fatalf("listing out of order at %d: %v", i, listed)
		}
	}
	if span, err := e.tr.Span(ctx, job); err != nil || span != (tracker.Span{Pending: true, Failed: true, First: "t-00", Last: "t-39"}) {
		t.Errorf("Span = %+v, %v", span, err)
	}
	lease = e.claim(t, "t-09", "w")
	if got := value("t-09"); got != fmt.Sprintf("%s____03____%02d", job, tracker.ShardOf("t-09", 4)) {
		t.Errorf("claimed from the unsharded value: %q", got)
	}
	if _, err := e.tr.Release(ctx, *lease); err != nil {
		t.Fatal(err)
	}

	j, err := e.tr.Job(ctx, job)
	if err != nil || j.Shards != 4 {
		t.Errorf("Job = %+v, %v", j, err)
	}
	if n, err := e.tr.DeleteJob(ctx, job); err != nil || n != 40 {
		t.Errorf("DeleteJob = %d, %v", n, err)
	}
}

// TestCreateJobOptions: a job's shards are fixed once it is registered or has tasks.
func TestCreateJobOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	if _, err := e.tr.CreateJob(ctx, "j", tracker.JobOptions{Shards: 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.CreateJob(ctx, "j", tracker.JobOptions{Shards: 8}); err != nil {
		t.Errorf("the same options again: %v", err)
	}
	for _, c := range []struct {
		job    string
		shards int
		want   error
	}{
		{"j", 4, tracker.ErrJobExists},
		{"j", 1, tracker.ErrJobExists},
		{"j", 101, tracker.ErrInvalidInput},
		{"j", -1, tracker.ErrInvalidInput},
		{"unsharded", 4, tracker.ErrJobExists}, // created below with tasks, unsharded
	} {
		if c.job == "unsharded" {
			if _, err := e.tr.CreateTasks(ctx, "unsharded", []tracker.NewTask{{ID: "t"}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.tr.CreateJob(ctx, c.job, tracker.JobOptions{Shards: c.shards}); !errors.Is(err, c.want) {
			t.Errorf("CreateJob(%s, %d) = %v, want %v", c.job, c.shards, err, c.want)
		}
	}
	// A job the seed created (tasks, no registry item) keeps its layout too.
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: map[string]types.AttributeValue{
		"key": &types.AttributeValueMemberS{Value: "seed-job____t-1"}, "value": &types.AttributeValueMemberS{Value: "seed-job____00"},
		"update_time": &types.AttributeValueMemberS{Value: "2026-11-29T00:43:51.185247+0000"}, "retry": &types.AttributeValueMemberN{Value: "0"},
		"lock_time": &types.AttributeValueMemberS{Value: "1970-01-01T00:00:00.000000+0000"},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.CreateJob(ctx, "seed-job", tracker.JobOptions{Shards: 2}); !errors.Is(err, tracker.ErrJobExists) {
		t.Errorf("sharding a seed job: %v", err)
	}
}

// TestJobIDBound: a job id is bounded by its longest derived key, the sharded index value.
func TestJobIDBound(t *testing.T) {
	ok := strings.Repeat("j", tracker.MaxJobBytes)
	if err := tracker.ValidateJob(ok); err != nil {
		t.Errorf("a job id of %d bytes: %v", len(ok), err)
	}
	if n := len(ok + "____10____99"); n != tracker.MaxKeyBytes {
		t.Errorf("the longest sharded value is %d bytes", n)
	}
	if err := tracker.ValidateJob(ok + "j"); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Errorf("a job id of %d bytes: %v", len(ok)+1, err)
	}
}
