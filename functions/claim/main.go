// Command claim is the Lambda function that takes the lease on one task (tracker.Claim).
//
// Event: contract.ClaimInput. Result: contract.ClaimOutput. Errors: InvalidInput,
// TaskNotFound, TaskLocked, TaskAlreadySucceeded, TaskIgnored, TaskWrongStatus,
// TrackerUnavailable.
package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func main() {
	tr, log := lambdafn.Setup()
	lambda.Start(handler{tracker: tr, log: log}.Handle)
}

type handler struct {
	tracker *tracker.Tracker
	log     *slog.Logger
}

// Handle claims the task the event names for the execution it names.
func (h handler) Handle(ctx context.Context, event json.RawMessage) (*contract.ClaimOutput, error) {
	var in contract.ClaimInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.log, "claim", err)
	}
	log := lambdafn.With(ctx, h.log, in.JobID, in.TaskID, in.ExecutionID)
	lease, err := h.tracker.Claim(ctx, in.JobID, in.TaskID, in.ExecutionID)
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "claim", err)
	}
	log.InfoContext(ctx, "claimed", "attempt", lease.Task.Attempts, "retry", lease.Retry, "lease_expires", lease.Expires)
	return &contract.ClaimOutput{
		JobID: in.JobID, TaskID: in.TaskID, Data: dataOrEmpty(lease.Task.Data),
		Retry: lease.Retry, Attempt: lease.Task.Attempts, Lease: *lease, LeaseExpires: lease.Expires,
	}, nil
}

// dataOrEmpty gives the worker an object even for a task without data.
func dataOrEmpty(d json.RawMessage) json.RawMessage {
	if d == nil {
		return json.RawMessage(`{}`)
	}
	return d
}
