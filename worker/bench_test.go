package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

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

// BenchmarkWriteFloors splits the floor of BenchmarkPools: per task, two bare UpdateItem
// calls; two that change only the task's status (its index key: the least any tracker
// writes); the tracker's own claim and completion updates (captured from a Claim and a
// Complete) without their conditions; and the same as the tracker sends them, conditions
// included. They run in turns on chunks of fresh tasks, so that drift of the server
// favours none, and it reports each one's tasks/s as a ratio to the bare calls: how much of
// the pools' distance to the bare loop is the writes' own cost.
//
//	scripts/with-dynamodb.sh go test -run '^$' -bench WriteFloors -benchtime 1x ./worker
func BenchmarkWriteFloors(b *testing.B) {
	const chunk, rounds, warm = 400, 10, 2
	ctx := context.Background()
	for range b.N {
		db := dynamotest.Client(b)
		table := dynamotest.TableName(b)
		if err := tracker.CreateTable(ctx, db, table); err != nil {
			b.Fatal(err)
		}
		tr, err := tracker.New(db, tracker.Config{Table: table})
		if err != nil {
			b.Fatal(err)
		}
		claim, complete := captureWrites(b, ctx, table)
		type floor struct {
			name  string
			input func(step int) *dynamodb.UpdateItemInput // without its key
			took  time.Duration
		}
		floors := []*floor{
			{name: "bare", input: func(step int) *dynamodb.UpdateItemInput {
				return &dynamodb.UpdateItemInput{TableName: aws.String(table), UpdateExpression: aws.String("SET #s = :v"),
					ExpressionAttributeNames:  map[string]string{"#s": "bench"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(step)}}}
			}},
			{name: "status", input: func(step int) *dynamodb.UpdateItemInput {
				return &dynamodb.UpdateItemInput{TableName: aws.String(table), UpdateExpression: aws.String("SET #s = :v"),
					ExpressionAttributeNames:  map[string]string{"#s": tracker.StatusAttribute},
					ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: []string{"j____03", "j____09"}[step]}}}
			}},
			{name: "updates", input: func(step int) *dynamodb.UpdateItemInput {
				return withoutCondition([]*dynamodb.UpdateItemInput{claim, complete}[step])
			}},
			{name: "tracker", input: func(step int) *dynamodb.UpdateItemInput {
				c := *[]*dynamodb.UpdateItemInput{claim, complete}[step]
				return &c
			}},
		}
		for _, f := range floors {
			tasks := make([]tracker.NewTask, chunk*rounds)
			for i := range tasks {
				tasks[i] = tracker.NewTask{ID: fmt.Sprintf("%s-t-%05d", f.name, i)}
			}
			if _, err := tr.CreateTasks(ctx, "j", tasks); err != nil {
				b.Fatal(err)
			}
		}
		for r := range rounds {
			for k := range floors {
				f := floors[(k+r)%len(floors)]
				took := loop(b, chunk, func(i int) error {
					for step := range 2 {
						in := f.input(step)
						// Every floor writes tasks of the job "j" that the captured writes name.
						in.Key = map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: fmt.Sprintf("j____%s-t-%05d", f.name, r*chunk+i)}}
						if _, err := db.UpdateItem(ctx, in); err != nil {
							return err
						}
					}
					return nil
				})
				if r >= warm {
					f.took += took
				}
			}
		}
		rate := func(f *floor) float64 { return float64(chunk*(rounds-warm)) / f.took.Seconds() }
		b.ReportMetric(rate(floors[0]), "bare-tasks/s")
		b.ReportMetric(rate(floors[1])/rate(floors[0]), "status-ratio")
		b.ReportMetric(rate(floors[2])/rate(floors[0]), "updates-ratio")
		b.ReportMetric(rate(floors[3])/rate(floors[0]), "tracker-ratio")
	}
}

// captureWrites claims and completes a task of job "j" in table and returns the two
// UpdateItem inputs the tracker sent.
func captureWrites(b *testing.B, ctx context.Context, table string) (claim, complete *dynamodb.UpdateItemInput) {
	var sent []*dynamodb.UpdateItemInput
	capture := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("capture", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if u, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
					c := *u
					sent = append(sent, &c)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	}
	tr, err := tracker.New(dynamotest.Client(b, capture), tracker.Config{Table: table})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "probe"}}); err != nil {
		b.Fatal(err)
	}
	sent = nil
	lease, err := tr.Claim(ctx, "j", "probe", "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tr.Complete(ctx, *lease, nil); err != nil {
		b.Fatal(err)
	}
	if len(sent) != 2 {
		b.Fatalf("a claim and a completion sent %d UpdateItem calls, want 2", len(sent))
	}
	return sent[0], sent[1]
}

// withoutCondition is in without its condition, and without the names and values only the
// condition used.
func withoutCondition(in *dynamodb.UpdateItemInput) *dynamodb.UpdateItemInput {
	c := *in
	c.ConditionExpression, c.ReturnValuesOnConditionCheckFailure = nil, ""
	used := func(placeholder string) bool {
		// The expression builder numbers placeholders (#0, :1): match whole ones.
		return regexp.MustCompile(regexp.QuoteMeta(placeholder) + `\b`).MatchString(aws.ToString(in.UpdateExpression))
	}
	c.ExpressionAttributeNames = map[string]string{}
	for k, v := range in.ExpressionAttributeNames {
		if used(k) {
			c.ExpressionAttributeNames[k] = v
		}
	}
	c.ExpressionAttributeValues = map[string]types.AttributeValue{}
	for k, v := range in.ExpressionAttributeValues {
		if used(k) {
			c.ExpressionAttributeValues[k] = v
		}
	}
	return &c
}
