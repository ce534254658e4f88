package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
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
// over a job of 10,000 tasks, benchRounds times on fresh jobs. It reports refused claims and
// DynamoDB calls per task (listing included), and the pools' tasks/s as a ratio to two
// floors, loops of two bare UpdateItem calls per task run on the same server with as many
// goroutines as the pools have workers, each right before and right after each pools' run
// (their mean is that run's floor, so that a server that speeds up or slows down favours
// neither side):
//
//   - ratio: the two calls are the tracker's own claim and completion, captured from a Claim
//     and a Complete and sent as they are with each task's key: the least a claimed and
//     completed task costs, so what the pools add (listing, refused claims, hand-offs,
//     heartbeats) is 1 - ratio;
//   - ratio-unconditional: the two calls set one attribute, without a condition; how far
//     that is from the tracker's writes on DynamoDB Local, BenchmarkWriteFloors measures.
//
// DynamoDB Local's speed drifts by tens of percent over a minute, and a round's ratio by
// ±10 % between rounds, so each figure is the median of the rounds' (the log has every
// round's, one line each). Before measuring, the server is warmed
// with every kind of call (its JVM gets much faster over its first tens of thousands of
// calls). With failEvery, every failEvery-th task fails once, and each retry must come after
// the task's backoff. The log also has the CPU time per task of this process and of the
// server (with $DYNAMODB_PID, as scripts/dynamodb-local.sh prints it).
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
	benchFloor     = benchTasks / 2 // tasks of each floor's loop
	benchRounds    = 5
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
		claim, complete := captureWrites(b, ctx, table)
		writes, unconditional := trackerWrites(claim, complete), unconditionalWrites(table)
		// Warm up: pools and both floors, untimed.
		createBenchTasks(b, seed, "warm", benchTasks/2)
		createFloorTasks(b, seed, "warm-w", benchFloor)
		createFloorTasks(b, seed, "warm-u", benchFloor)
		runPools(b, ctx, counter, table, "warm", benchTasks/2, 0)
		runFloor(b, ctx, db, writes, "warm-w", benchFloor)
		runFloor(b, ctx, db, unconditional, "warm-u", benchFloor)

		var ratios, uncondRatios, rates, refusals, callCounts []float64
		for r := range benchRounds {
			job := fmt.Sprintf("%s-%d", job, r)
			createBenchTasks(b, seed, job, benchTasks)
			for _, prefix := range []string{"w-1", "w-2", "u-1", "u-2"} {
				createFloorTasks(b, seed, fmt.Sprintf("%s-%d", prefix, r), benchFloor)
			}
			cpu0 := readCPU()
			writes1 := runFloor(b, ctx, db, writes, fmt.Sprintf("w-1-%d", r), benchFloor)
			uncond1 := runFloor(b, ctx, db, unconditional, fmt.Sprintf("u-1-%d", r), benchFloor)
			counter.Reset()
			cpu1 := readCPU()
			b.StartTimer()
			elapsed, refused := runPools(b, ctx, counter, table, job, benchTasks, failEvery)
			b.StopTimer()
			cpu2 := readCPU()
			calls, total := counter.Calls(), counter.Total()
			uncond2 := runFloor(b, ctx, db, unconditional, fmt.Sprintf("u-2-%d", r), benchFloor)
			writes2 := runFloor(b, ctx, db, writes, fmt.Sprintf("w-2-%d", r), benchFloor)
			cpu3 := readCPU()

			rate := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
			floorWrites := (rate(benchFloor, writes1) + rate(benchFloor, writes2)) / 2
			floorUncond := (rate(benchFloor, uncond1) + rate(benchFloor, uncond2)) / 2
			pools := rate(benchTasks, elapsed)
			ratios = append(ratios, pools/floorWrites)
			uncondRatios = append(uncondRatios, pools/floorUncond)
			rates = append(rates, pools)
			refusals = append(refusals, float64(refused)/benchTasks)
			callCounts = append(callCounts, float64(total)/benchTasks)
			b.Logf("round %d: ratio %.3f, unconditional %.3f; %.0f tasks/s; the tracker's writes %.0f then %.0f tasks/s, unconditional writes %.0f then %.0f; %d refused; calls %v; CPU ms/task of client and server: pools %s, floors %s",
				r, pools/floorWrites, pools/floorUncond, pools, rate(benchFloor, writes1), rate(benchFloor, writes2), rate(benchFloor, uncond1), rate(benchFloor, uncond2),
				refused, calls, cpu2.per(cpu1, benchTasks), cpu3.sub(cpu2).add(cpu1.sub(cpu0)).per(cpuTimes{}, 4*benchFloor))
		}
		b.ReportMetric(median(refusals), "refused/task")
		b.ReportMetric(median(callCounts), "calls/task")
		b.ReportMetric(median(rates), "tasks/s")
		b.ReportMetric(median(ratios), "ratio")
		b.ReportMetric(median(uncondRatios), "ratio-unconditional")
	}
}

// median returns the middle one of xs (the mean of the two middle ones for an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
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

