// Command fail is the Lambda function that records a failed attempt of a leased task
// (tracker.Fail) from the error a Step Functions Catch hands over, and says whether the task
// will be retried or is now ignored. Replaying it with the same lease counts nothing twice.
//
// Event: contract.FailInput. Result: contract.FailOutput. Errors: InvalidInput, StaleLease,
// TaskNotFound, TaskAlreadySucceeded, TaskIgnored, TrackerUnavailable.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func main() {
	lambda.Start(handler{lambdafn.Setup()}.Handle)
}

type handler struct{ lambdafn.Deps }

// Handle records the event's error against the leased task.
func (h handler) Handle(ctx context.Context, event json.RawMessage) (*contract.FailOutput, error) {
	var in contract.FailInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "fail", err)
	}
	switch {
	case in.Lease == nil:
		return nil, lambdafn.Fail(ctx, h.Log, "fail", lambdafn.Missing("lease"))
	case in.Error == nil:
		return nil, lambdafn.Fail(ctx, h.Log, "fail", lambdafn.Missing("error"))
	}
	log := lambdafn.With(ctx, h.Log, in.Lease.JobID, in.Lease.TaskID, "")
	failure := failureOf(*in.Error)
	task, err := h.Tracker.Fail(ctx, *in.Lease, failure)
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "fail", err)
	}
	log.InfoContext(ctx, "failed", "status", task.Status, "retry", task.Retry, "error_name", in.Error.Error)
	return &contract.FailOutput{
		JobID: task.JobID, TaskID: task.TaskID, Status: task.Status, Retry: task.Retry,
		WillRetry: task.Status == tracker.Failed, Ignored: task.Status == tracker.Ignored,
		BackoffSeconds: backoff(task.Retry),
	}, nil
}

// backoff is the wait before attempt retry+1: 5 s doubling per failure, at most 300 s.
func backoff(retry int) int {
	if retry < 1 {
		return 0
	}
	return min(5<<min(retry-1, 6), 300)
}

// failureOf turns a Step Functions error into the task's error record. When Cause is the JSON
// of a Lambda error, the record reads "errorType: errorMessage" with its stack trace;
// otherwise "Error: Cause".
func failureOf(e contract.StepError) tracker.Failure {
	var le contract.LambdaError
	if json.Unmarshal([]byte(e.Cause), &le) == nil && (le.ErrorMessage != "" || le.ErrorType != "") {
		name := le.ErrorType
		if name == "" {
			name = e.Error
		}
		return tracker.Failure{Error: name + ": " + le.ErrorMessage, Traceback: stackText(le.StackTrace)}
	}
	if e.Cause == "" {
		return tracker.Failure{Error: e.Error}
	}
	return tracker.Failure{Error: e.Error + ": " + e.Cause}
}

// stackText renders a Lambda stackTrace: a list of strings (Python, Node) or of frames
// {path, line, label} (Go).
func stackText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return strings.Join(lines, "\n")
	}
	var frames []struct {
		Path  string `json:"path"`
		Line  int    `json:"line"`
		Label string `json:"label"`
	}
	if json.Unmarshal(raw, &frames) == nil {
		var b strings.Builder
		for _, f := range frames {
			fmt.Fprintf(&b, "%s:%d %s\n", f.Path, f.Line, f.Label)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	return string(raw)
}
