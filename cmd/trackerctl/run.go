package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// defaultLocalRunner runs a job on the local stack; TRACKER_LOCAL_RUNNER overrides it.
const defaultLocalRunner = "sfnlocal/run-job.sh"

// envLocalWorker tells the local runner which worker to serve (--worker), as an absolute path.
const envLocalWorker = "TRACKER_LOCAL_WORKER"

func runCommand() *command {
	var (
		arn, name, endpoint string
		worker              string
		limit, concurrency  int
		local, wait         bool
		interval            = 5 * time.Second
	)
	return &command{
		name:    "run",
		args:    "JOB [TASK...]",
		summary: "start a state machine execution for a job (on AWS, or --local)",
		help: `Start an execution of the tracker's state machine for JOB and print its ARN. The execution
input is {"job_id": JOB, "limit": N} with --limit, {"job_id": JOB, "task_ids": [TASK...]}
when tasks are named, or {"job_id": JOB} to leave the amount to the state machine; with
--concurrency it also holds "concurrency": N.

With --local the same input goes, on standard input, to the local runner: the command in
TRACKER_LOCAL_RUNNER (split on spaces; default ` + defaultLocalRunner + `), run with
TRACKER_TABLE, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION and the tracker settings in its
environment. The runner prints the execution's result as one JSON line: run prints a summary
of it (the tasks and pages run, the job's counts per status, the outcomes of the last page),
or with --output json the line as it is. A FAILED execution is an error (exit 1). Output
that is not such a line (a custom runner's) is printed as it is, and the runner's exit
status decides ours.

--worker PATH (with --local) runs the job with your own worker instead of the example
worker: PATH is a bootstrap built for linux on this machine's architecture, or a directory
holding a Go main package, which the runner builds. The runner receives it, made absolute,
in ` + envLocalWorker + `.

--wait (on AWS only: it needs Step Functions and the table to be reachable) waits for the
execution to end: every --interval it asks Step Functions where the execution is
(DescribeExecution) and prints the job's counts on standard error; an execution that
continued as a new one (continued_as) is followed to the next. Then run prints the summary
of the job's last execution, as --local does, and exits 1 when an execution did not succeed.`,
		nArg: [2]int{1, -1},
		flags: func(fs *flagSet) {
			fs.StringVar(&arn, "state-machine-arn", "", "the state machine's `ARN`")
			fs.env["state-machine-arn"] = envStateMachine
			fs.IntVar(&limit, "limit", 0, "process at most `N` pending tasks")
			fs.IntVar(&concurrency, "concurrency", 0, "run at most `N` tasks at once (default: the state machine's)")
			fs.StringVar(&name, "name", "", "the execution's `name` (default: chosen by Step Functions)")
			fs.StringVar(&endpoint, "sfn-endpoint", "", "Step Functions endpoint `URL`")
			fs.env["sfn-endpoint"] = envSFNEndpoint
			fs.BoolVar(&local, "local", false, "run on the local stack through TRACKER_LOCAL_RUNNER instead of AWS")
			fs.BoolVar(&wait, "wait", false, "on AWS, wait for the execution (and those it continues as) to end, printing progress")
			fs.Var(seconds{&interval}, "interval", "`seconds` (or a duration like 1m) between polls under --wait")
			fs.StringVar(&worker, "worker", "", "the worker to run with --local: a built bootstrap or a Go package directory at `PATH`")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job, tasks := args[0], unique(args[1:])
			if err := checkJob(job); err != nil {
				return err
			}
			input := map[string]any{"job_id": job}
			switch {
			case limit < 0:
				return usagef("--limit %d: want a positive number", limit)
			case concurrency < 0:
				return usagef("--concurrency %d: want a positive number", concurrency)
			case limit > 0 && len(tasks) > 0:
				return usagef("give task ids or --limit, not both")
			case limit > 0:
				input["limit"] = limit
			case len(tasks) > 0:
				input["task_ids"] = tasks
			}
			if concurrency > 0 {
				input["concurrency"] = concurrency
			}
			if worker != "" {
				if !local {
					return usagef("--worker needs --local: on AWS the stack deploys the worker")
				}
				abs, err := filepath.Abs(worker)
				if err != nil {
					return err
				}
				if _, err := os.Stat(abs); err != nil {
					return usagef("--worker %s: %v", worker, errors.Unwrap(err))
				}
				worker = abs
			}
			body, err := json.Marshal(input)
			if err != nil {
				return err
			}
			if local {
				if wait {
					return usagef("--wait is for AWS: --local already waits for the run to end")
				}
				return a.runLocal(ctx, body, worker)
			}
			if arn == "" {
				arn = a.getenv(envStateMachine)
			}
			if endpoint == "" {
				endpoint = a.getenv(envSFNEndpoint)
			}
			if arn == "" {
				return usagef("no state machine: pass --state-machine-arn or set %s (or use --local)", envStateMachine)
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
	var tr *tracker.Tracker
	if wait {
		// Before the start: an execution started that we then cannot follow would be
		// left to the operator to find.
		if tr, err = a.tracker(ctx); err != nil {
			return err
		}
	}
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(string(input))}
	if name != "" {
		in.Name = aws.String(name)
	}
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
	return nil
}

// runLocal runs the job on the local stack through the runner command. The runner's result
// line is summarised (or, with --output json, printed as it is); any other output is passed
// through as it comes. A worker other than "" is passed on in TRACKER_LOCAL_WORKER.
func (a *app) runLocal(ctx context.Context, input []byte, worker string) error {
	runner := a.getenv(envLocalRunner)
	if runner == "" {
		runner = defaultLocalRunner
	}
	argv := strings.Fields(runner)
	out := &resultSniffer{w: a.stdout}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(input)
	cmd.Stdout, cmd.Stderr = out, a.stderr
	cmd.Env = append(os.Environ(), a.runnerEnv()...)
	if worker != "" {
		cmd.Env = append(cmd.Env, envLocalWorker+"="+worker)
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("local runner %q not found: set %s to the command that runs a job on the local stack", argv[0], envLocalRunner)
	case err != nil && (!errors.As(err, &ee) || ctx.Err() != nil):
		out.flush()
		return fmt.Errorf("local runner %q: %w", runner, err)
	}
	runnerErr := func() error {
		if ee == nil {
			return nil
		}
		return fmt.Errorf("local runner %q failed with exit status %d", runner, ee.ExitCode())
	}
	res, ok := parseLocalResult(out.held.Bytes())
	if !ok {
		out.flush()
		return runnerErr()
	}
	if a.opts.json {
		fmt.Fprintf(a.stdout, "%s\n", bytes.TrimSpace(out.held.Bytes()))
	} else {
		a.printExecution(a.stdout, res)
	}
	if err := res.failure(); err != nil {
		return err
	}
	return runnerErr()
}

// resultSniffer passes the runner's standard output through as it comes, unless it starts
// like the result line (with "{"): that output is held until the runner ends, to be parsed.
type resultSniffer struct {
	w       io.Writer
	held    bytes.Buffer
	passing bool
}

func (s *resultSniffer) Write(p []byte) (int, error) {
	if s.passing {
		return s.w.Write(p)
	}
	s.held.Write(p)
	if rest := bytes.TrimLeft(s.held.Bytes(), " \t\r\n"); len(rest) > 0 && rest[0] != '{' {
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes what is held and passes the rest through.
func (s *resultSniffer) flush() error {
	s.passing = true
	_, err := s.held.WriteTo(s.w)
	return err
}

// runnerEnv is the configuration the local runner receives.
func (a *app) runnerEnv() []string {
	var env []string
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add(envTable, a.opts.table)
	add(envEndpointAWS, a.opts.endpoint)
	add(envRegion, a.opts.region)
	add(envProfile, a.opts.profile)
	add(envCodes, a.opts.codes.String())
	if a.opts.maxRetry > 0 {
		add(envMaxRetry, strconv.Itoa(a.opts.maxRetry))
	}
	if a.opts.lease > 0 {
		add(envLeaseSeconds, strconv.Itoa(int(a.opts.lease/time.Second)))
	}
	return env
}
