// Command demo runs a job end to end on the local stack: it creates a job of a few hundred
// tasks in DynamoDB Local (some fail once, some always fail), runs statemachine.asl.json over
// them with aws-local-stepfunctions and the built functions under the Lambda Runtime Interface
// Emulator, then simulates a crashed worker and late tasks and runs a catch-up sweep, and
// prints the job's counts per status and the ignored tasks with their errors.
//
// Run it with `make demo`, which starts DynamoDB Local and installs what is needed. It reads
// DYNAMODB_ENDPOINT and stops everything it started.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
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
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		n           = flag.Int("tasks", 300, "tasks in the job")
		concurrency = flag.Int("concurrency", 4, "child executions at once")
		waits       = flag.Bool("waits", false, "keep the Retry intervals of the steps as written")
		backoff     = flag.Int("backoff", 1, "seconds a failed task waits before its next attempt, doubling per failure (5 on AWS by default)")
		table       = flag.String("table", "demo-tasks", "the table in DynamoDB Local")
		job         = flag.String("job", "parse-json", "the job id")
		worker      = flag.String("worker", "", "run your worker instead of example-worker: a built bootstrap or a Go package directory")
	)
	flag.Parse()
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		return fmt.Errorf("DYNAMODB_ENDPOINT is not set: run `make demo`")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := repo.Root()
	if err != nil {
		return err
	}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	if err := tracker.CreateTable(ctx, db, *table); err != nil {
		return err
	}
	tr, err := tracker.New(db, tracker.Config{Table: *table})
	if err != nil {
		return err
	}
	if _, err := tr.DeleteJob(ctx, *job); err != nil {
		return err
	}

	step("create job %q: %d tasks; every 8th fails once, every 16th always fails", *job, *n)
	var tasks []tracker.NewTask
	for i := range *n {
		data := fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json", "sleep_ms": %d}`, i, i%20)
		switch {
		case i%16 == 5:
			data = fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json", "always_fail": true}`, i)
		case i%8 == 3:
			data = fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json", "fail_times": 1}`, i)
		}
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("file-%04d", i), Data: json.RawMessage(data)})
	}
	if _, err := tr.CreateTasks(ctx, *job, tasks); err != nil {
		return err
	}

	step("start the local Lambda endpoint: 5 functions under the Runtime Interface Emulator")
	stack, err := localstack.Start(ctx, localstack.Config{Root: root, Table: *table, DynamoEndpoint: endpoint, Pool: *concurrency,
		Env: map[string]string{contract.EnvBackoffSeconds: fmt.Sprint(*backoff)}, Worker: *worker})
	if err != nil {
		return err
	}
	defer stack.Close()

	step("run the state machine: pages of 100, batches of 10, %d child executions at once; failed tasks wait %d s, doubling", *concurrency, *backoff)
	if err := execute(ctx, stack, contract.RunInput{JobID: *job, Concurrency: *concurrency, PageSize: 100, BatchSize: 10}, *waits); err != nil {
		return err
	}
	if err := printCounts(ctx, tr, *job); err != nil {
		return err
	}

	step("simulate a worker that crashed holding 3 tasks, and 5 tasks that arrived late")
	crashed, _ := tracker.New(db, tracker.Config{Table: *table, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	for i := range 3 {
		id := fmt.Sprintf("late-crashed-%d", i)
		if _, err := tr.CreateTask(ctx, *job, id, nil); err != nil {
			return err
		}
		if _, err := crashed.Claim(ctx, *job, id, "worker-that-crashed"); err != nil {
			return err
		}
	}
	for i := range 5 {
		if _, err := tr.CreateTask(ctx, *job, fmt.Sprintf("late-%d", i), nil); err != nil {
			return err
		}
	}
	if err := printCounts(ctx, tr, *job); err != nil {
		return err
	}

	step("run a catch-up sweep, as the EventBridge schedule does: input {\"job_ids\": [%q]}", *job)
	if err := execute(ctx, stack, contract.RunInput{JobIDs: []string{*job}}, *waits); err != nil {
		return err
	}
	if err := printCounts(ctx, tr, *job); err != nil {
		return err
	}
	return printIgnored(ctx, tr, *job)
}

func step(format string, args ...any) { fmt.Printf("\n== "+format+"\n", args...) }

// execute runs the state machine and prints how it went: the executions it took (a sweep
// starts one per job; a job continues as new before its history budget runs out), and per
// job the rounds and pages.
func execute(ctx context.Context, stack *localstack.Stack, input contract.RunInput, waits bool) error {
	start := time.Now()
	ex, err := stack.Run(ctx, input, localstack.RunOptions{Waits: waits})
	if err != nil {
		return err
	}
	children := 0
	for _, e := range ex.Executions {
		if e.Status != "SUCCEEDED" {
			return fmt.Errorf("execution %s %s: %s: %s", e.Name, e.Status, e.Error, e.Cause)
		}
		children += e.Children
	}
	fmt.Printf("SUCCEEDED in %s: %d Standard executions, %d Express child executions (one per batch)\n",
		time.Since(start).Round(10*time.Millisecond), len(ex.Executions), children)
	for _, e := range ex.Executions {
		var out contract.RunOutput
		if err := json.Unmarshal(e.Output, &out); err != nil {
			return err
		}
		switch {
		case out.Swept > 0:
			fmt.Printf("  sweep: started %d job executions\n", out.Swept)
		case out.ContinuedAs != "":
			fmt.Printf("  job %s: continued as a new execution after %d pages\n", out.JobID, out.Pages)
		default:
			fmt.Printf("  job %s: %d tasks listed in %d pages over %d rounds, %d executions\n", out.JobID, out.Listed, out.Pages, out.Rounds, out.Executions)
		}
	}
	return nil
}

func printCounts(ctx context.Context, tr *tracker.Tracker, job string) error {
	counts, err := tr.Count(ctx, job)
	if err != nil {
		return err
	}
	var parts []string
	for _, s := range tracker.Statuses {
		parts = append(parts, fmt.Sprintf("%s %d", s, counts[s]))
	}
	fmt.Println("status:", strings.Join(parts, ", "))
	return nil
}

func printIgnored(ctx context.Context, tr *tracker.Tracker, job string) error {
	step("ignored tasks (failed %d times), with their last error", tr.Config().MaxRetry)
	cursor := ""
	for {
		page, err := tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Ignored}, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, t := range page.Tasks {
			full, err := tr.Get(ctx, job, t.TaskID)
			if err != nil {
				return err
			}
			fmt.Printf("%s  retry %d  %s\n", full.TaskID, full.Retry, full.Error.Error)
		}
		if cursor = page.Cursor; cursor == "" {
			return nil
		}
	}
}
