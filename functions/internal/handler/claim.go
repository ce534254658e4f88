package handler

import (
	"context"
	"encoding/json"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

// Claim is the claim function (tracker.Claim): it takes the lease on one task.
//
// Event: contract.ClaimInput. Result: contract.ClaimOutput. Errors: InvalidInput,
// TaskNotFound, TaskLocked, TaskNotDue, TaskAlreadySucceeded, TaskIgnored, TaskWrongStatus,
// TrackerUnavailable. Metrics (EMF lines on stdout, per job): claimed, refused, duration.
type Claim struct{ lambdafn.Deps }

// Handle claims the task the event names for the execution it names.
func (h Claim) Handle(ctx context.Context, event json.RawMessage) (*contract.ClaimOutput, error) {
	var in contract.ClaimInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "claim", err)
	}
	log := lambdafn.With(ctx, h.Log, in.JobID, in.TaskID, in.ExecutionID)
	defer h.Time(ctx, in.JobID)()
	lease, err := h.Tracker.Claim(ctx, in.JobID, in.TaskID, in.ExecutionID)
	if err != nil {
		return nil, h.Fail(ctx, log, "claim", in.JobID, err)
	}
	h.Count(ctx, in.JobID, lambdafn.Claimed)
	log.InfoContext(ctx, "claimed", "attempt", lease.Task.Attempts, "retry", lease.Retry, "lease_expires", lease.Expires)
	return &contract.ClaimOutput{
		JobID: in.JobID, TaskID: in.TaskID, Data: dataOrEmpty(lease.Task.Data),
		Attempt: lease.Task.Attempts, Lease: *lease,
		WorkTimeout: int(h.Settings.WorkerTimeout / time.Second),
	}, nil
}

// dataOrEmpty gives the worker an object even for a task without data.
func dataOrEmpty(d json.RawMessage) json.RawMessage {
	if d == nil {
		return json.RawMessage(`{}`)
	}
	return d
}
