// Command runlocal runs statemachine.asl.json on the local stack: the built functions under
// the Lambda Runtime Interface Emulator behind the Lambda Invoke API (internal/lambdalocal),
// the definition run by aws-local-stepfunctions (sfnlocal/run.mjs) and the tasks in DynamoDB
// Local. It is the one local runner, from a checkout: it builds the functions and needs the
// Node.js and npm packages of `make deps`.
//
//	runlocal [flags] JOB [TASK...]   run a job you enqueued (make run JOB=... WORKER=...)
//	runlocal -demo [-tasks N]        create a demo job and run it end to end (make demo)
//	runlocal -bulk JSON JOB          run a bulk action on a job (retry a failure group, say)
//
// A job run prints how the run went and the job's counts, and exits 1 when an execution
// failed. The demo creates a job of a few hundred tasks (some fail once, some always fail),
// runs it, simulates a crashed worker and late tasks, runs a catch-up sweep, and prints the
// ignored tasks with their errors. DynamoDB Local is at DYNAMODB_ENDPOINT (-endpoint);
// TRACKER_STATUS_CODES, TRACKER_MAX_RETRY and TRACKER_LEASE_SECONDS, when set, reach the
// functions. Everything it starts is stopped when it ends.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runlocal:", err)
		os.Exit(1)
	}
}

// options are runlocal's flags and arguments.
type options struct {
	demo                    bool
	tasks                   int
	table, endpoint, worker string
	concurrency, backoff    int
	waits, json             bool
	every                   time.Duration
	job                     string
	taskIDs                 []string
	// bulk, when set, runs a bulk action on the job instead of a run of its tasks.
	bulk *contract.BulkInput
}

