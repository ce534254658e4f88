package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

// BenchmarkPools runs pools of benchWorkers workers over a job: one pool, and four as four
// processes would (a client and a Tracker each), on jobs of 1,500 and of 10,000 tasks, and
// last four pools on a job where every 10th task fails once (each retry must come after the
// task's backoff). Each case reports:
//
//   - tasks/s: the pools' throughput, from their start to the end of the last one;
//   - floor-tasks/s: the floor's, measured in the same run (below);
//   - ratio: tasks/s over floor-tasks/s (targets: ≥ 0.9 for one pool, ≥ 0.85 for four);
//   - calls/task: DynamoDB calls per task, listing included;
//   - refused/task: claims refused per task;
//   - cpu-ratio: the CPU time per task of this process and DynamoDB Local together, the
//     floor's over the pools' (with $DYNAMODB_PID): what the ratio would be if the two shared
//     the machine with nothing else, since on a machine that other work shares the ratio
//     moves with that work.
//
// The floor is a loop of two bare conditional UpdateItem calls per task (bareWrites): a
// claim-like one and a complete-like one, on tasks created as the pools' are (the same item
// sizes), with as many goroutines as the pools have workers. It runs right before and right
// after each round of the pools, and the mean of the two is that round's floor, so that a
// server that speeds up or slows down favours neither side. What the pools add to the least
// that a claimed and completed task costs (listing, refused claims, the tracker's fuller
// writes, the client's work) is 1 - ratio.
//
// The counter counts calls alone (dynamotest.Counter.CallsOption): the pools send their
// requests as they would without it, and the floor sends bare ones. Asking DynamoDB Local for
// each write's consumed capacity costs it about a quarter more CPU time a write (1.857 against
// 2.363 ms a task of the floor's two writes, in turns over 10,000 tasks each, 2026-12-07);
// on both sides of the ratio alike, that narrows the gap it shows.
//
// DynamoDB Local's speed drifts by tens of percent over a minute, so a case of several rounds
// (on fresh jobs) reports the median of the rounds' figures; the log has every round's, one
// line each, with the CPU time per task of this process and of the server (with
// $DYNAMODB_PID, as scripts/dynamodb-local.sh prints it). A round during which the server's
// JIT compilers used more than 2 % of its CPU time is run again and not counted (run); the
// log shows its figures, and compiling-rounds how many there were. Before measuring, the server is
// warmed with every shape of load the cases measure (one pool and four, and the floor at both
// their worker counts): its JVM gets much faster over its first tens of thousands of calls,
// and compiles the code a shape's requests take when it first meets them. Warmed with four
// pools alone, the first case (one pool) ran while DynamoDB Local's compiler threads spent
// 1.5 s of CPU time in its first round's pools and 150-180 ms in each of the next five, next
// to nothing in the floors (2026-12-08, a one-off run).
//
//	scripts/with-dynamodb.sh go test -run '^$' -bench Pools -benchtime 1x ./worker
func BenchmarkPools(b *testing.B) {
	ctx := context.Background()
	counter := &dynamotest.Counter{}
	db := dynamotest.Client(b, counter.CallsOption())
	table := dynamotest.TableName(b)
	if err := tracker.CreateTable(ctx, db, table); err != nil {
		b.Fatal(err)
	}
	seed, err := tracker.New(db, tracker.Config{Table: table})
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{ctx: ctx, counter: counter, db: db, table: table, seed: seed}
	// Warm up, untimed, with each shape the cases measure: one pool and four, and the floor
	// at both their worker counts.
	for _, pools := range []int{1, benchPoolCount} {
		p, f := fmt.Sprintf("warm-p%d", pools), fmt.Sprintf("warm-f%d", pools)
		createBenchTasks(b, seed, p, benchWarm)
		createBenchTasks(b, seed, f, benchWarm)
		runPools(b, ctx, counter, table, p, pools, benchWarm, 0)
		runFloor(b, ctx, db, bareWrites(table, f), taskKey(f), benchWarm, pools*benchWorkers)
	}
	for _, c := range []poolCase{
		{pools: 1, tasks: 1500, rounds: 9},
		{pools: benchPoolCount, tasks: 1500, rounds: 9},
		{pools: 1, tasks: 10000, rounds: 7},
		{pools: benchPoolCount, tasks: 10000, rounds: 7},
		{pools: benchPoolCount, tasks: 1500, rounds: 1, failEvery: 10},
	} {
		b.Run(c.name(), func(b *testing.B) {
			for range b.N {
				e.run(b, c)
			}
		})
	}
}

