// Command complete is the Lambda function that marks a leased task succeeded
// (tracker.Complete). Replaying it with the same lease returns the task's current state.
//
// Event: contract.CompleteInput. Result: contract.TaskOutput. Errors: InvalidInput,
// StaleLease, TaskNotFound, TaskAlreadySucceeded, TaskIgnored, TrackerUnavailable.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

func main() {
	lambda.Start(handler{lambdafn.Setup()}.Handle)
}

type handler struct{ lambdafn.Deps }

// Handle completes the leased task with the event's result.
func (h handler) Handle(ctx context.Context, event json.RawMessage) (*contract.TaskOutput, error) {
	var in contract.CompleteInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "complete", err)
	}
	if in.Lease == nil {
		return nil, lambdafn.Fail(ctx, h.Log, "complete", lambdafn.Missing("lease"))
	}
	log := lambdafn.With(ctx, h.Log, in.Lease.JobID, in.Lease.TaskID, "")
	task, err := h.Tracker.Complete(ctx, *in.Lease, in.Result)
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "complete", err)
	}
	log.InfoContext(ctx, "completed", "attempts", task.Attempts, "owner", task.LockOwner)
	return &contract.TaskOutput{
		JobID: task.JobID, TaskID: task.TaskID, Status: task.Status, Retry: task.Retry,
		Attempts: task.Attempts, Data: task.Data, UpdateTime: task.UpdateTime,
	}, nil
}
