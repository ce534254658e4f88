package localstack_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
)

// Public us-east-1 prices.
const (
	perStandardTransition = 0.025 / 1000
	perExpressExecution   = 1.00 / 1e6
	perExpressGBSecond    = 0.00001667
	perLambdaRequest      = 0.20 / 1e6
	perLambdaGBSecondArm  = 0.0000133334
	perWriteUnit          = 0.625 / 1e6
	perReadUnit           = 0.125 / 1e6
)

// Assumptions the local run cannot measure, stated in README.md's cost table.
const (
	// expressBilledSeconds is a child's billed duration beyond its worker's own run: a claim
	// and a complete of ~25 ms each, rounded up to Express' 100 ms.
	expressBilledSeconds = 0.1
	expressGB            = 0.0625 // 64 MB
	// functionSeconds is one call of claim, complete, fail or list-pending (warm, one
	// DynamoDB round trip), billed by the millisecond at 256 MB.
	functionSeconds = 0.025
	functionGB      = 0.25
	// writeUnitsPerAttempt is what `make bench` measures for claim + complete (or claim +
	// fail): each write is 1 unit on the table and 2 on the index, whose key changes.
	writeUnitsPerAttempt = 6.0
	// readUnitsPerListedTask: list-pending reads ~150-byte index entries, eventually
	// consistent, 4 KB to half a unit.
	readUnitsPerListedTask = 150.0 / 4096 / 2
)

// BenchmarkCostPerMillionTasks runs one job (COST_TASKS tasks, 5,000 by default, with the
// demo's failure mix) on the local stack, counts from the interpreter's event log the states
// the parent executions and the children entered, and prices them per million tasks, next to
// the per-task states of the previous design (one inline Map in one execution).
func BenchmarkCostPerMillionTasks(b *testing.B) {
	n := 5000
	if v := os.Getenv("COST_TASKS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	tasks := map[string]string{}
	attempts := 0
	for i := range n {
		data := ""
		switch {
		case i%16 == 5:
			data, attempts = `{"always_fail": true}`, attempts+3
		case i%8 == 3:
			data, attempts = `{"fail_times": 1}`, attempts+2
		default:
			attempts++
		}
		tasks[fmt.Sprintf("t-%05d", i)] = data
	}
	var ex *localstack.Execution
	var took time.Duration
	for b.Loop() {
		job := newJobAs(b, fmt.Sprintf("cost-%d", time.Now().UnixNano()), tasks)
		start := time.Now()
		var err error
		ex, err = env.stack.Run(b.Context(), contract.RunInput{JobID: job}, localstack.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		took = time.Since(start)
	}
	parentStates, children, childStates, lambdaCalls := 0, 0, 0, 0
	for _, e := range ex.Executions {
		if e.Status != "SUCCEEDED" {
			b.Fatalf("execution %s: %s %s", e.Name, e.Error, e.Cause)
		}
		for name, k := range e.States {
			parentStates += k
			switch name {
			case "CheckInput", "ListPage", "EndOfPass", "Summary":
				lambdaCalls += k
			}
		}
		children += e.Children
		childStates += e.ChildStates
	}
	perTask := func(v int) float64 { return float64(v) / float64(n) }
	mix := float64(attempts) / float64(n)
	// Child states per attempt: claim, work, then complete or fail (each child also enters
	// its Map); the tracker's function calls are two of the three.
	callsPerAttempt := (perTask(childStates) - perTask(children)) / mix * 2 / 3
	cost := func(attemptsPerTask float64) costTable {
		calls := perTask(lambdaCalls) + attemptsPerTask*callsPerAttempt
		return costTable{
			standard:       perTask(parentStates) * perStandardTransition,
			express:        perTask(children)*perExpressExecution + perTask(children)*expressBilledSeconds*expressGB*perExpressGBSecond,
			lambdaRequests: calls * perLambdaRequest,
			lambdaDuration: calls * functionSeconds * functionGB * perLambdaGBSecondArm,
			dynamoWrites:   attemptsPerTask * writeUnitsPerAttempt * perWriteUnit,
			dynamoReads:    attemptsPerTask * readUnitsPerListedTask * perReadUnit,
		}
	}
	newCost, happy := cost(mix), cost(1)
	// The previous design, per task, from its definition: a happy attempt entered Claim,
	// Work, Complete and Succeeded, a failed one Claim, Work, RecordFailure, WillRetry and
	// Backoff, all Standard transitions (4.5 an attempt with this mix), and list-pending
	// counted the whole job (five COUNT queries reading every index entry) on every page of 100.
	oldPerAttempt := 4.5
	oldCost := costTable{
		standard:       mix * oldPerAttempt * perStandardTransition,
		lambdaRequests: mix * 2 * perLambdaRequest,
		lambdaDuration: mix * 2 * functionSeconds * functionGB * perLambdaGBSecondArm,
		dynamoWrites:   newCost.dynamoWrites,
		dynamoReads:    newCost.dynamoReads + float64(n)/100*readUnitsPerListedTask*perReadUnit,
	}
	b.ReportMetric(perTask(parentStates), "parent-transitions/task")
	b.ReportMetric(perTask(children), "children/task")
	b.ReportMetric(perTask(childStates), "child-states/task")
	b.ReportMetric(newCost.total()*1e6, "$/Mtasks")
	b.ReportMetric(happy.total()*1e6, "happy-$/Mtasks")
	b.ReportMetric(oldCost.total()*1e6, "previous-$/Mtasks")
	b.ReportMetric(took.Seconds(), "s/run")
	b.Logf("%d tasks, %d executions, %d children, run %v", n, len(ex.Executions), children, took.Round(time.Millisecond))
	b.Logf("dollars per million tasks (worker compute excluded), %.3f attempts a task:\n%s", mix, table(oldCost, newCost, happy))
}

type costTable struct{ standard, express, lambdaRequests, lambdaDuration, dynamoWrites, dynamoReads float64 }

func (c costTable) total() float64 {
	return c.standard + c.express + c.lambdaRequests + c.lambdaDuration + c.dynamoWrites + c.dynamoReads
}

func table(cols ...costTable) string {
	s := fmt.Sprintf("| %-24s | previous design, this mix | now, this mix | now, every task succeeds |\n|---|---:|---:|---:|\n", "per million tasks")
	for _, r := range []struct {
		name string
		get  func(costTable) float64
	}{
		{"Step Functions Standard", func(c costTable) float64 { return c.standard }},
		{"Step Functions Express", func(c costTable) float64 { return c.express }},
		{"Lambda requests", func(c costTable) float64 { return c.lambdaRequests }},
		{"Lambda duration", func(c costTable) float64 { return c.lambdaDuration }},
		{"DynamoDB writes", func(c costTable) float64 { return c.dynamoWrites }},
		{"DynamoDB reads", func(c costTable) float64 { return c.dynamoReads }},
		{"total", costTable.total},
	} {
		s += fmt.Sprintf("| %-24s |", r.name)
		for _, c := range cols {
			s += fmt.Sprintf(" $%.2f |", r.get(c)*1e6)
		}
		s += "\n"
	}
	return s
}
