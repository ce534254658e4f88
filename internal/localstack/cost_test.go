package localstack_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/model"
)

// Prices and assumptions of the cost benchmark beside the model's (model.AWSPrices, model.AWS),
// us-east-1 list prices.
const (
	// perWriteUnit and perReadUnit: DynamoDB on demand, per write and read request unit.
	// Source: https://aws.amazon.com/dynamodb/pricing/on-demand/
	perWriteUnit = 0.625 / 1e6
	perReadUnit  = 0.125 / 1e6
	// sfnEventEnvelope is a Step Functions log record without its error and cause: id, type,
	// previous event id, timestamp, execution ARN, redrive count and the details' other fields
	// (an assumption from the record format in the Step Functions developer guide, "Log
	// levels"; the error name and cause are measured).
	sfnEventEnvelope = 400
	// platformLinesPerInvoke is what Lambda's own lines (platform.start and platform.report
	// in JSON) add per invocation when the functions' system log level is INFO; the construct
	// sets it to WARN, which drops them. An assumption from the documented record shapes.
	platformLinesPerInvoke = 550
	// eventsPerTransition is what the previous definition logged at ALL per state entered: an
	// entered and an exited event, and a Task state's scheduled, started and succeeded (2.5 on
	// average over its states, an assumption) of sfnEventEnvelope bytes each, execution data
	// left out.
	eventsPerTransition = 2.5
)

// BenchmarkCost prices a million tasks as AWS bills them, the orchestration (Step Functions,
// our functions, their logs) and DynamoDB apart, for workers of 0.1 s, 1 s and 30 s at a
// concurrency of 1,000, the previous definition beside this one:
//
//   - measured on the local stack: DynamoDB's read and write units (a Meter in front of
//     DynamoDB Local, refused writes billed by item size) for data of 200 B, 2 KB and 20 KB,
//     for tasks that succeed at once and for tasks that fail twice first, and for creating
//     them; the bytes our functions write at the deployed log level (and at info), and the
//     events and error bytes Step Functions logs at ERROR;
//   - from the model at AWS scale (internal/model): lanes, their billed Express duration,
//     our functions' requests and GB-seconds, the Standard parent's transitions, and the
//     throttled calls, each an ERROR event.
func BenchmarkCost(b *testing.B) {
	const n = 300
	var (
		sizes  = []int{200, 2048, 20480}
		happy  = map[int]local{}
		twice  local
		atInfo local
	)
	for b.Loop() {
		for _, size := range sizes {
			happy[size] = measureLocal(b, n, size, 0, deployedLogLevel)
		}
		twice = measureLocal(b, n, 200, 2, deployedLogLevel)
		atInfo = measureLocal(b, n, 200, 0, contract.LogInfo)
	}
	newDef, err := model.ReadDefinition(filepath.Join("..", "..", "statemachine.asl.json"))
	if err != nil {
		b.Fatal(err)
	}
	oldDef, err := model.ReadDefinition(filepath.Join("..", "model", "testdata", "pages.asl.json"))
	if err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "Orchestration, dollars per million tasks (1,000,000-task job, worker concurrency 1,000, σ 0.5; the worker's own bill left out):\n\n")
	fmt.Fprintf(&out, "| | 0.1 s before | 0.1 s now | 1 s before | 1 s now | 30 s before | 30 s now |\n|---|---:|---:|---:|---:|---:|---:|\n")
	// The study's rows at W = 1,000: each at the C the study keeps (the fastest within the
	// cost target), the previous definition at its defaults.
	study := model.DefaultStudy()
	study.Rows = slices.DeleteFunc(study.Rows, func(r model.Row) bool { return r.W != 1000 })
	rows, err := study.Run(newDef, oldDef)
	if err != nil {
		b.Fatal(err)
	}
	var cols []orchestration
	for _, rr := range rows {
		old, now := priceOld(rr.Old, atInfo), priceNew(rr.New, happy[200])
		old.ratio, now.ratio = rr.Ratio(rr.Old), rr.Ratio(rr.New)
		old.settings, now.settings = "page 500, batch 20, 10 children", fmt.Sprintf("C %d, %d shards", rr.Lanes.Concurrency, rr.Lanes.Shards)
		cols = append(cols, old, now)
	}
	for _, row := range []struct {
		name string
		get  func(orchestration) string
	}{
		{"settings", func(o orchestration) string { return o.settings }},
		{"job time ÷ its bound (model)", func(o orchestration) string { return fmt.Sprintf("%.2f", o.ratio) }},
	} {
		fmt.Fprintf(&out, "| %s |", row.name)
		for _, c := range cols {
			fmt.Fprintf(&out, " %s |", row.get(c))
		}
		out.WriteString("\n")
	}
	for _, row := range orchestrationRows {
		fmt.Fprintf(&out, "| %s |", row.name)
		for _, c := range cols {
			fmt.Fprintf(&out, " %s |", dollars(row.get(c)))
		}
		out.WriteString("\n")
	}
	out.WriteString(dynamoTable(happy, twice, sizes))
	fmt.Fprintf(&out, "\nLocal runs of %d tasks each; logs at %s a task: claim %.0f B, complete %.0f B (at info: %.0f B, %.0f B); Step Functions ERROR events a task: %.2f (a task that failed twice: %.2f, %.0f B of errors).\n",
		n, deployedLogLevel, happy[200].logBytes["claim"], happy[200].logBytes["complete"],
		atInfo.logBytes["claim"], atInfo.logBytes["complete"], happy[200].errorEvents, twice.errorEvents, twice.errorBytes)
	b.ReportMetric(cols[3].total(), "$/Mtasks-1s")
	b.ReportMetric(cols[5].total(), "$/Mtasks-30s")
	w, floor := happy[200].writesPerTask(), happy[200].floor()
	b.ReportMetric(w/floor, "writes/floor")
	b.Logf("\n%s", out.String())
}

