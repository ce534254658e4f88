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
// over a job of 10,000 tasks. It reports refused claims and DynamoDB calls per task (listing
// included), and the pools' tasks/s as a ratio to two floors measured on the same server in
// the same run, with as many goroutines, each right before and right after the pools (their
// mean is the floor, so that a server that speeds up as it warms favours neither side):
//
//   - ratio: against a bare loop of two unconditional UpdateItem calls per task, the least a
//     claim and a completion cost;
//   - ratio-claim: against a loop of tracker.Claim and tracker.Complete per task with the
//     task ids handed out by a counter: the tracker's own writes without any listing, so
//     what the pool adds (listing, refused claims, heartbeats, hand-offs) is 1 - ratio-claim.
//
// Before measuring, the server is warmed with every kind of call (DynamoDB Local's JVM gets
// much faster over its first tens of thousands of calls). With failEvery, every failEvery-th
// task fails once, and each retry must come after the task's backoff.
//
//	scripts/with-dynamodb.sh go test -run '^$' -bench Pools -benchtime 1x ./worker
func BenchmarkPools(b *testing.B) {
	b.Run("all succeed", func(b *testing.B) { benchPools(b, 0) })
	// Every 10th task fails once: its retry must wait out its backoff.
	b.Run("10% fail once", func(b *testing.B) { benchPools(b, 10) })
}

const (
	benchPoolCount = 4
	benchWorkers   = 16
	benchTasks     = 10000
	benchBackoff   = 200 * time.Millisecond
)

func benchPools(b *testing.B, failEvery int) {
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
		for _, j := range []string{"warm", "warm-bare", "warm-claim", job, "bare-1", "bare-2", "claim-1", "claim-2"} {
			n := benchTasks
			if j == "warm" || j == "warm-bare" || j == "warm-claim" {
				n = benchTasks / 2
			}
			createBenchTasks(b, seed, j, n)
		}
		// Warm up: pools, bare writes and claims, untimed.
		runPools(b, ctx, counter, table, "warm", benchTasks/2, 0)
		bareLoop(b, ctx, db, table, "warm-bare", benchTasks/2)
		claimLoop(b, ctx, seed, "warm-claim", benchTasks/2)

		bare1 := bareLoop(b, ctx, db, table, "bare-1", benchTasks)
		claim1 := claimLoop(b, ctx, seed, "claim-1", benchTasks)
		counter.Reset()
		b.StartTimer()
		elapsed, refused := runPools(b, ctx, counter, table, job, benchTasks, failEvery)
		b.StopTimer()
		calls, total := counter.Calls(), counter.Total()
		claim2 := claimLoop(b, ctx, seed, "claim-2", benchTasks)
		bare2 := bareLoop(b, ctx, db, table, "bare-2", benchTasks)

		rate := func(d time.Duration) float64 { return benchTasks / d.Seconds() }
		bare := (rate(bare1) + rate(bare2)) / 2
		claim := (rate(claim1) + rate(claim2)) / 2
		b.ReportMetric(float64(refused)/benchTasks, "refused/task")
		b.ReportMetric(float64(total)/benchTasks, "calls/task")
		b.ReportMetric(rate(elapsed), "tasks/s")
		b.ReportMetric(bare, "bare-tasks/s")
		b.ReportMetric(claim, "claim-tasks/s")
		b.ReportMetric(rate(elapsed)/bare, "ratio")
		b.ReportMetric(rate(elapsed)/claim, "ratio-claim")
		b.Logf("calls %v; bare %.0f then %.0f tasks/s, claim+complete %.0f then %.0f tasks/s",
			calls, rate(bare1), rate(bare2), rate(claim1), rate(claim2))
	}
}

func createBenchTasks(b *testing.B, tr *tracker.Tracker, job string, n int) {
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%05d", i)}
	}
	if _, err := tr.CreateTasks(context.Background(), job, tasks); err != nil {
		b.Fatal(err)
	}
}

// loop runs f(i) for i in [0, n) on as many goroutines as the pools have workers, and
// returns how long it took.
func loop(b *testing.B, n int, f func(i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchPoolCount * benchWorkers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := f(int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// bareLoop makes two unconditional UpdateItem calls on each task of job.
func bareLoop(b *testing.B, ctx context.Context, db *dynamodb.Client, table, job string, n int) time.Duration {
	return loop(b, n, func(i int) error {
		key := map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: fmt.Sprintf("%s____t-%05d", job, i)}}
		for _, v := range []string{"a", "b"} {
			if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key,
				UpdateExpression: aws.String("SET #s = :v"), ExpressionAttributeNames: map[string]string{"#s": "bench"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: v}}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// claimLoop claims and completes each task of job, the ids handed out by a counter.
func claimLoop(b *testing.B, ctx context.Context, tr *tracker.Tracker, job string, n int) time.Duration {
	return loop(b, n, func(i int) error {
		lease, err := tr.Claim(ctx, job, fmt.Sprintf("t-%05d", i), "bench")
		if err != nil {
			return err
		}
		_, err = tr.Complete(ctx, *lease, nil)
		return err
	})
}

// runPools runs the pools over job's n tasks until it has nothing pending, checks that every
// task succeeded (and, with failEvery, that every retry waited out its backoff), and returns
// how long it took and how many claims were refused.
func runPools(b *testing.B, ctx context.Context, counter *dynamotest.Counter, table, job string, n, failEvery int) (time.Duration, int) {
	var stats [benchPoolCount]worker.Stats
	var mu sync.Mutex
	failedAt := map[string]time.Time{}
	early := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i := range benchPoolCount {
		// A client and a Tracker per pool, as separate processes have.
		tr, err := tracker.New(dynamotest.Client(b, counter.Option()), tracker.Config{Table: table, Backoff: benchBackoff})
		if err != nil {
			b.Fatal(err)
		}
		p := &worker.Pool{Tracker: tr, Job: job, Workers: benchWorkers, Owner: fmt.Sprintf("pool-%d", i),
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
				if time.Since(at) < benchBackoff {
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
	succeeded, refused := 0, 0
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
	b.Logf("%s: stats %+v", job, stats)
	return elapsed, refused
}