const (
	benchPoolCount  = 4
	benchWorkers    = 16
	benchWarm       = 6000 // tasks of each warm-up loop
	benchFloorTasks = 800  // tasks of each floor's loop, at least (a fifth of the pools' job)
	benchBackoff    = 200 * time.Millisecond
)

// poolCase is a case of BenchmarkPools: pools pools on a job of tasks tasks, rounds times;
// with failEvery, every failEvery-th task fails once.
type poolCase struct {
	pools, tasks, rounds, failEvery int
}

func (c poolCase) name() string {
	name := fmt.Sprintf("pools=%d/tasks=%d", c.pools, c.tasks)
	if c.failEvery > 0 {
		name += fmt.Sprintf("/fail=1in%d", c.failEvery)
	}
	return name
}

// benchEnv is what the cases of BenchmarkPools share: the table, a client and a Tracker on it,
// and the counter of every call made through them and the pools' clients.
type benchEnv struct {
	ctx     context.Context
	counter *dynamotest.Counter
	db      *dynamodb.Client
	table   string
	seed    *tracker.Tracker
}

// benchJITShare: a round during which DynamoDB Local's JIT compiler threads used more than
// this share of its CPU time is not measured but run again, on fresh jobs (see run).
const benchJITShare = 0.02

// run runs case c's rounds, each between two floors, and reports the medians. A round during
// which the server's compilers were busy (benchJITShare) is run again, up to one time more
// than the case has rounds, and its figures are logged beside the next round's, not counted
// (when no round ran without, they all count; compiling-rounds reports how many there were):
// the compilers take CPU time from the server, on this machine's two cores, in the phase they
// happen to fall in, most often the pools' (whose requests take more of the server's code
// paths), late and at random even after the warm-up (docs/benchmarks.md, run AW).
func (e *benchEnv) run(b *testing.B, c poolCase) {
	b.StopTimer()
	var kept, all []roundResult
	var lines, left []string // left: the figures of the rounds run again since the last one kept
	for attempt := 0; len(kept) < c.rounds && attempt <= 2*c.rounds; attempt++ {
		r := e.round(b, c, attempt)
		all = append(all, r)
		if r.server > 0 && r.jit.Seconds() > benchJITShare*r.server.Seconds() {
			left = append(left, fmt.Sprintf("ratio %.3f, compilers %d of the server's %d ms", r.ratio, r.jit.Milliseconds(), r.server.Milliseconds()))
			continue
		}
		line := fmt.Sprintf("round %d: %s", len(kept), r.line)
		if len(left) > 0 {
			line += "; run again before it, the server compiling: " + strings.Join(left, "; ")
			left = nil
		}
		lines, kept = append(lines, line), append(kept, r)
	}
	compiling := len(all) - len(kept)
	switch {
	case len(kept) == 0: // every round ran while the server compiled: they count, and say so
		for i, r := range all {
			lines = append(lines, fmt.Sprintf("round %d, the server compiling (no round without): %s", i, r.line))
		}
		kept = all
	case len(left) > 0: // on the last line: a benchmark's log keeps 10 lines
		lines[len(lines)-1] += "; not counted after it, the server compiling: " + strings.Join(left, "; ")
	}
	for _, line := range lines {
		b.Log(line)
	}
	pick := func(f func(roundResult) float64) float64 {
		xs := make([]float64, 0, len(kept))
		for _, r := range kept {
			if x := f(r); x >= 0 {
				xs = append(xs, x)
			}
		}
		if len(xs) == 0 {
			return -1
		}
		return median(xs)
	}
	b.ReportMetric(pick(func(r roundResult) float64 { return r.rate }), "tasks/s")
	b.ReportMetric(pick(func(r roundResult) float64 { return r.floor }), "floor-tasks/s")
	b.ReportMetric(pick(func(r roundResult) float64 { return r.ratio }), "ratio")
	b.ReportMetric(pick(func(r roundResult) float64 { return r.calls }), "calls/task")
	b.ReportMetric(pick(func(r roundResult) float64 { return r.refused }), "refused/task")
	b.ReportMetric(float64(compiling), "compiling-rounds")
	if cpu := pick(func(r roundResult) float64 { return r.cpuRatio }); cpu >= 0 {
		b.ReportMetric(cpu, "cpu-ratio")
	}
}

