package handler

import (
	"context"
	"encoding/json"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Complete is the complete function (tracker.Complete): it marks a leased task succeeded
// with the worker's result. Replaying it with the same lease returns the task's current
// state.
//
// Event: contract.CompleteInput. Result: contract.TaskOutput. Errors: InvalidWorkerOutput
// (the result cannot be the task's data, tracker.CheckResult; nothing is written), InvalidInput, LeaseLost,
// TaskNotFound, TaskAlreadySucceeded, TaskIgnored, TrackerUnavailable. Metrics (EMF lines on
// stdout, per job): succeeded, refused, duration.
type Complete struct{ lambdafn.Deps }

// Handle completes the leased task with the event's result.
func (h Complete) Handle(ctx context.Context, event json.RawMessage) (*contract.TaskOutput, error) {
	var in contract.CompleteInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "complete", err)
	}
	if in.Lease == nil {
		return nil, lambdafn.Fail(ctx, h.Log, "complete", lambdafn.Missing("lease"))
	}
	log := lambdafn.With(ctx, h.Log, in.Lease.JobID, in.Lease.TaskID, "")
	defer h.Time(ctx, in.Lease.JobID)()
	if err := tracker.CheckResult(in.Result); err != nil {
		log.WarnContext(ctx, "complete refused", "error_type", contract.ErrInvalidWorkerOutput, "error", err.Error())
		return nil, lambdafn.Error(err)
	}
	task, err := h.Tracker.Complete(ctx, *in.Lease, in.Result)
	if err != nil {
		return nil, h.Fail(ctx, log, "complete", in.Lease.JobID, err)
	}
	h.Count(ctx, task.JobID, lambdafn.Succeeded)
	log.InfoContext(ctx, "completed", "attempts", task.Attempts, "owner", task.LockOwner)
	return &contract.TaskOutput{
		JobID: task.JobID, TaskID: task.TaskID, Status: task.Status, Retry: task.Retry,
		Attempts: task.Attempts, Data: task.Data, UpdateTime: task.UpdateTime,
	}, nil
}
