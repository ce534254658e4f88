package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/worker"
)

// BenchmarkPools runs 4 pools (as 4 processes: a client and a Tracker each) of 16 workers
// over a job of 10,000 tasks, and, in the same run and table, a bare loop of two UpdateItem
// calls per task with as many goroutines: the least a claim and a completion cost. It reports
// refused claims and DynamoDB calls per task (listing included), and the pools' tasks/s as a
// ratio to the bare loop's; with failEvery, every failEvery-th task fails once, and each
// retry must come after the task's backoff.
//
//	scripts/with-dynamodb.sh go test -run '^$' -bench Pools -benchtime 1x ./worker
func BenchmarkPools(b *testing.B) {
	b.Run("all succeed", func(b *testing.B) { benchPools(b, 0) })
	// Every 10th task fails once: its retry must wait out its backoff.
	b.Run("10% fail once", func(b *testing.B) { benchPools(b, 10) })
}

func benchPools(b *testing.B, failEvery int) {
	const pools, workers, n = 4, 16, 10000
	const backoff = 200 * time.Millisecond
	ctx := context.Background()
	counter := &dynamotest.Counter{}
	for range b.N {
		b.StopTimer()
		db := dynamotest.Client(b, counter.Option())
		table := dynamotest.TableName(b)
		if err := tracker.CreateTable(ctx, db, table); err != nil {
			b.Fatal(err)
		}
		seed, err := tracker.New(db, tracker.Config{Table: table})
		if err != nil {
			b.Fatal(err)
		}
		tasks := make([]tracker.NewTask, n)
		for i := range tasks {
			tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%05d", i)}
		}
		for _, j := range []string{job, "bare"} {
			if _, err := seed.CreateTasks(ctx, j, tasks); err != nil {
				b.Fatal(err)
			}
		}

		// The bare loop: two unconditional UpdateItem calls per task.
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range pools * workers {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
					key := map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: fmt.Sprintf("bare____t-%05d", i)}}
					for _, v := range []string{"a", "b"} {
						if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key,
							UpdateExpression: aws.String("SET #s = :v"), ExpressionAttributeNames: map[string]string{"#s": "bench"},
							ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: v}}}); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		bare := time.Since(start)

		counter.Reset()
		b.StartTimer()
		var stats [pools]worker.Stats
		var mu sync.Mutex
		failedAt := map[string]time.Time{}
		early := 0
		start = time.Now()
		for i := range pools {
			tr, err := tracker.New(dynamotest.Client(b, counter.Option()), tracker.Config{Table: table, Backoff: backoff})
			if err != nil {
				b.Fatal(err)
			}
			p := &worker.Pool{Tracker: tr, Job: job, Workers: workers, Owner: fmt.Sprintf("pool-%d", i),
				Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
					var k int
					fmt.Sscanf(task.TaskID, "t-%d", &k)
					if failEvery == 0 || k%failEvery != 0 {
						return nil, nil
					}
					mu.Lock()
					defer mu.Unlock()
					at, failed := failedAt[task.TaskID]
					if !failed {
						failedAt[task.TaskID] = time.Now()
						return nil, fmt.Errorf("fails once")
					}
					if time.Since(at) < backoff {
						early++
					}
					return nil, nil
				}}
			wg.Go(func() {
				st, err := p.Run(ctx)
				if err != nil {
					b.Error(err)
				}
				stats[i] = st
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()

		var succeeded, refused int
		for _, st := range stats {
			succeeded += st.Succeeded
			refused += st.Refused
		}
		if succeeded != n {
			b.Fatalf("%d tasks succeeded, want %d (stats %+v)", succeeded, n, stats)
		}
		if failEvery > 0 && (len(failedAt) != n/failEvery || early > 0) {
			b.Fatalf("%d tasks failed once (want %d), %d retried before their backoff ran out", len(failedAt), n/failEvery, early)
		}
		b.ReportMetric(float64(refused)/n, "refused/task")
		b.ReportMetric(float64(counter.Total())/n, "calls/task")
		b.ReportMetric(n/elapsed.Seconds(), "tasks/s")
		b.ReportMetric(n/bare.Seconds(), "bare-tasks/s")
		b.ReportMetric(bare.Seconds()/elapsed.Seconds(), "ratio")
		b.Logf("calls %v; stats %+v", counter.Calls(), stats)
	}
}