// roundResult is one round of a case of BenchmarkPools: its figures, the CPU time the server
// and its compilers used over it (0 where readCPU reads none), and its log line.
type roundResult struct {
	ratio, rate, floor, refused, calls float64
	cpuRatio                           float64 // -1 when the server's CPU time is unknown
	server, jit                        time.Duration
	line                               string
}

// round runs attempt's round of case c: the pools on a fresh job, between two floors.
func (e *benchEnv) round(b *testing.B, c poolCase, attempt int) roundResult {
	goroutines := c.pools * benchWorkers
	// Jobs of the same name length: the same item sizes.
	jobs := [3]string{}
	for k, part := range []string{"p", "a", "b"} {
		jobs[k] = fmt.Sprintf("%d-%05d-%d%02d-%s", c.pools, c.tasks, c.failEvery, attempt, part)
	}
	createBenchTasks(b, e.seed, jobs[0], c.tasks)
	floorTasks := max(benchFloorTasks, c.tasks/5)
	createBenchTasks(b, e.seed, jobs[1], floorTasks)
	createBenchTasks(b, e.seed, jobs[2], floorTasks)
	cpu0 := readCPU()
	before := runFloor(b, e.ctx, e.db, bareWrites(e.table, jobs[1]), taskKey(jobs[1]), floorTasks, goroutines)
	e.counter.Reset()
	cpu1 := readCPU()
	b.StartTimer()
	elapsed, refused := runPools(b, e.ctx, e.counter, e.table, jobs[0], c.pools, c.tasks, c.failEvery)
	b.StopTimer()
	cpu2 := readCPU()
	calls, total := e.counter.Calls(), e.counter.Total()
	after := runFloor(b, e.ctx, e.db, bareWrites(e.table, jobs[2]), taskKey(jobs[2]), floorTasks, goroutines)
	cpu3 := readCPU()
	if c.failEvery == 0 {
		checkSameAttributes(b, e.ctx, e.db, e.table, taskKey(jobs[0])(1), taskKey(jobs[1])(1))
	}

	rate := func(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
	r := roundResult{floor: (rate(floorTasks, before) + rate(floorTasks, after)) / 2, rate: rate(c.tasks, elapsed),
		refused: float64(refused) / float64(c.tasks), calls: float64(total) / float64(c.tasks), cpuRatio: -1,
		server: cpu3.server - cpu0.server, jit: cpu3.jit - cpu0.jit}
	r.ratio = r.rate / r.floor
	poolsCPU, floorCPU := cpu2.sub(cpu1), cpu3.sub(cpu2).add(cpu1.sub(cpu0))
	if poolsCPU.server > 0 {
		r.cpuRatio = (floorCPU.total().Seconds() / float64(2*floorTasks)) / (poolsCPU.total().Seconds() / float64(c.tasks))
	}
	r.line = fmt.Sprintf("ratio %.3f; %.0f tasks/s; floor %.0f then %.0f tasks/s; %d refused; calls %v; CPU ms/task of client and server: pools %s, floors %s; compilers %d ms",
		r.ratio, r.rate, rate(floorTasks, before), rate(floorTasks, after), refused, calls,
		poolsCPU.per(cpuTimes{}, c.tasks), floorCPU.per(cpuTimes{}, 2*floorTasks), r.jit.Milliseconds())
	return r
}

// median returns the middle one of xs (the mean of the two middle ones for an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}

// createBenchTasks creates the tasks t-00000 to t-{n-1} of job, without data.
func createBenchTasks(b *testing.B, tr *tracker.Tracker, job string, n int) {
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%05d", i)}
	}
	if _, err := tr.CreateTasks(context.Background(), job, tasks); err != nil {
		b.Fatal(err)
	}
}

// taskKey is the key of createBenchTasks' task i of job.
func taskKey(job string) func(i int) string {
	return func(i int) string { return fmt.Sprintf("%s%st-%05d", job, tracker.Separator, i) }
}

// floorJob is the job of the tasks of BenchmarkWriteFloors, and of the writes captureWrites
// captures.
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

// floorKey is the key of createFloorTasks' task i of prefix.
func floorKey(prefix string) func(i int) string {
	return func(i int) string { return fmt.Sprintf("%s%s%s-t-%05d", floorJob, tracker.Separator, prefix, i) }
}

