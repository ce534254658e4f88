package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// bulk runs one step of a bulk action (tracker.BulkStep: list the next tasks of the selection,
// one conditional write each) and says what the execution does next: another step, continue
// as a new execution once it ran its MaxSteps, or end. The claim function runs it because it
// may query the indexes and write tasks already: the bulk action widens its grants by one
// query, on the failure index.
func (h Claim) bulk(ctx context.Context, in contract.BulkStepInput) (*contract.BulkState, error) {
	st := in.State
	job := st.Progress.JobID
	log := lambdafn.With(ctx, h.Log, job, "", in.Execution)
	switch {
	case st.MaxSteps < 1 || st.MaxSteps > contract.MaxSteps:
		return nil, lambdafn.Fail(ctx, log, "bulk", invalid("state.max_steps", "%d is out of range 1..%d", st.MaxSteps, contract.MaxSteps))
	case st.StepTasks < 1 || st.StepTasks > tracker.MaxBulkStepTasks:
		return nil, lambdafn.Fail(ctx, log, "bulk", invalid("state.step_tasks", "%d is out of range 1..%d", st.StepTasks, tracker.MaxBulkStepTasks))
	}
	defer h.Time(ctx, job)()
	next, err := h.Tracker.BulkStep(ctx, st.Progress, st.StepTasks)
	if err != nil {
		return nil, h.Fail(ctx, log, "bulk", job, err)
	}
	if refused := next.Refused - st.Progress.Refused; refused > 0 {
		h.Add(ctx, job, lambdafn.Refused, refused)
	}
	st.Progress, st.Steps, st.Handover = *next, st.Steps+1, nil
	switch {
	case next.Done:
		st.Next = contract.BulkDone
	case st.Steps >= st.MaxSteps:
		if st.Handover, err = bulkHandover(in, st); err != nil {
			return nil, lambdafn.Fail(ctx, log, "bulk", err)
		}
		st.Next = contract.BulkHandover
	default:
		st.Next = contract.BulkStep
	}
	log.InfoContext(ctx, "bulk step", "action", next.Action, "id", next.ID, "listed", next.Listed, "changed", next.Changed,
		"refused", next.Refused, "next", st.Next)
	return &st, nil
}

// bulkHandover is the execution a bulk action continues as, with its progress, under a name
// derived from this execution's and the action's steps (a retried start starts nothing twice).
func bulkHandover(in contract.BulkStepInput, st contract.BulkState) (*contract.Handover, error) {
	p := st.Progress
	name := contract.ExecutionName(p.JobID, in.Execution, fmt.Sprintf("bulk-%s-%d", p.ID, p.Steps))
	arn, err := executionArn(in.Machine, name)
	if err != nil {
		return nil, err
	}
	input := contract.RunInput{JobID: p.JobID, MaxSteps: st.MaxSteps, StartedBy: in.Execution,
		Bulk: &contract.BulkInput{StepTasks: st.StepTasks, Resume: &p}}
	return &contract.Handover{Name: name, Arn: arn, Input: input}, nil
}

// checkBulk checks an execution's bulk action and starts it (tracker.NewBulk: nothing is
// written before its first step), or takes up the progress it resumes.
func (h ListPending) checkBulk(in contract.RunInput, execution string) (*contract.RunState, error) {
	if err := checkBulkShape(in); err != nil {
		return nil, err
	}
	b := in.Bulk
	st := &contract.BulkState{StepTasks: b.StepTasks, MaxSteps: in.MaxSteps, Next: contract.BulkStep}
	if st.StepTasks == 0 {
		st.StepTasks = tracker.DefaultBulkStepTasks
	}
	if st.MaxSteps == 0 {
		st.MaxSteps = contract.DefaultMaxSteps
	}
	if p := b.Resume; p != nil {
		if b.Action != "" || b.Fingerprint != "" || b.Error != "" || b.Statuses != nil || b.ID != "" || p.JobID != in.JobID {
			return nil, invalid("bulk.resume", "resumes an action of job %q alone: leave out action, selection and id", in.JobID)
		}
		if raw, _ := json.Marshal(p); len(raw) > contract.MaxInputBytes/2 {
			return nil, invalid("bulk.resume", "is %d bytes, over %d", len(raw), contract.MaxInputBytes/2)
		}
		st.Progress = *p
		return &contract.RunState{Run: contract.Run{JobID: in.JobID, Starts: []contract.JobStart{}, Live: []string{}, TaskIDs: []string{}, Bulk: st}}, nil
	}
	id := b.ID
	if id == "" {
		id = executionName(in.JobID, execution)
	}
	started, err := h.Tracker.NewBulk(in.JobID, tracker.BulkOptions{Action: b.Action, ID: id,
		Select: tracker.Selection{Fingerprint: b.Fingerprint, ErrorContains: b.Error, Statuses: b.Statuses}})
	if err != nil {
		return nil, err
	}
	st.Progress = *started
	return &contract.RunState{Run: contract.Run{JobID: in.JobID, Starts: []contract.JobStart{}, Live: []string{}, TaskIDs: []string{}, Bulk: st}}, nil
}

// checkBulkShape refuses a bulk action's input that mixes it with a run's, or whose numbers
// are out of range.
func checkBulkShape(in contract.RunInput) error {
	b := in.Bulk
	switch {
	case in.JobID == "":
		return invalid("job_id", "a bulk action names its job")
	case in.TaskIDs != nil || in.Concurrency != 0 || in.MaxRounds != 0 || in.Resume != nil:
		return invalid("bulk", "a bulk action goes with job_id and max_steps alone")
	case b.StepTasks < 0 || b.StepTasks > tracker.MaxBulkStepTasks:
		return invalid("bulk.step_tasks", "%d is out of range 1..%d", b.StepTasks, tracker.MaxBulkStepTasks)
	case in.MaxSteps < 0 || in.MaxSteps > contract.MaxSteps:
		return invalid("max_steps", "%d is out of range 1..%d", in.MaxSteps, contract.MaxSteps)
	}
	return tracker.ValidateJob(in.JobID)
}

// plainName is an execution name that can name a bulk action too.
var plainName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// executionName is the name of an execution from its ARN (…:execution:machine:name) when it
// can name a bulk action, or a name derived from the ARN.
func executionName(job, arn string) string {
	if name := arn[strings.LastIndexByte(arn, ':')+1:]; plainName.MatchString(name) {
		return name
	}
	return contract.ExecutionName(job, arn, "bulk")
}
