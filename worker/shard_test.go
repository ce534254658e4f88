package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/worker"
)

// TestPoolsRunAShardedJob: pools run a job whose index keys are sharded to the end, as they
// run any job: two pools (two processes' clients and trackers) over a job of 8 shards, every
// 7th task failing once, run every task to success exactly once more than it failed, and
// leave each task's index value with its shard.
func TestPoolsRunAShardedJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const (
		job    = "sharded"
		n      = 300
		shards = 8
	)
	first, db := trackertest.New(t, tracker.Config{Backoff: 10 * time.Millisecond})
	table := first.Config().Table
	if _, err := first.CreateJob(ctx, job, tracker.JobOptions{Shards: shards}); err != nil {
		t.Fatal(err)
	}
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%03d", i)}
	}
	if _, err := first.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	second, err := tracker.New(dynamotest.Client(t), first.Config()) // another process's
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	runs := map[string]int{}
	handler := func(_ context.Context, task *tracker.Task) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		runs[task.TaskID]++
		var i int
		fmt.Sscanf(task.TaskID, "t-%d", &i)
		if i%7 == 0 && runs[task.TaskID] == 1 {
			return nil, fmt.Errorf("fails once")
		}
		return nil, nil
	}
	stats := make([]worker.Stats, 2)
	var wg sync.WaitGroup
	for k, tr := range []*tracker.Tracker{first, second} {
		p := &worker.Pool{Tracker: tr, Job: job, Workers: 4, Owner: fmt.Sprintf("pool-%d", k), Seed: uint64(k + 1), Handler: handler}
		wg.Go(func() {
			st, err := p.Run(ctx)
			if err != nil {
				t.Error(err)
			}
			stats[k] = st
		})
	}
	wg.Wait()

	failing := (n + 6) / 7
	if got := stats[0].Succeeded + stats[1].Succeeded; got != n {
		t.Errorf("%d tasks succeeded, want %d (stats %+v)", got, n, stats)
	}
	if got := stats[0].Failed + stats[1].Failed; got != failing {
		t.Errorf("%d attempts failed, want %d (stats %+v)", got, failing, stats)
	}
	for i := range n {
		id := fmt.Sprintf("t-%03d", i)
		want := 1
		if i%7 == 0 {
			want = 2
		}
		if runs[id] != want {
			t.Errorf("%s ran %d times, want %d", id, runs[id], want)
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: job + tracker.Separator + id}}})
		if err != nil {
			t.Fatal(err)
		}
		value, _ := out.Item[tracker.StatusAttribute].(*types.AttributeValueMemberS)
		if want := fmt.Sprintf("%s____09____%02d", job, tracker.ShardOf(id, shards)); value == nil || value.Value != want {
			t.Errorf("%s's index value is %v, want %s", id, value, want)
		}
	}
	if c, err := first.Count(ctx, job); err != nil || c[tracker.Succeeded] != n {
		t.Errorf("Count = %v, %v; want %d succeeded", c, err, n)
	}
}
