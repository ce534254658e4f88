package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// describer says where an execution is: its status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT,
// ABORTED) and, once it ended, its output: the execution's output when it SUCCEEDED, its
// error and cause otherwise.
type describer interface {
	describe(ctx context.Context, arn string) (status, output string, err error)
}

// sfnDescriber asks Step Functions (DescribeExecution).
type sfnDescriber struct{ client *sfn.Client }

func (d sfnDescriber) describe(ctx context.Context, arn string) (string, string, error) {
	out, err := d.client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return "", "", fmt.Errorf("describe execution %s: %w", arn, err)
	}
	status := string(out.Status)
	if status == "SUCCEEDED" {
		return status, aws.ToString(out.Output), nil
	}
	if status == "RUNNING" || status == "PENDING_REDRIVE" {
		return status, "", nil
	}
	return status, joinCause(aws.ToString(out.Error), aws.ToString(out.Cause)), nil
}

// waitExecution polls the execution arn every interval until it ends, printing the job's
// counts on standard error at each poll, and follows continued_as to the next execution
// of the job. It returns the output of the job's last execution, and an error when an
// execution did not succeed.
func (a *app) waitExecution(ctx context.Context, d describer, count func(context.Context) (map[tracker.Status]int, error), arn string, interval time.Duration) (*contract.RunOutput, error) {
	for {
		status, output, err := d.describe(ctx, arn)
		if err != nil {
			return nil, err
		}
		switch status {
		case "RUNNING", "PENDING_REDRIVE":
			counts, err := count(ctx)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(a.stderr, "%s %s %s: %s\n", stamp(a.now()), arn, status, countsLine(counts))
			if err := a.wait(ctx, interval); err != nil {
				return nil, fmt.Errorf("stopped waiting for %s: %w", arn, err)
			}
		case "SUCCEEDED":
			var out contract.RunOutput
			if err := json.Unmarshal([]byte(output), &out); err != nil {
				return nil, fmt.Errorf("execution %s SUCCEEDED with an output that is not a run's: %v", arn, err)
			}
			if out.ContinuedAs == "" {
				return &out, nil
			}
			fmt.Fprintf(a.stderr, "%s %s continued as %s\n", stamp(a.now()), arn, out.ContinuedAs)
			arn = out.ContinuedAs
		default:
			return nil, fmt.Errorf("execution %s %s: %s", arn, status, output)
		}
	}
}

// countsLine is the counts per status on one line: "todo 3, in_progress 1, ...".
func countsLine(counts map[tracker.Status]int) string {
	parts := make([]string, len(tracker.Statuses()))
	for i, s := range tracker.Statuses() {
		parts[i] = fmt.Sprintf("%s %d", s, counts[s])
	}
	return strings.Join(parts, ", ")
}
