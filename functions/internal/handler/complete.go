package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

// Complete is the complete function (tracker.Complete): it marks a leased task succeeded
// with the worker's result. Replaying it with the same lease returns the task's current
// state.
//
// Event: contract.CompleteInput. Result: contract.TaskOutput. Errors: InvalidWorkerOutput
// (the result is not a JSON object or null; nothing is written), InvalidInput, LeaseLost,
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
	if err := checkWorkerOutput(in.Result); err != nil {
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

// checkWorkerOutput refuses a worker result that is neither a JSON object nor null, naming
// what the worker returned, as an InvalidWorkerOutput error.
func checkWorkerOutput(result json.RawMessage) error {
	trimmed := bytes.TrimSpace(result)
	if len(trimmed) == 0 || trimmed[0] == '{' || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	kind := "a number"
	switch trimmed[0] {
	case '"':
		kind = "a string"
	case '[':
		kind = "an array"
	case 't', 'f':
		kind = "a boolean"
	}
	shown := string(trimmed)
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	return &lambdafn.WorkerOutputError{Reason: fmt.Sprintf("the worker returned %s (%s), not a JSON object or null", kind, shown)}
}
