package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The triage figures, on DynamoDB Local (make bench runs them once: -bench Triage
// -benchtime 1x). Each sets up its own table; b.N is not used.

// triageTable is a fresh table, a tracker on it (the real clock) and the CLI's environment.
func triageTable(b *testing.B, opts ...func(*dynamodb.Options)) (*tracker.Tracker, *dynamodb.Client, *cli) {
	b.Helper()
	db, table := trackertest.Table(b, opts...)
	tr, err := tracker.New(db, tracker.Config{Table: table})
	if err != nil {
		b.Fatal(err)
	}
	o := db.Options()
	creds, err := o.Credentials.Retrieve(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	c := &cli{env: map[string]string{envTable: table, envEndpoint: aws.ToString(o.BaseEndpoint), envRegion: o.Region,
		"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey}}
	return tr, db, c
}

// failure is group g's failure of task id: a Python worker's, its type and its frame the
// group's own, the task id in its message.
func failure(g int, id string) tracker.Failure {
	return tracker.Failure{Error: fmt.Sprintf("Error%02d: task %s could not be read", g, id),
		Traceback: fmt.Sprintf("Traceback (most recent call last):\n  File \"/var/task/handler.py\", line %d, in handler\n    step_%02d(event)\n", 10+g, g)}
}

// seedJob creates a job of n tasks and fails those sizes[g] name, group after group (task
// ids g-NN-NNNNN), each in group g, the third ones ignored (a permanent failure), with
// workers at once. It returns the ids of each group.
func seedJob(b *testing.B, tr *tracker.Tracker, job string, n int, sizes []int) [][]string {
	b.Helper()
	ctx := context.Background()
	var tasks []tracker.NewTask
	groups := make([][]string, len(sizes))
	for g, size := range sizes {
		for i := range size {
			id := fmt.Sprintf("g-%02d-%05d", g, i)
			groups[g] = append(groups[g], id)
			tasks = append(tasks, tracker.NewTask{ID: id, Data: []byte(`{"path":"s3://bucket/in/file.json"}`)})
		}
	}
	for i := len(tasks); i < n; i++ {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("ok-%06d", i), Data: []byte(`{"path":"s3://bucket/in/file.json"}`)})
	}
	for start := 0; start < len(tasks); start += 5000 {
		if _, err := tr.CreateTasks(ctx, job, tasks[start:min(start+5000, len(tasks))]); err != nil {
			b.Fatal(err)
		}
	}
	type work struct {
		g  int
		id string
		i  int
	}
	next := make(chan work)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for w := range next {
				l, err := tr.Claim(ctx, job, w.id, "seed")
				if err == nil {
					f := failure(w.g, w.id)
					f.Permanent = w.i%3 == 2
					_, err = tr.Fail(ctx, *l, f)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for g, ids := range groups {
		for i, id := range ids {
			next <- work{g, id, i}
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return groups
}

// median returns the middle of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkTriageErrorsAndGroups: a job of 100,000 tasks of which 30,000 failed over 20
// fingerprints (one group of 5,000, 19 of about 1,316): trackerctl errors, timed (target:
// under 2 s); and list --fingerprint --all of the 5,000-task group, -o json, against bare
// paged Queries of the same index keys, one partition after another (target: the rate of
// the bare Query; the command reads up to 8 partitions at once, tracker.ListAll), and the
// same listing through the library: tracker.List, pages of 1,000, to the end (lib/bare-rate),
// and tracker.ListAll, the command's reader without its setup and its JSON
// (listall/bare-rate), taking turns (bare first, then last). The machine's
// load average is logged with the figures: the runner is shared.
func BenchmarkTriageErrorsAndGroups(b *testing.B) {
	const job = "triage"
	ctx := context.Background()
	tr, db, c := triageTable(b)
	sizes := []int{5000}
	for g := 1; g < 20; g++ {
		sizes = append(sizes, 25000/19+boolInt(g <= 25000%19))
	}
	start := time.Now()
	groups := seedJob(b, tr, job, 100000, sizes)
	b.Logf("seeded 100,000 tasks, 30,000 failed in 20 groups, in %s", time.Since(start).Round(time.Second))
	fp := fingerprint.Compute(failure(0, groups[0][0]).Error, failure(0, groups[0][0]).Traceback).String()

	// A first run of each, not timed, warms DynamoDB Local up (its JIT, its caches): on a
	// fresh process the first errors took 5 to 10 times the later ones.
	c.run(b, "errors", job, "--limit", "0").wantCode(b, exitOK)
	bareQuery(b, db, c.env[envTable], job, fp)
	load := loadAverage()
	var errorsTimes []time.Duration
	for range 5 {
		t0 := time.Now()
		r := c.run(b, "errors", job, "--limit", "0").wantCode(b, exitOK)
		errorsTimes = append(errorsTimes, time.Since(t0))
		if want := "job triage: 30000 tasks fail now, in 20 ways"; !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\nv1:") != 20 {
			b.Fatalf("errors: %s", r.stdout)
		}
	}
	b.Logf("errors (100,000 tasks, 30,000 failed, 20 groups): median %v, fastest %v (runs %v; load average %s, then %s)",
		median(errorsTimes).Round(time.Millisecond), slices.Min(errorsTimes).Round(time.Millisecond), errorsTimes, load, loadAverage())

	load = loadAverage()
	var listTimes, libTimes, iterTimes, bareTimes []time.Duration
	var cliRatios, libRatios, iterRatios []float64
	bare := func() {
		t0 := time.Now()
		if n := bareQuery(b, db, c.env[envTable], job, fp); n != 5000 {
			b.Fatalf("bare query read %d entries, want 5000", n)
		}
		bareTimes = append(bareTimes, time.Since(t0))
	}
	for turn := range 5 {
		if turn%2 == 0 {
			bare()
		}
		t0 := time.Now()
		r := c.run(b, "list", job, "--fingerprint", fp, "--all", "--limit", "1000", "-o", "json").wantCode(b, exitOK)
		listTimes = append(listTimes, time.Since(t0))
		checkGroupListing(b, r.stdout, fp)
		t0 = time.Now()
		tasks, err := listAll(ctx, tr, job, fp)
		libTimes = append(libTimes, time.Since(t0))
		if err != nil || len(tasks) != 5000 {
			b.Fatalf("tracker.List: %d tasks, %v", len(tasks), err)
		}
		t0 = time.Now()
		n, err := listEvery(ctx, tr, job, fp)
		iterTimes = append(iterTimes, time.Since(t0))
		if err != nil || n != 5000 {
			b.Fatalf("tracker.ListAll: %d tasks, %v", n, err)
		}
		if turn%2 == 1 {
			bare()
		}
		cliRatios = append(cliRatios, float64(bareTimes[turn])/float64(listTimes[turn]))
		libRatios = append(libRatios, float64(bareTimes[turn])/float64(libTimes[turn]))
		iterRatios = append(iterRatios, float64(bareTimes[turn])/float64(iterTimes[turn]))
	}
	b.ReportMetric(float64(median(errorsTimes).Milliseconds()), "errors-ms")
	b.ReportMetric(float64(median(listTimes).Milliseconds()), "list-group-ms")
	b.ReportMetric(float64(median(bareTimes).Milliseconds()), "bare-query-ms")
	b.ReportMetric(medianOf(cliRatios), "list/bare-rate")
	b.ReportMetric(medianOf(libRatios), "lib/bare-rate")
	b.ReportMetric(medianOf(iterRatios), "listall/bare-rate")
	b.Logf("5,000 tasks of a group: list --fingerprint --all -o json %v, tracker.List to the end %v, tracker.ListAll %v, bare paged Query of the same keys %v; "+
		"rate against the bare Query, median of the turns: list %.2f, tracker.List %.2f, tracker.ListAll %.2f (turns: list %v, tracker.List %v, tracker.ListAll %v, bare %v; load average %s, then %s)",
		median(listTimes).Round(time.Millisecond), median(libTimes).Round(time.Millisecond), median(iterTimes).Round(time.Millisecond), median(bareTimes).Round(time.Millisecond),
		medianOf(cliRatios), medianOf(libRatios), medianOf(iterRatios), listTimes, libTimes, iterTimes, bareTimes, load, loadAverage())
}

// checkGroupListing checks that the JSON list printed is the 5,000 tasks of group fp, each
// once.
func checkGroupListing(b *testing.B, out, fp string) {
	b.Helper()
	var page struct {
		Tasks []struct {
			TaskID  string               `json:"task_id"`
			Failure *tracker.TaskFailure `json:"failure"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		b.Fatal(err)
	}
	listed := map[string]bool{}
	for _, task := range page.Tasks {
		if task.Failure == nil || task.Failure.Fingerprint != fp || !strings.HasPrefix(task.TaskID, "g-00-") {
			b.Fatalf("list --fingerprint %s printed task %s, failure %+v", fp, task.TaskID, task.Failure)
		}
		listed[task.TaskID] = true
	}
	if len(page.Tasks) != 5000 || len(listed) != 5000 {
		b.Fatalf("list printed %d tasks, %d distinct; want 5000", len(page.Tasks), len(listed))
	}
}

// medianOf returns the middle of xs.
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// loadAverage is the machine's 1-minute load average, or "?" where /proc has none.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(raw))[0]
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// bareQuery reads every entry of group fp of job on the failure index (each status's shards,
// one paged Query each, pages of 1 MB, nothing decoded) and returns how many it read.
func bareQuery(b *testing.B, db *dynamodb.Client, table, job, fp string) int {
	b.Helper()
	n := 0
	codes := tracker.DefaultStatusCodes
	for _, code := range []int{codes.Failed, codes.Ignored} {
		for shard := range tracker.FailureShards(1) {
			p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
				TableName: aws.String(table), IndexName: aws.String(tracker.FailureIndexName),
				KeyConditionExpression:    aws.String("failure_part = :p AND begins_with(failure_key, :f)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: fmt.Sprintf("%s____%02d____%02d", job, code, shard)}, ":f": &types.AttributeValueMemberS{Value: fp + "____"}},
			})
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				n += len(out.Items)
			}
		}
	}
	return n
}

// BenchmarkTriageBulkRetry retries a failure group of 10,000 tasks with the bulk action's
// steps (tracker.BulkStep: the claim function's work, here in-process, a step of 2,000 tasks
// at a time as the state machine runs them), taking turns with a floor: a loop of bare
// conditional UpdateItem calls, with the bulk retry's own condition and update, at the same
// concurrency (tracker.BulkConcurrency), on a twin group of 10,000, 2,000 at a time. The turns
// go floor, bulk, bulk, floor, ... so that the machine's load falls on both alike. Target: at
// least 0.8 of the floor's rate.
func BenchmarkTriageBulkRetry(b *testing.B) {
	const job = "bulk"
	ctx := context.Background()
	tr, db, _ := triageTable(b)
	groups := seedJob(b, tr, job, 20000, []int{10000, 10000})
	twin := groups[1]
	fps := []string{fingerprintOf(0, groups[0][0]), fingerprintOf(1, twin[0])}
	// The floor's writes: each twin task as listed (its failure key and update time, read
	// first, outside the timing).
	page, err := listAll(ctx, tr, job, fps[1])
	if err != nil {
		b.Fatal(err)
	}
	bulk, err := tr.NewBulk(job, tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Fingerprint: fps[0]}})
	if err != nil {
		b.Fatal(err)
	}
	var took, floorTook time.Duration
	var turns []string
	load := loadAverage()
	floor := func() {
		if len(page) == 0 {
			return
		}
		n := min(tracker.DefaultBulkStepTasks, len(page))
		t0 := time.Now()
		bareRetries(b, db, tr.Config().Table, job, page[:n])
		d := time.Since(t0)
		floorTook += d
		turns = append(turns, fmt.Sprintf("floor %d in %v", n, d.Round(time.Millisecond)))
		page = page[n:]
	}
	step := func() {
		if bulk.Done {
			return
		}
		t0 := time.Now()
		next, err := tr.BulkStep(ctx, *bulk, 0)
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		took += d
		turns = append(turns, fmt.Sprintf("bulk %d in %v", next.Listed-bulk.Listed, d.Round(time.Millisecond)))
		bulk = next
	}
	for round := 0; !bulk.Done || len(page) > 0; round++ {
		if round%2 == 0 {
			floor()
			step()
		} else {
			step()
			floor()
		}
	}
	if bulk.Changed != 10000 || bulk.Refused != 0 {
		b.Fatalf("bulk retry: %+v", bulk)
	}
	bareRate := 10000 / floorTook.Seconds()
	bulkRate := 10000 / took.Seconds()
	b.ReportMetric(bulkRate, "bulk-tasks/s")
	b.ReportMetric(bareRate, "bare-updates/s")
	b.ReportMetric(bulkRate/bareRate, "bulk/bare")
	b.Logf("bulk retry of 10,000 tasks: %v (%.0f tasks/s, %d steps); bare conditional UpdateItem, %d at once: %v (%.0f/s); ratio %.2f; turns %v; load average %s, then %s",
		took.Round(time.Millisecond), bulkRate, bulk.Steps, tracker.BulkConcurrency, floorTook.Round(time.Millisecond), bareRate, bulkRate/bareRate, turns, load, loadAverage())
}

func fingerprintOf(g int, id string) string {
	f := failure(g, id)
	return fingerprint.Compute(f.Error, f.Traceback).String()
}

// listAll lists group fp of job whole.
func listAll(ctx context.Context, tr *tracker.Tracker, job, fp string) ([]tracker.Task, error) {
	var out []tracker.Task
	opts := tracker.ListOptions{Fingerprint: fp, Limit: tracker.MaxPageLimit}
	for {
		page, err := tr.List(ctx, job, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Tasks...)
		if opts.Cursor = page.Cursor; opts.Cursor == "" {
			return out, nil
		}
	}
}

// listEvery lists group fp of job whole with tracker.ListAll (the command's reader: up to 8
// partitions at once) and counts its tasks.
func listEvery(ctx context.Context, tr *tracker.Tracker, job, fp string) (int, error) {
	n := 0
	for _, err := range tr.ListAll(ctx, job, tracker.ListOptions{Fingerprint: fp}) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// bareRetries sends the bulk retry's UpdateItem for each task, BulkConcurrency at a time:
// its condition (the status it was listed in, its update time and failure key, no live lock)
// and its update (todo, retry 0, unlocked, out of the failure index), built once.
func bareRetries(b *testing.B, db *dynamodb.Client, table, job string, tasks []tracker.Task) {
	b.Helper()
	lock := expression.Name("lock")
	cond := expression.Name("value").BeginsWith("\x00status").
		And(expression.Name("update_time").Equal(expression.Value("\x00updated"))).
		And(expression.Or(lock.AttributeNotExists(), lock.AttributeType(expression.Null), expression.Name("lock_time").LessThanEqual(expression.Value("\x00before")))).
		And(expression.Name("failure_key").Equal(expression.Value("\x00key")))
	update := expression.Set(expression.Name("value"), expression.Value(job+"____00")).
		Set(expression.Name("update_time"), expression.Value("\x00now")).
		Set(expression.Name("retry"), expression.Value(0)).
		Set(lock, expression.Value(&types.AttributeValueMemberNULL{Value: true})).
		Remove(expression.Name("retry_at")).Remove(expression.Name("failure_part")).Remove(expression.Name("failure_key")).Remove(expression.Name("failure_message"))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	if err != nil {
		b.Fatal(err)
	}
	names := map[string]string{}
	for k, v := range expr.Values() {
		if s, ok := v.(*types.AttributeValueMemberS); ok && len(s.Value) > 0 && s.Value[0] == 0 {
			names[s.Value[1:]] = k
		}
	}
	now := time.Now().UTC().Format(tracker.TimeLayout)
	before := time.Now().Add(-time.Hour).UTC().Format(tracker.TimeLayout)
	next := make(chan tracker.Task)
	var wg sync.WaitGroup
	var failed sync.Once
	for range tracker.BulkConcurrency {
		wg.Go(func() {
			for task := range next {
				values := map[string]types.AttributeValue{}
				for k, v := range expr.Values() {
					values[k] = v
				}
				s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
				values[names["status"]] = s(fmt.Sprintf("%s____%02d", job, tracker.DefaultStatusCodes.Code(task.Status)))
				values[names["updated"]] = s(task.UpdateTime.Format(tracker.TimeLayout))
				values[names["before"]] = s(before)
				values[names["key"]] = s(task.Failure.Fingerprint + "____" + task.Failure.Time.Format(tracker.TimeLayout))
				values[names["now"]] = s(now)
				_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
					TableName: aws.String(table), Key: map[string]types.AttributeValue{"key": s(job + "____" + task.TaskID)},
					ConditionExpression: expr.Condition(), UpdateExpression: expr.Update(),
					ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: values,
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
				})
				if err != nil {
					failed.Do(func() { b.Errorf("bare retry of %s: %v", task.TaskID, err) })
				}
			}
		})
	}
	for _, task := range tasks {
		next <- task
	}
	close(next)
	wg.Wait()
}

// capacity records the write units UpdateItem calls report, table and each index apart.
type capacity struct {
	mu    sync.Mutex
	units map[string]float64 // "table", or an index's name
}

func (c *capacity) option() func(*dynamodb.Options) {
	mw := middleware.InitializeMiddlewareFunc("triage-capacity", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if p, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok && p.ReturnConsumedCapacity == "" {
			cp := *p
			cp.ReturnConsumedCapacity = types.ReturnConsumedCapacityIndexes
			in.Parameters = &cp
		}
		out, md, err := next.HandleInitialize(ctx, in)
		if r, ok := out.Result.(*dynamodb.UpdateItemOutput); ok && r.ConsumedCapacity != nil {
			c.mu.Lock()
			if t := r.ConsumedCapacity.Table; t != nil && t.CapacityUnits != nil {
				c.units["table"] += *t.CapacityUnits
			}
			for name, u := range r.ConsumedCapacity.GlobalSecondaryIndexes {
				if u.CapacityUnits != nil {
					c.units[name] += *u.CapacityUnits
				}
			}
			c.mu.Unlock()
		}
		return out, md, err
	})
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(mw, middleware.Before) })
	}
}

func (c *capacity) take() map[string]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.units
	c.units = map[string]float64{}
	return out
}

// BenchmarkTriageWriteUnits measures, with ReturnConsumedCapacity INDEXES, the write units of
// each step of a task's failure and retry, table and indexes apart, on 300 tasks of data and
// tracebacks of the sizes of the examples' workers (data 40 to 1,200 bytes, a traceback of
// 300 to 3,000), against the same steps of the seed's layout: the failure index's entries,
// and the table's units for the bytes the failure adds (failure_part, failure_key,
// failure_message, the history entry's fingerprint), which the seed's layout would not have.
// The seed's units are the item's size without those bytes, as DynamoDB bills a write: the
// larger of the item before and after, 1 unit per KB begun (dynamotest.WriteUnits).
func BenchmarkTriageWriteUnits(b *testing.B) {
	const job, n = "units", 300
	ctx := context.Background()
	var cap capacity
	cap.units = map[string]float64{}
	_, db, c := triageTable(b, cap.option())
	clock := trackertest.NewClock(time.Now().UTC().Truncate(time.Microsecond))
	tr, err := tracker.New(db, tracker.Config{Table: c.env[envTable], Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	table := tr.Config().Table
	var tasks []tracker.NewTask
	for i := range n {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%04d", i), Data: []byte(fmt.Sprintf(`{"blob":%q}`, padding(40+i*4)))})
	}
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		b.Fatal(err)
	}
	raw := func(id string) map[string]types.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____" + id}}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			b.Fatal(err)
		}
		return out.Item
	}
	// seedUnits is what writing from before to after costs without the failure's bytes.
	seedUnits := func(before, after map[string]types.AttributeValue) float64 {
		return max(dynamotest.WriteUnits(dynamotest.ItemSizeOf(withoutFailure(before))), dynamotest.WriteUnits(dynamotest.ItemSizeOf(withoutFailure(after))))
	}
	steps := map[string]map[string]float64{}
	add := func(step string, units map[string]float64, seed float64) {
		if steps[step] == nil {
			steps[step] = map[string]float64{}
		}
		for k, v := range units {
			steps[step][k] += v
		}
		steps[step]["seed-table"] += seed
	}
	cap.take()
	for i, nt := range tasks {
		id := nt.ID
		l, err := tr.Claim(ctx, job, id, "arn:aws:states:us-east-1:123456789012:execution:tracker-run:0123456789abcdef")
		if err != nil {
			b.Fatal(err)
		}
		cap.take()
		before := raw(id)
		f := tracker.Failure{Error: fmt.Sprintf("NoText: task %s has no text", id), Traceback: padding(300 + i*9)}
		if _, err := tr.Fail(ctx, *l, f); err != nil {
			b.Fatal(err)
		}
		after := raw(id)
		add("fail", cap.take(), seedUnits(before, after))
		clock.Advance(tr.BackoffAfter(1))
		if i%2 == 0 {
			// A run retries it: the claim takes it out of the failure index.
			if _, err := tr.Claim(ctx, job, id, "run"); err != nil {
				b.Fatal(err)
			}
		} else {
			// An operator retries it.
			if _, err := tr.Retry(ctx, job, id); err != nil {
				b.Fatal(err)
			}
		}
		step := map[bool]string{true: "claim after a failure", false: "retry (operator, or a bulk action's write)"}[i%2 == 0]
		add(step, cap.take(), seedUnits(after, raw(id)))
	}
	for _, step := range sortedKeys(steps) {
		u := steps[step]
		count := float64(n)
		if step != "fail" {
			count = float64(n / 2)
		}
		extra := (u["table"]-u["seed-table"])/count + u[tracker.FailureIndexName]/count
		b.Logf("%-42s table %.2f (the seed's layout %.2f), status index %.2f, failure index %.2f write units a task: %.2f extra",
			step, u["table"]/count, u["seed-table"]/count, u[tracker.IndexName]/count, u[tracker.FailureIndexName]/count, extra)
		b.ReportMetric(extra, "extra-WU/"+map[string]string{"fail": "failure", "claim after a failure": "claim", "retry (operator, or a bulk action's write)": "retry"}[step])
	}
}

func padding(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}

// withoutFailure is item without what a fingerprinted failure adds to it: the failure
// index's attributes and the fingerprint in the history's entries.
func withoutFailure(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range item {
		switch k {
		case tracker.FailurePartAttribute, tracker.FailureKeyAttribute, "failure_message":
			continue
		case "history":
			l := v.(*types.AttributeValueMemberL)
			var entries []types.AttributeValue
			for _, e := range l.Value {
				s := e.(*types.AttributeValueMemberS).Value
				entries = append(entries, &types.AttributeValueMemberS{Value: fingerprintField.ReplaceAllString(s, "")})
			}
			v = &types.AttributeValueMemberL{Value: entries}
		}
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fingerprintField is a history entry's fingerprint, as encoded.
var fingerprintField = regexp.MustCompile(`,"fingerprint":"v[0-9]+:[0-9a-f]+"`)