// loop runs f(i) for i in [0, n) on goroutines goroutines, and returns how long it took.
func loop(b *testing.B, n, goroutines int, f func(i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
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

// runFloor makes f's two calls on each of the n tasks that key names, on goroutines
// goroutines, and returns how long it took.
func runFloor(b *testing.B, ctx context.Context, db *dynamodb.Client, f floor, key func(i int) string, n, goroutines int) time.Duration {
	return loop(b, n, goroutines, func(i int) error {
		for step := range 2 {
			in := f(step)
			in.Key = map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: key(i)}}
			if _, err := db.UpdateItem(ctx, in); err != nil {
				return err
			}
		}
		return nil
	})
}

// bareWrites are the floor of BenchmarkPools on the tasks of job: a claim-like write that
// sets a todo task in progress with a lock, and a complete-like one that sets it succeeded
// with the lock NULL. They write the attributes a pool's claim and completion write, in the
// same formats, so that they leave items of the same sizes (checkSameAttributes), but bare:
// plain SETs under a one-clause condition (the status is todo; the lock is that one),
// returning nothing.
func bareWrites(table, job string) floor {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	value := func(code int) types.AttributeValue { return s(fmt.Sprintf("%s%s%02d", job, tracker.Separator, code)) }
	codes := tracker.DefaultStatusCodes
	lock, now := s("0123456789abcdef0123456789abcdef"), s(time.Now().UTC().Format(tracker.TimeLayout))
	claim := &dynamodb.UpdateItemInput{TableName: aws.String(table),
		ConditionExpression: aws.String("#v = :todo"),
		UpdateExpression:    aws.String("SET #v = :run, #u = :now, #l = :lock, #t = :now, #o = :owner, #a = :one, #h = :empty"),
		ExpressionAttributeNames: map[string]string{"#v": tracker.StatusAttribute, "#u": "update_time", "#l": "lock", "#t": "lock_time",
			"#o": "lock_owner", "#a": "attempts", "#h": "history"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":todo": value(codes.Todo), ":run": value(codes.InProgress),
			":now": now, ":lock": lock, ":owner": s("pool-0/10"), ":one": n("1"), ":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}}
	complete := &dynamodb.UpdateItemInput{TableName: aws.String(table),
		ConditionExpression: aws.String("#l = :lock"),
		UpdateExpression:    aws.String("SET #v = :done, #u = :now, #l = :null, #r = :zero, #ll = :lock, #lo = :complete"),
		ExpressionAttributeNames: map[string]string{"#v": tracker.StatusAttribute, "#u": "update_time", "#l": "lock", "#r": "retry",
			"#ll": "last_lock", "#lo": "last_outcome"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": value(codes.Succeeded), ":now": now,
			":null": &types.AttributeValueMemberNULL{Value: true}, ":zero": n("0"), ":lock": lock, ":complete": s("complete")}}
	return func(step int) *dynamodb.UpdateItemInput {
		c := *[]*dynamodb.UpdateItemInput{claim, complete}[step]
		return &c
	}
}

// checkSameAttributes fails b unless the items of keys a and b have the same attributes, of
// the same types: the floor's writes leave items like the pools'.
func checkSameAttributes(b *testing.B, ctx context.Context, db *dynamodb.Client, table, keyA, keyB string) {
	shape := func(key string) string {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: key}}})
		if err != nil {
			b.Fatal(err)
		}
		var attrs []string
		for name, v := range out.Item {
			attrs = append(attrs, fmt.Sprintf("%s:%T", name, v))
		}
		slices.Sort(attrs)
		return strings.Join(attrs, " ")
	}
	if a, c := shape(keyA), shape(keyB); a != c {
		b.Fatalf("the floor's items differ from the pools':\n%s: %s\n%s: %s", keyA, a, keyB, c)
	}
}

// unconditionalWrites set one attribute that is no key, without a condition.
func unconditionalWrites(table string) floor {
	return func(step int) *dynamodb.UpdateItemInput {
		return &dynamodb.UpdateItemInput{TableName: aws.String(table), UpdateExpression: aws.String("SET #s = :v"),
			ExpressionAttributeNames:  map[string]string{"#s": "bench"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(step)}}}
	}
}

// trackerWrites are the tracker's claim and completion as it sends them.
func trackerWrites(claim, complete *dynamodb.UpdateItemInput) floor {
	return func(step int) *dynamodb.UpdateItemInput {
		c := *[]*dynamodb.UpdateItemInput{claim, complete}[step]
		return &c
	}
}