// parse reads the flags and arguments and fills in the defaults, or says what is wrong.
func parse(args []string) (*options, error) {
	fs := flag.NewFlagSet("runlocal", flag.ContinueOnError)
	o := &options{}
	fs.BoolVar(&o.demo, "demo", false, "create the demo job and run it end to end, instead of running JOB")
	fs.IntVar(&o.tasks, "tasks", 300, "with -demo, the tasks in the job")
	fs.StringVar(&o.table, "table", os.Getenv("TRACKER_TABLE"), "the table in DynamoDB Local (default $TRACKER_TABLE; demo-tasks with -demo)")
	fs.StringVar(&o.endpoint, "endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "DynamoDB Local's `URL` (default $DYNAMODB_ENDPOINT)")
	fs.StringVar(&o.worker, "worker", "", "run your worker instead of example-worker: at `PATH`, a built bootstrap, a Go package directory, or a Python or Node.js handler (.py, .js, .mjs, .cjs or .ts file, or directory[:module.function])")
	fs.IntVar(&o.concurrency, "concurrency", 0, "tasks at once (default: the state machine's, 10 on this machine; 8 with -demo)")
	fs.IntVar(&o.backoff, "backoff", 0, "`seconds` a failed task waits before its next attempt, doubling (default: the functions'; 1 with -demo)")
	fs.BoolVar(&o.waits, "waits", false, "keep the Retry intervals of the steps as written")
	fs.DurationVar(&o.every, "progress", 5*time.Second, "print the job's progress this often while it runs (0: never)")
	fs.BoolVar(&o.json, "json", false, "print the execution's result line (localstack.Execution) instead of a summary")
	bulk := fs.String("bulk", "", "run this bulk action on JOB instead of its tasks: the `JSON` of its bulk input, e.g. {\"action\": \"retry\", \"fingerprint\": \"v1:3fa9c2d41b7e\"}")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *bulk != "" {
		dec := json.NewDecoder(strings.NewReader(*bulk))
		dec.DisallowUnknownFields()
		o.bulk = &contract.BulkInput{}
		if err := dec.Decode(o.bulk); err != nil {
			return nil, fmt.Errorf("-bulk: %w", err)
		}
	}
	switch {
	case o.endpoint == "":
		return nil, errors.New("no DynamoDB Local: set DYNAMODB_ENDPOINT (scripts/dynamodb-local.sh start prints it) or pass -endpoint")
	case o.demo && fs.NArg() > 0:
		return nil, errors.New("-demo creates its own job: give no JOB")
	case o.bulk != nil && (o.demo || fs.NArg() != 1):
		return nil, errors.New("-bulk acts on one job: give JOB alone, without -demo")
	case !o.demo && fs.NArg() == 0:
		return nil, errors.New("usage: runlocal [flags] JOB [TASK...], or runlocal -demo")
	case o.concurrency < 0 || o.backoff < 0:
		return nil, errors.New("-concurrency and -backoff want positive numbers")
	}
	if o.demo {
		o.table = cmp.Or(o.table, "demo-tasks")
		o.concurrency = cmp.Or(o.concurrency, 8)
		o.backoff = cmp.Or(o.backoff, 1)
	}
	// The functions' default concurrency (200 tasks at once) is AWS's; on this machine a
	// run works 10 at once unless told otherwise.
	o.concurrency = cmp.Or(o.concurrency, 10)
	if o.table == "" {
		return nil, errors.New("no table: set TRACKER_TABLE or pass -table")
	}
	if !o.demo {
		o.job, o.taskIDs = fs.Arg(0), fs.Args()[1:]
	}
	return o, nil
}

// settings are the functions' settings: those of this environment, the table the flag's.
func (o *options) settings() (map[string]string, contract.Settings, error) {
	env := map[string]string{}
	for _, k := range contract.EnvNames() {
		if v := os.Getenv(k); v != "" && k != contract.EnvTable {
			env[k] = v
		}
	}
	if o.backoff > 0 {
		env[contract.EnvBackoffSeconds] = fmt.Sprint(o.backoff)
	}
	settings, err := contract.FromEnv(func(k string) string {
		if k == contract.EnvTable {
			return o.table
		}
		return env[k]
	})
	return env, settings, err
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(o.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	if o.demo {
		if err := tracker.CreateTable(ctx, db, o.table); err != nil {
			return err
		}
	}
	// The functions get the tracker settings of this environment, and the runner reads the
	// table with the same ones.
	env, settings, err := o.settings()
	if err != nil {
		return err
	}
	tr, err := tracker.New(db, settings.TrackerConfig())
	if err != nil {
		return err
	}
	r := &runner{out: stdout, tr: tr, json: o.json, opts: localstack.RunOptions{Waits: o.waits}, every: o.every}
	if o.demo {
		if err := r.createDemoJob(ctx, "parse-json", o.tasks); err != nil {
			return err
		}
	}
	r.step("start the local Lambda endpoint: %d functions under the Runtime Interface Emulator", len(localstack.Functions))
	// Built into build/<arch>, as make build builds them: what has not changed is not built
	// again.
	stack, err := localstack.Start(ctx, localstack.Config{Root: root, Table: o.table, DynamoEndpoint: o.endpoint,
		Pool: o.concurrency, Env: env, Worker: o.worker, Bin: filepath.Join(root, "build", runtime.GOARCH)})
	if err != nil {
		return err
	}
	defer stack.Close()
	r.stack = stack
	if o.demo {
		return r.demo(ctx, db, o.table, "parse-json", o.concurrency, o.backoff)
	}
	input := contract.RunInput{JobID: o.job, Concurrency: o.concurrency}
	if len(o.taskIDs) > 0 {
		input.TaskIDs = o.taskIDs
	}
	if o.bulk != nil {
		input = contract.RunInput{JobID: o.job, Bulk: o.bulk}
	}
	r.step("run the state machine: input %s", mustJSON(input))
	if err := r.execute(ctx, input); err != nil {
		return err
	}
	return r.printCounts(ctx, o.job)
}

// runner runs executions on the stack and reports them.
type runner struct {
	out   io.Writer
	stack *localstack.Stack
	tr    *tracker.Tracker
	opts  localstack.RunOptions
	json  bool          // print result lines, not summaries
	every time.Duration // how often to print a running job's progress; 0: never
}

// step prints a heading, unless the output is JSON lines.
func (r *runner) step(format string, args ...any) {
	if !r.json {
		fmt.Fprintf(r.out, "\n== "+format+"\n", args...)
	}
}

// execute runs the state machine with input and reports the run: its result line under -json,
// otherwise a summary. It fails when an execution of the run did not succeed.
func (r *runner) execute(ctx context.Context, input contract.RunInput) error {
	start := time.Now()
	stop := r.progress(ctx, input.JobID)
	ex, err := r.stack.Run(ctx, input, r.opts)
	stop()
	if err != nil {
		return err
	}
	if r.json {
		line, err := json.Marshal(ex)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.out, "%s\n", line)
		return failure(ex)
	}
	return report(r.out, ex, time.Since(start))
}

// progress prints job's progress every r.every until the function it returns is called: the
// tasks per status, the rate over the last minute and the time left at that rate. A sweep
// (no job) and -json print none.
func (r *runner) progress(ctx context.Context, job string) (stop func()) {
	if r.every <= 0 || r.json || job == "" {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		p := &progress{window: time.Minute}
		t := time.NewTicker(r.every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				snap, err := r.tr.Snapshot(ctx, job)
				if err != nil {
					fmt.Fprintf(r.out, "  progress: %v\n", err)
					continue
				}
				fmt.Fprintf(r.out, "  %s\n", p.line(now, snap.Counts))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// progress turns a job's counts, taken over time, into a line: the counts, the rate of
// finished tasks (succeeded and ignored) over a sliding window, and the time left at it.
type progress struct {
	window  time.Duration
	samples []sample
}

type sample struct {
	at       time.Time
	finished int
}

func (p *progress) line(now time.Time, counts map[tracker.Status]int) string {
	finished := counts[tracker.Succeeded] + counts[tracker.Ignored]
	left := counts[tracker.Todo] + counts[tracker.InProgress] + counts[tracker.Failed]
	p.samples = append(p.samples, sample{now, finished})
	for len(p.samples) > 2 && now.Sub(p.samples[1].at) >= p.window {
		p.samples = p.samples[1:]
	}
	var parts []string
	for _, s := range tracker.Statuses() {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	line := strings.Join(parts, ", ")
	first := p.samples[0]
	if span := now.Sub(first.at); span > 0 && finished > first.finished {
		rate := float64(finished-first.finished) / span.Seconds()
		eta := time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf("; %.1f tasks/s over the last %s, about %s left", rate, span.Round(time.Second), eta)
	}
	return line
}

// report prints what a run did: the executions it took (a sweep starts one per job; a job
// continues as new before its history budget runs out) and, per execution, the job's rounds
// and pages, or its error and cause as the execution gives them. It returns the first failed
// execution's error.
func report(w io.Writer, ex *localstack.Execution, took time.Duration) error {
	children := 0
	for _, e := range all(ex) {
		children += e.Children
	}
	status := "SUCCEEDED"
	if failure(ex) != nil {
		status = "FAILED"
	}
	fmt.Fprintf(w, "%s in %s: %s, %s\n", status, took.Round(10*time.Millisecond),
		count(len(all(ex)), "Standard execution", "Standard executions"), count(children, "lane", "lanes"))
	for _, e := range all(ex) {
		if e.Status != "SUCCEEDED" {
			fmt.Fprintf(w, "  %s %s: %s\n", label(e), e.Status, errorText(e))
			continue
		}
		var out contract.RunOutput
		if err := json.Unmarshal(e.Output, &out); err != nil {
			return fmt.Errorf("execution %s: output %s: %w", e.Name, e.Output, err)
		}
		switch {
		case out.Swept > 0 || len(out.Live) > 0:
			fmt.Fprintf(w, "  sweep: started %s; %s held by a live run\n", count(out.Swept, "job's run", "jobs' runs"), count(len(out.Live), "job", "jobs"))
		case out.Bulk != nil && out.ContinuedAs == "":
			fmt.Fprintf(w, "  job %s: %s\n", out.JobID, bulkLine(out.Bulk))
		case out.ContinuedAs != "":
			fmt.Fprintf(w, "  job %s: continued as a new execution after %s\n", out.JobID, count(out.Rounds, "round", "rounds"))
		case out.SupersededBy != "":
			fmt.Fprintf(w, "  job %s: held by another run (%s); started nothing\n", out.JobID, out.SupersededBy)
		default:
			fmt.Fprintf(w, "  job %s: %s of lanes, %s for failed tasks, %s\n", out.JobID, count(out.Rounds, "round", "rounds"),
				count(out.Waits, "wait", "waits"), count(out.Executions, "execution", "executions"))
		}
	}
	return failure(ex)
}

// all is every execution of the run: Executions, or the one execution when run.mjs listed none
// (an execution that failed before it started others).
func all(ex *localstack.Execution) []localstack.Execution {
	if len(ex.Executions) == 0 {
		return []localstack.Execution{*ex}
	}
	return ex.Executions
}

// failure is the error of the run's first execution that did not succeed, nil when all did.
func failure(ex *localstack.Execution) error {
	for _, e := range all(ex) {
		if e.Status != "SUCCEEDED" {
			return fmt.Errorf("%s %s: %s", label(e), e.Status, errorText(e))
		}
	}
	return nil
}

// label names an execution: "execution NAME", or "execution" when run.mjs gave no name.
func label(e localstack.Execution) string {
	return strings.TrimSpace("execution " + e.Name)
}

// errorText is an execution's error and cause, as the execution gives them.
func errorText(e localstack.Execution) string {
	if e.Cause == "" {
		return cmp.Or(e.Error, "no error given")
	}
	return cmp.Or(e.Error, "no error given") + ": " + e.Cause
}

// printCounts prints the job's tasks per status, and how many are still to run.
func (r *runner) printCounts(ctx context.Context, job string) error {
	if r.json {
		return nil
	}
	counts, err := r.tr.Count(ctx, job)
	if err != nil {
		return err
	}
	var parts []string
	for _, s := range tracker.Statuses() {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	fmt.Fprintln(r.out, "status:", strings.Join(parts, ", "))
	return nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// count is n and the word for n things: one or many.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// bulkLine is a bulk action's end: its counts, and its refusals by reason.
func bulkLine(b *tracker.Bulk) string {
	line := fmt.Sprintf("%s %s: %d listed, %d changed, %d refused", b.Action, b.ID, b.Listed, b.Changed, b.Refused)
	if len(b.RefusedBy) > 0 {
		var reasons []string
		for _, reason := range slices.Sorted(maps.Keys(b.RefusedBy)) {
			reasons = append(reasons, fmt.Sprintf("%s %d", reason, b.RefusedBy[reason]))
		}
		line += " (" + strings.Join(reasons, ", ") + ")"
	}
	return line + ", in " + count(b.Steps, "step", "steps")
}
