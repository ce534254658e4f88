package localstack_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// outputMeter is a slog.Handler for localstack.Config.Logger that counts, per function, the
// invocations (the emulator's START lines) and the bytes of the lines the function itself
// wrote (its log lines and metrics, each with its newline): what CloudWatch Logs would
// ingest from it, the platform's own lines aside.
type outputMeter struct {
	mu          sync.Mutex
	invocations map[string]int
	bytes       map[string]int
}

func newOutputMeter() *outputMeter {
	return &outputMeter{invocations: map[string]int{}, bytes: map[string]int{}}
}

// fnHandler is the meter's handler for one logger: the function its "function" attribute
// names.
type fnHandler struct {
	m  *outputMeter
	fn string
}

func (h fnHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h fnHandler) WithGroup(string) slog.Handler            { return h }
func (h fnHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, a := range attrs {
		if a.Key == "function" {
			h.fn = a.Value.String()
		}
	}
	return h
}

func (h fnHandler) Handle(_ context.Context, r slog.Record) error {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	switch {
	case strings.HasPrefix(r.Message, "START RequestId: "):
		h.m.invocations[h.fn]++
	case r.Level >= slog.LevelInfo && !strings.HasPrefix(r.Message, "rie: ") && h.fn != "":
		h.m.bytes[h.fn] += len(r.Message) + 1
	}
	return nil
}

// local is what one run on the local stack measured, per task of its job.
type local struct {
	tasks int
	// calls and logBytes are per function: invocations, and the bytes of the lines it wrote.
	calls, logBytes map[string]float64
	// errorEvents and errorBytes: the events Step Functions logs at ERROR, and their error
	// names' and causes' bytes.
	errorEvents, errorBytes float64
	// created is what creating the tasks took; run what the run took.
	created, run dynamotest.Usage
	// lanes and laneSeconds: the lanes the run started, and their lives together.
	lanes       int
	laneSeconds float64
	took        time.Duration
	// itemUnits is a task's item as created, in write units (KB begun); attempts a task's
	// attempts.
	itemUnits float64
	attempts  int
}

// perTask divides a usage by the job's tasks.
func (l local) perTask(u dynamotest.Usage) (reads, writes float64) {
	return u.ReadUnits / float64(l.tasks), (u.WriteUnits + u.RefusedUnits) / float64(l.tasks)
}

// measureLocal runs a job of n tasks whose data is padded to dataBytes, each failing
// failTimes times before it succeeds, on a stack of its own whose DynamoDB traffic goes
// through a Meter and whose functions log at logLevel, and returns what it measured.
func measureLocal(b *testing.B, n, dataBytes, failTimes int, logLevel contract.LogLevel) local {
	b.Helper()
	ctx := context.Background()
	root, err := dynamotest.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	meter := dynamotest.NewMeter(b, dynamotest.Endpoint())
	db := dynamotest.Client(b, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(meter.URL()) })
	table := dynamotest.TableName(b)
	if err := tracker.CreateTable(ctx, db, table); err != nil {
		b.Fatal(err)
	}
	tr, err := tracker.New(db, tracker.Config{Table: table})
	if err != nil {
		b.Fatal(err)
	}
	out := newOutputMeter()
	stack, err := localstack.Start(ctx, localstack.Config{
		Root: root, Table: table, DynamoEndpoint: meter.URL(), Bin: filepath.Join(root, "build", runtime.GOARCH), Pool: 8,
		Env:    map[string]string{contract.EnvBackoffSeconds: "1", contract.EnvLogLevel: string(logLevel)},
		Logger: slog.New(fnHandler{m: out}),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer stack.Close()
	job := fmt.Sprintf("cost-%d-%d", dataBytes, failTimes)
	data := fmt.Sprintf(`{"fail_times":%d,"pad":""}`, failTimes)
	data = fmt.Sprintf(`{"fail_times":%d,"pad":"%s"}`, failTimes, strings.Repeat("x", max(dataBytes-len(data), 0)))
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("t-%06d", i), Data: []byte(data)}
	}
	before := meter.Usage()
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		b.Fatal(err)
	}
	created := meter.Usage().Sub(before)
	createdUnits := itemUnits(b, db, table, job, tasks[0].ID)
	before = meter.Usage()
	start := time.Now()
	ex, err := stack.Run(ctx, contract.RunInput{JobID: job, Concurrency: 40}, localstack.RunOptions{})
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	l := local{tasks: n, created: created, run: meter.Usage().Sub(before), took: took, attempts: failTimes + 1,
		calls: map[string]float64{}, logBytes: map[string]float64{}}
	for _, e := range ex.Executions {
		if e.Status != "SUCCEEDED" {
			b.Fatalf("execution %s: %s %s", e.Name, e.Error, e.Cause)
		}
		l.errorEvents += float64(e.ErrorEvents) / float64(n)
		l.errorBytes += float64(e.ErrorBytes) / float64(n)
		l.lanes += e.Children
		for _, ms := range e.ChildMs {
			l.laneSeconds += float64(ms) / 1000
		}
	}
	counts, err := tr.Count(ctx, job)
	if err != nil || counts[tracker.Succeeded] != n {
		b.Fatalf("counts %v, %v: want every task succeeded", counts, err)
	}
	l.itemUnits = createdUnits
	out.mu.Lock()
	defer out.mu.Unlock()
	for fn, k := range out.invocations {
		l.calls[fn] = float64(k) / float64(n)
	}
	for fn, k := range out.bytes {
		l.logBytes[fn] = float64(k) / float64(n)
	}
	return l
}

// itemUnits reads a task's item as stored and returns its size in write units.
func itemUnits(b *testing.B, db *dynamodb.Client, table, job, id string) float64 {
	b.Helper()
	got, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{tracker.KeyAttribute: &types.AttributeValueMemberS{Value: job + tracker.Separator + id}}})
	if err != nil || got.Item == nil {
		b.Fatalf("get %s: %v", id, err)
	}
	return dynamotest.WriteUnits(dynamotest.ItemSizeOf(got.Item))
}