// floorJob is the job of a floor's tasks: the job of the writes captureWrites captures.
const floorJob = "j"

// createFloorTasks creates n tasks of floorJob for a floor, prefix-t-00000 on.
func createFloorTasks(b *testing.B, tr *tracker.Tracker, prefix string, n int) {
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("%s-t-%05d", prefix, i)}
	}
	if _, err := tr.CreateTasks(context.Background(), floorJob, tasks); err != nil {
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

// A floor is a loop of two bare UpdateItem calls per task: call gives call step (0, 1)
// without its key.
type floor func(step int) *dynamodb.UpdateItemInput

// runFloor makes f's two calls on each of the n tasks of createFloorTasks(prefix) and returns
// how long it took.
func runFloor(b *testing.B, ctx context.Context, db *dynamodb.Client, f floor, prefix string, n int) time.Duration {
	return loop(b, n, func(i int) error {
		for step := range 2 {
			in := f(step)
			in.Key = map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: fmt.Sprintf("%s%s%s-t-%05d", floorJob, tracker.Separator, prefix, i)}}
			if _, err := db.UpdateItem(ctx, in); err != nil {
				return err
			}
		}
		return nil
	})
}

// unconditionalWrites set one attribute that is no key, without a condition.
func unconditionalWrites(table string) floor {
	return func(step int) *dynamodb.UpdateItemInput {
		return &dynamodb.UpdateItemInput{TableName: aws.String(table), UpdateExpression: aws.String("SET #s = :v"),
			ExpressionAttributeNames:  map[string]string{"#s": "bench"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(step)}}}
	}
}

// statusWrites change only the status (the index key: the least any tracker writes).
func statusWrites(table string) floor {
	return func(step int) *dynamodb.UpdateItemInput {
		return &dynamodb.UpdateItemInput{TableName: aws.String(table), UpdateExpression: aws.String("SET #s = :v"),
			ExpressionAttributeNames: map[string]string{"#s": tracker.StatusAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{
				Value: []string{floorJob + tracker.Separator + "03", floorJob + tracker.Separator + "09"}[step]}}}
	}
}

// trackerWrites are the tracker's claim and completion as it sends them.
func trackerWrites(claim, complete *dynamodb.UpdateItemInput) floor {
	return func(step int) *dynamodb.UpdateItemInput {
		c := *[]*dynamodb.UpdateItemInput{claim, complete}[step]
		return &c
	}
}

// trackerUpdates are the tracker's claim and completion without their conditions.
func trackerUpdates(claim, complete *dynamodb.UpdateItemInput) floor {
	return func(step int) *dynamodb.UpdateItemInput {
		return withoutCondition([]*dynamodb.UpdateItemInput{claim, complete}[step])
	}
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
		type named struct {
			name string
			f    floor
			took time.Duration
		}
		floors := []*named{
			{name: "bare", f: unconditionalWrites(table)},
			{name: "status", f: statusWrites(table)},
			{name: "updates", f: trackerUpdates(claim, complete)},
			{name: "tracker", f: trackerWrites(claim, complete)},
		}
		for r := range rounds {
			for _, f := range floors {
				createFloorTasks(b, tr, fmt.Sprintf("%s-%d", f.name, r), chunk)
			}
		}
		for r := range rounds {
			for k := range floors {
				f := floors[(k+r)%len(floors)]
				took := runFloor(b, ctx, db, f.f, fmt.Sprintf("%s-%d", f.name, r), chunk)
				if r >= warm {
					f.took += took
				}
			}
		}
		rate := func(f *named) float64 { return float64(chunk*(rounds-warm)) / f.took.Seconds() }
		b.ReportMetric(rate(floors[0]), "bare-tasks/s")
		b.ReportMetric(rate(floors[1])/rate(floors[0]), "status-ratio")
		b.ReportMetric(rate(floors[2])/rate(floors[0]), "updates-ratio")
		b.ReportMetric(rate(floors[3])/rate(floors[0]), "tracker-ratio")
	}
}

// captureWrites claims and completes a task of floorJob in table and returns the two
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
	if _, err := tr.CreateTasks(ctx, floorJob, []tracker.NewTask{{ID: "probe"}}); err != nil {
		b.Fatal(err)
	}
	sent = nil
	lease, err := tr.Claim(ctx, floorJob, "probe", "bench")
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

// cpuTimes are this process's and DynamoDB Local's CPU time so far (readCPU).
type cpuTimes struct{ client, server time.Duration }

func (c cpuTimes) sub(o cpuTimes) cpuTimes { return cpuTimes{c.client - o.client, c.server - o.server} }
func (c cpuTimes) add(o cpuTimes) cpuTimes { return cpuTimes{c.client + o.client, c.server + o.server} }

// per is the CPU time per task of n tasks since since, in ms, as "(client, server)".
func (c cpuTimes) per(since cpuTimes, n int) string {
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
	return fmt.Sprintf("(%.3f, %.3f)", ms(c.client-since.client), ms(c.server-since.server))
}