// deployedLogLevel is the functions' log level as the construct deploys them.
var deployedLogLevel = contract.DefaultLogLevel

// orchestration is what one shape costs a task, by part.
type orchestration struct {
	standard, expressRequests, expressDuration, lambdaRequests, lambdaDuration, functionLogs, stateMachineLogs float64
	// ratio is the job's time over its bound, settings the shape's settings.
	ratio    float64
	settings string
}

func (o orchestration) total() float64 {
	return o.standard + o.expressRequests + o.expressDuration + o.lambdaRequests + o.lambdaDuration + o.functionLogs + o.stateMachineLogs
}

var orchestrationRows = []struct {
	name string
	get  func(orchestration) float64
}{
	{"Step Functions Standard (transitions)", func(o orchestration) float64 { return o.standard }},
	{"Step Functions Express (requests)", func(o orchestration) float64 { return o.expressRequests }},
	{"Step Functions Express (duration)", func(o orchestration) float64 { return o.expressDuration }},
	{"our Lambda functions (requests)", func(o orchestration) float64 { return o.lambdaRequests }},
	{"our Lambda functions (duration)", func(o orchestration) float64 { return o.lambdaDuration }},
	{"our functions' logs", func(o orchestration) float64 { return o.functionLogs }},
	{"state machine logs", func(o orchestration) float64 { return o.stateMachineLogs }},
	{"**total**", orchestration.total},
}

// modelParts prices what the model counted: transitions, Express, our functions.
func modelParts(r *model.Result) orchestration {
	p, plat := model.AWSPrices(), model.AWS()
	per := func(v float64) float64 { return v / float64(r.Tasks) * 1e6 }
	return orchestration{
		standard:        per(float64(r.StandardTransitions) * p.StandardTransition),
		expressRequests: per(float64(r.Children) * p.ExpressRequest),
		expressDuration: per(r.ExpressSeconds * plat.ExpressMemoryMB / 1024 * p.ExpressGBSecond),
		lambdaRequests:  r.OurRequestsPerTask() * p.LambdaRequest * 1e6,
		lambdaDuration:  per(r.OurGBSeconds * p.LambdaGBSecond),
	}
}

// logDollars is the price of bytes a task, per million tasks.
func logDollars(bytesPerTask float64) float64 {
	return bytesPerTask * 1e6 / 1e9 * model.AWSPrices().LogGB
}

// priceNew prices this definition: the model's run, our functions' lines as measured at the
// deployed level, the ERROR events measured (failures) and the model's throttled calls.
func priceNew(r *model.Result, l local) orchestration {
	o := modelParts(r)
	o.functionLogs = logDollars(l.logBytes["claim"] + l.logBytes["complete"] + l.logBytes["fail"] + l.logBytes["list-pending"])
	o.stateMachineLogs = logDollars(l.errorEvents*sfnEventEnvelope+l.errorBytes) + r.Costs(model.AWSPrices(), model.AWS()).ThrottleLogs*1e6
	return o
}

// priceOld prices the previous definition: the model's run, its state machine logging every
// state at ALL, its functions at info with Lambda's platform lines (as it deployed them).
func priceOld(r *model.Result, atInfo local) orchestration {
	o := modelParts(r)
	lines := atInfo.logBytes["claim"] + atInfo.logBytes["complete"] + r.OurRequestsPerTask()*platformLinesPerInvoke
	o.functionLogs = logDollars(lines)
	o.stateMachineLogs = logDollars(r.StepsPerTask() * eventsPerTransition * sfnEventEnvelope)
	return o
}

// writesPerTask is a run's write units a task, refused writes and creation included.
func (l local) writesPerTask() float64 {
	_, run := l.perTask(l.run)
	_, created := l.perTask(l.created)
	return run + created
}

// floor is the write units the layout needs a task at the least: creation (the item and its
// index entry), then for each attempt a claim and a completion or failure (each the item, and
// the index entry's delete and put, its key changing), at the item's size as created (a
// failure's error and history grow it, so a failing task's real writes are above its floor).
func (l local) floor() float64 {
	item := max(1, l.itemUnits)
	return (item + 1) + float64(2*l.attempts)*(item+2)
}

// dynamoTable prints DynamoDB's part per million tasks.
func dynamoTable(happy map[int]local, twice local, sizes []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nDynamoDB, per million tasks (on demand; measured):\n\n| task | write units a task | floor | reads a task | refused writes a task | writes $ | reads $ |\n|---|---:|---:|---:|---:|---:|---:|\n")
	row := func(name string, l local) {
		reads, _ := l.perTask(l.run)
		w := l.writesPerTask()
		fmt.Fprintf(&b, "| %s | %.2f | %.0f | %.2f | %.3f | %s | %s |\n", name, w, l.floor(), reads,
			float64(l.run.Refused)/float64(l.tasks), dollars(w*perWriteUnit*1e6), dollars(reads*perReadUnit*1e6))
	}
	for _, size := range sizes {
		row(fmt.Sprintf("data of %s, succeeds", bytesName(size)), happy[size])
	}
	row("data of 200 B, fails twice then succeeds", twice)
	return b.String()
}

func bytesName(n int) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%d KB", n/1024)
}

func dollars(v float64) string { return fmt.Sprintf("$%.2f", v) }
