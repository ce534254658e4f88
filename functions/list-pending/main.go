// Command list-pending is the Lambda function that lists a job's tasks to run, a page at a
// time, with the job's count per status (tracker.Pending, tracker.List, tracker.Count).
//
// Event: contract.ListPendingInput. Result: contract.ListPendingOutput. Errors: InvalidInput,
// TrackerUnavailable.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func main() {
	lambda.Start(handler{lambdafn.Setup()}.Handle)
}

type handler struct{ lambdafn.Deps }

// Handle returns one page of the job's pending (or chosen) task ids and the job's counts.
func (h handler) Handle(ctx context.Context, event json.RawMessage) (*contract.ListPendingOutput, error) {
	var in contract.ListPendingInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "list-pending", err)
	}
	log := lambdafn.With(ctx, h.Log, in.JobID, "", "")
	if in.JobID == "" {
		return nil, lambdafn.Fail(ctx, log, "list-pending", lambdafn.Missing("job_id"))
	}
	if in.MaxTasks < 0 || in.Listed < 0 {
		return nil, lambdafn.Fail(ctx, log, "list-pending", &tracker.ValidationError{Field: "max_tasks", Reason: "max_tasks and listed must not be negative"})
	}
	limit := in.Limit
	if limit == 0 {
		limit = tracker.DefaultPageLimit
	}
	if in.MaxTasks > 0 {
		limit = min(limit, in.MaxTasks-in.Listed)
	}
	page := &tracker.Page{}
	var err error
	switch {
	case limit <= 0: // the run's budget is spent: list nothing
	case len(in.Statuses) == 0:
		page, err = h.Tracker.Pending(ctx, in.JobID, limit, in.Cursor)
	default:
		page, err = h.Tracker.List(ctx, in.JobID, tracker.ListOptions{Statuses: in.Statuses, Limit: limit, Cursor: in.Cursor})
	}
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "list-pending", err)
	}
	counts, err := h.Tracker.Count(ctx, in.JobID)
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "list-pending", err)
	}
	listed := in.Listed + len(page.Tasks)
	more := page.Cursor != "" && (in.MaxTasks == 0 || listed < in.MaxTasks)
	out := &contract.ListPendingOutput{JobID: in.JobID, TaskIDs: make([]string, len(page.Tasks)),
		HasMore: more, Listed: listed, Counts: make(map[string]int, len(counts))}
	if more {
		out.Cursor = page.Cursor
	}
	for i, t := range page.Tasks {
		out.TaskIDs[i] = t.TaskID
	}
	for s, n := range counts {
		out.Counts[s.String()] = n
	}
	log.InfoContext(ctx, "listed", "tasks", len(out.TaskIDs), "has_more", out.HasMore)
	return out, nil
}