// runPools runs pools pools (a client and a Tracker each) over job's n tasks until it has
// nothing pending, checks that every task succeeded (and, with failEvery, that every retry
// waited out its backoff), and returns how long it took and how many claims were refused.
func runPools(b *testing.B, ctx context.Context, counter *dynamotest.Counter, table, job string, pools, n, failEvery int) (time.Duration, int) {
	stats := make([]worker.Stats, pools)
	var mu sync.Mutex
	failedAt := map[string]time.Time{}
	early := 0
	var wg sync.WaitGroup
	start := time.Now()
	for i := range pools {
		// A client and a Tracker per pool, as separate processes have.
		tr, err := tracker.New(dynamotest.Client(b, counter.CallsOption()), tracker.Config{Table: table, Backoff: benchBackoff})
		if err != nil {
			b.Fatal(err)
		}
		p := &worker.Pool{Tracker: tr, Job: job, Workers: benchWorkers, Owner: fmt.Sprintf("pool-%d", i),
			Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
				if failEvery == 0 {
					return nil, nil // no work: the floor has none
				}
				var k int
				fmt.Sscanf(task.TaskID, "t-%d", &k)
				if k%failEvery != 0 {
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

// BenchmarkWriteFloors sets the floor of BenchmarkPools beside two other loops of two
// UpdateItem calls per task: two unconditional calls that set one attribute, and the
// tracker's own claim and completion as a pool sends them (captured from a pool's run). They
// run in turns on chunks of fresh tasks with as many goroutines as four pools have workers,
// so that drift of the server favours none, and it reports the floor's tasks/s and each
// other loop's as a ratio to it: what the conditions cost, and how far the tracker's writes
// alone keep the pools from the floor.
//
//	scripts/with-dynamodb.sh go test -run '^$' -bench WriteFloors -benchtime 1x ./worker
func BenchmarkWriteFloors(b *testing.B) {
	const chunk, rounds, warm = 400, 8, 2
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
			{name: "floor", f: bareWrites(table, floorJob)},
			{name: "unconditional", f: unconditionalWrites(table)},
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
				took := runFloor(b, ctx, db, f.f, floorKey(fmt.Sprintf("%s-%d", f.name, r)), chunk, benchPoolCount*benchWorkers)
				if r >= warm {
					f.took += took
				}
			}
		}
		rate := func(f *named) float64 { return float64(chunk*(rounds-warm)) / f.took.Seconds() }
		b.ReportMetric(rate(floors[0]), "floor-tasks/s")
		b.ReportMetric(rate(floors[1])/rate(floors[0]), "unconditional-ratio")
		b.ReportMetric(rate(floors[2])/rate(floors[0]), "tracker-ratio")
	}
}

// captureWrites runs a pool over a task of floorJob in table and returns the two UpdateItem
// inputs it sent: its claim and its completion.
func captureWrites(b *testing.B, ctx context.Context, table string) (claim, complete *dynamodb.UpdateItemInput) {
	var mu sync.Mutex
	var sent []*dynamodb.UpdateItemInput
	capture := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("capture", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if u, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
					c := *u
					mu.Lock()
					sent = append(sent, &c)
					mu.Unlock()
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
	mu.Lock()
	sent = nil
	mu.Unlock()
	p := &worker.Pool{Tracker: tr, Job: floorJob, Workers: 1, Owner: "pool-0",
		Handler: func(context.Context, *tracker.Task) (json.RawMessage, error) { return nil, nil }}
	if st, err := p.Run(ctx); err != nil || st.Succeeded != 1 {
		b.Fatalf("a pool over one task: %+v, %v", st, err)
	}
	if len(sent) != 2 {
		b.Fatalf("a pool's claim and completion sent %d UpdateItem calls, want 2", len(sent))
	}
	return sent[0], sent[1]
}

// cpuTimes are this process's and DynamoDB Local's CPU time so far, and that of the server's
// JIT compiler threads, part of the server's (readCPU).
type cpuTimes struct{ client, server, jit time.Duration }

func (c cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{c.client - o.client, c.server - o.server, c.jit - o.jit}
}
func (c cpuTimes) add(o cpuTimes) cpuTimes {
	return cpuTimes{c.client + o.client, c.server + o.server, c.jit + o.jit}
}
func (c cpuTimes) total() time.Duration { return c.client + c.server }

// per is the CPU time per task of n tasks since since, in ms, as "(client, server)".
func (c cpuTimes) per(since cpuTimes, n int) string {
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
	return fmt.Sprintf("(%.3f, %.3f)", ms(c.client-since.client), ms(c.server-since.server))
}
