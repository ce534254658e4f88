package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func runCommand() *command {
	var (
		arn, name, endpoint string
		concurrency         int
		wait                bool
		interval            = 5 * time.Second
	)
	return &command{
		name:    "run",
		args:    "JOB [TASK...]",
		summary: "start a state machine execution for a job",
		help: `Start an execution of the tracker's state machine for JOB and print its ARN. The execution
input is {"job_id": JOB, "task_ids": [TASK...]} when tasks are named, or {"job_id": JOB}; with
--concurrency it also holds "concurrency": N, how many tasks run at once.

One run works a job at a time: a run holds a lease on its job, in the job's registry item. run
refuses to start when another run's lease on JOB is live (it names the run and when its lease
runs out; with a table to read: --table or TRACKER_TABLE), and an execution that finds its job
held ends at once, starting nothing. The execution is started under a name chosen before the
first try (--name, or a random one), so a start the SDK retries after a lost answer starts
nothing twice.

--wait (it needs Step Functions and the table to be reachable) waits for the execution to
end: every --interval it asks Step Functions where the execution is (DescribeExecution) and
prints the job's counts on standard error; an execution that continued as a new one
(continued_as) is followed to the next. Then run prints the summary of the job's last
execution (the tasks and pages run, the job's counts per status) and exits 1 when an
execution did not succeed.

To run a job on the local stack instead (DynamoDB Local, the functions under the Lambda
Runtime Interface Emulator, the state machine on aws-local-stepfunctions), use make run
JOB=... [WORKER=...] in a checkout of dynamodb-tracker: the stack is built from it.`,
		nArg: [2]int{1, -1},
		flags: func(fs *flagSet) {
			fs.StringVar(&arn, "state-machine-arn", "", "the state machine's `ARN`")
			fs.env["state-machine-arn"] = envStateMachine
			fs.IntVar(&concurrency, "concurrency", 0, "run at most `N` tasks at once (default: the state machine's)")
			fs.StringVar(&name, "name", "", "the execution's `name` (default: a random one)")
			fs.StringVar(&endpoint, "sfn-endpoint", "", "Step Functions endpoint `URL`")
			fs.env["sfn-endpoint"] = envSFNEndpoint
			fs.BoolVar(&wait, "wait", false, "wait for the execution (and those it continues as) to end, printing progress")
			fs.Var(seconds{&interval}, "interval", "`seconds` (or a duration like 1m) between polls under --wait")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job, tasks := args[0], unique(args[1:])
			if err := checkJob(job); err != nil {
				return err
			}
			input := map[string]any{"job_id": job}
			switch {
			case concurrency < 0 || concurrency > contract.MaxConcurrency:
				return usagef("--concurrency %d: want a number within 1..%d", concurrency, contract.MaxConcurrency)
			case len(tasks) > contract.MaxTaskIDs:
				return usagef("%d tasks named: a run names at most %d", len(tasks), contract.MaxTaskIDs)
			case len(tasks) > 0:
				input["task_ids"] = tasks
			}
			if concurrency > 0 {
				input["concurrency"] = concurrency
			}
			body, err := json.Marshal(input)
			if err != nil {
				return err
			}
			if arn == "" {
				arn = a.getenv(envStateMachine)
			}
			if endpoint == "" {
				endpoint = a.getenv(envSFNEndpoint)
			}
			if arn == "" {
				return usagef("no state machine: pass --state-machine-arn or set %s (or make run JOB=%s on the local stack)", envStateMachine, job)
			}
			return a.startExecution(ctx, arn, name, endpoint, body, job, wait, interval)
		},
	}
}

// execution is the JSON output of run on AWS.
type execution struct {
	ExecutionARN string          `json:"execution_arn"`
	StartDate    time.Time       `json:"start_date"`
	Input        json.RawMessage `json:"input"`
	// Result is the output of the job's last execution, under --wait.
	Result *contract.RunOutput `json:"result,omitempty"`
}

func (a *app) startExecution(ctx context.Context, arn, name, endpoint string, input []byte, job string, wait bool, interval time.Duration) error {
	cfg, err := a.awsConfig(ctx, endpoint)
	if err != nil {
		return err
	}
	client := sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	// Before the start: an execution started that we then cannot follow would be left to
	// the operator to find, and a second run of a job that is running starts nothing. Without
	// a table (and without --wait) there is nothing to check: such an execution ends at once.
	var tr *tracker.Tracker
	if wait || a.opts.table != "" {
		if tr, err = a.tracker(ctx); err != nil {
			return err
		}
		if err := checkNoLiveRun(ctx, tr, job); err != nil {
			return err
		}
	}
	if name == "" {
		name = uuid.NewString()
	}
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(string(input)), Name: aws.String(name)}
	out, err := client.StartExecution(ctx, in)
	if err != nil {
		return fmt.Errorf("start execution of %s: %w", arn, err)
	}
	ex := execution{ExecutionARN: aws.ToString(out.ExecutionArn), StartDate: aws.ToTime(out.StartDate).UTC(), Input: input}
	if !a.opts.json {
		fmt.Fprintln(a.stdout, ex.ExecutionARN)
		fmt.Fprintf(a.stderr, "started at %s with input %s\n", stamp(ex.StartDate), input)
	}
	if !wait {
		if a.opts.json {
			return printJSON(a.stdout, ex)
		}
		return nil
	}
	count := func(ctx context.Context) (map[tracker.Status]int, error) { return tr.Count(ctx, job) }
	res, err := a.waitExecution(ctx, sfnDescriber{client}, count, ex.ExecutionARN, interval)
	if err != nil {
		return err
	}
	if a.opts.json {
		ex.Result = res
		return printJSON(a.stdout, ex)
	}
	fmt.Fprintln(a.stdout)
	a.printJobSummary(a.stdout, "SUCCEEDED", *res)
	if res.SupersededBy != "" {
		return fmt.Errorf("job %s: %w: %s", job, tracker.ErrRunLive, res.SupersededBy)
	}
	return nil
}

// checkNoLiveRun refuses to start a run of job while another run's lease on it is live.
func checkNoLiveRun(ctx context.Context, tr *tracker.Tracker, job string) error {
	j, err := tr.Job(ctx, job)
	if err != nil {
		if errors.Is(err, tracker.ErrJobNotRegistered) {
			return nil // not registered: no run ever held it
		}
		return err
	}
	if j.Run.Live(time.Now()) {
		return &tracker.RunLiveError{JobID: job, Holder: j.Run}
	}
	return nil
}
