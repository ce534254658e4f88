package handler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Claim is the claim function: it takes the lease on one named task (tracker.Claim), or, in
// a lane's loop, on the loop's next due task (tracker.ClaimNext), and starts lanes; and it
// runs the steps of bulk actions (tracker.BulkStep).
//
// Events and results: contract.ClaimInput gives contract.ClaimOutput; {"lane":
// contract.LaneInput} gives contract.LaneOutput; {"next": contract.NextInput} gives
// contract.NextOutput; {"bulk": contract.BulkStepInput} gives contract.BulkState. Errors: InvalidInput, TaskNotFound, TaskLocked, TaskNotDue,
// TaskAlreadySucceeded, TaskIgnored, TaskWrongStatus (a named claim refused),
// TrackerUnavailable. Metrics (EMF lines on stdout, per job): claimed, refused, duration.
type Claim struct {
	lambdafn.Deps
	// Now is the clock of the lanes' budgets; nil means time.Now.
	Now func() time.Time
}

// claimEvent is any of the claim function's events.
type claimEvent struct {
	contract.ClaimInput
	Lane *contract.LaneInput     `json:"lane,omitempty"`
	Next *contract.NextInput     `json:"next,omitempty"`
	Bulk *contract.BulkStepInput `json:"bulk,omitempty"`
}

// Handle claims the task the event names, the loop's next task, or starts a lane.
func (h Claim) Handle(ctx context.Context, event json.RawMessage) (any, error) {
	var in claimEvent
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "claim", err)
	}
	modes := 0
	for _, set := range []bool{in.JobID != "" || in.TaskID != "" || in.ExecutionID != "", in.Lane != nil, in.Next != nil, in.Bulk != nil} {
		if set {
			modes++
		}
	}
	switch {
	case modes > 1:
		return nil, lambdafn.Fail(ctx, h.Log, "claim", &tracker.ValidationError{Field: "event", Reason: "give a task (job_id, task_id), lane, next or bulk, one of them"})
	case in.Bulk != nil:
		return h.bulk(ctx, *in.Bulk)
	case in.Lane != nil:
		return h.lane(ctx, *in.Lane)
	case in.Next != nil:
		return h.next(ctx, *in.Next)
	}
	return h.named(ctx, in.ClaimInput)
}

// named claims the task the event names for the execution it names.
func (h Claim) named(ctx context.Context, in contract.ClaimInput) (*contract.ClaimOutput, error) {
	log := lambdafn.With(ctx, h.Log, in.JobID, in.TaskID, in.ExecutionID)
	defer h.Time(ctx, in.JobID)()
	lease, err := h.Tracker.Claim(ctx, in.JobID, in.TaskID, in.ExecutionID)
	if err != nil {
		return nil, h.Fail(ctx, log, "claim", in.JobID, err)
	}
	return h.claimed(ctx, log, lease), nil
}

func (h Claim) claimed(ctx context.Context, log *slog.Logger, lease *tracker.Lease) *contract.ClaimOutput {
	h.Count(ctx, lease.JobID, lambdafn.Claimed)
	log.InfoContext(ctx, "claimed", "attempt", lease.Task.Attempts, "retry", lease.Retry, "lease_expires", lease.Expires)
	return &contract.ClaimOutput{
		JobID: lease.JobID, TaskID: lease.TaskID, Data: dataOrEmpty(lease.Task.Data),
		Attempt: lease.Task.Attempts, Lease: *lease,
		WorkTimeout: int(h.Settings.WorkerTimeout / time.Second),
	}
}

func (h Claim) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// lane starts a lane: it renews the run's lease on the job once a generation of lanes (the
// slots a pass starts together), says whether anything is due, and gives the lane its loops
// and what each loop needs (the lane's start, from which its budget counts).
func (h Claim) lane(ctx context.Context, in contract.LaneInput) (*contract.LaneOutput, error) {
	log := lambdafn.With(ctx, h.Log, in.JobID, "", in.Run.Owner)
	if err := checkLane(in); err != nil {
		return nil, lambdafn.Fail(ctx, log, "lane", err)
	}
	out := &contract.LaneOutput{Groups: [][]contract.LoopItem{}, Lane: contract.Lane{Slot: in.Slot, Lanes: in.Run.Lanes, Loops: in.Run.Loops,
		Started: h.now().UTC(), Budget: contract.LaneBudget(in.Run.Budget, in.Run.WorkTimeout+contract.LaneMargin, in.Slot, in.Run.Lanes), MaxTasks: in.Run.MaxTasks, WorkTimeout: in.Run.WorkTimeout}}
	var loops []contract.LoopItem
	defer func() { log.InfoContext(ctx, "lane started", "slot", in.Slot, "go", out.Go, "loops", len(loops)) }()
	if in.Slot%in.Run.Lanes == 0 {
		lease := tracker.RunLease{JobID: in.JobID, Token: in.Run.Token, Owner: in.Run.Owner}
		if _, err := h.Tracker.RenewRun(ctx, lease); errors.Is(err, tracker.ErrRunLost) {
			log.WarnContext(ctx, "lane not started: the run lost its lease on the job", "error", err.Error())
			return out, nil
		} else if err != nil {
			return nil, lambdafn.Fail(ctx, log, "lane", err)
		}
	}
	if len(in.Run.TaskIDs) > 0 {
		for _, id := range in.Run.TaskIDs {
			loops = append(loops, contract.LoopItem{TaskID: id})
		}
		out.Go, out.Groups = true, contract.Groups(loops)
		return out, nil
	}
	page, err := h.Tracker.List(ctx, in.JobID, tracker.ListOptions{Pending: true, Limit: 1, IDsOnly: true})
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "lane", err)
	}
	if out.Go = len(page.Tasks) > 0 || page.Cursor != ""; out.Go {
		for i := range in.Run.Loops {
			loops = append(loops, contract.LoopItem{Loop: i})
		}
		out.Groups = contract.Groups(loops)
	}
	return out, nil
}

// checkLane refuses a lane whose run makes no sense, before anything is read.
func checkLane(in contract.LaneInput) error {
	if err := tracker.ValidateJob(in.JobID); err != nil {
		return err
	}
	r := in.Run
	switch {
	case in.Slot < 0:
		return invalid("slot", "%d is negative", in.Slot)
	case r.Lanes < 1 || r.Lanes > contract.MaxLanes:
		return invalid("run.lanes", "%d is out of range 1..%d", r.Lanes, contract.MaxLanes)
	case len(r.TaskIDs) == 0 && (r.Loops < 1 || r.Loops > contract.MaxLoops):
		return invalid("run.loops", "%d is out of range 1..%d", r.Loops, contract.MaxLoops)
	case len(r.TaskIDs) > contract.MaxTaskIDs:
		return invalid("run.task_ids", "names %d tasks, over %d", len(r.TaskIDs), contract.MaxTaskIDs)
	case r.Budget < 0 || r.MaxTasks < 0 || r.WorkTimeout < 1:
		return invalid("run", "budget and max_tasks must not be negative, work_timeout must be positive")
	}
	return nil
}

// next claims a loop's next task: its named task once, or the next due task of its part of
// the job, unless the lane's budget cannot fit another task or the loop claimed its share.
func (h Claim) next(ctx context.Context, in contract.NextInput) (*contract.NextOutput, error) {
	log := lambdafn.With(ctx, h.Log, in.JobID, in.Item.TaskID, in.ExecutionID)
	if err := tracker.ValidateJob(in.JobID); err != nil {
		return nil, lambdafn.Fail(ctx, log, "next", err)
	}
	out, err := h.nextTask(ctx, log, in)
	if err == nil && !out.Claimed {
		log.InfoContext(ctx, "loop ends", "why", out.Why, "claimed", out.At.Claimed, "refused", out.At.Refused, "parts", out.At.Parts)
	}
	return out, err
}

// nextTask is next of a checked event.
func (h Claim) nextTask(ctx context.Context, log *slog.Logger, in contract.NextInput) (*contract.NextOutput, error) {
	out := &contract.NextOutput{At: in.At}
	switch lane := in.Lane; {
	case in.At.Done:
		out.Why = contract.WhyDone
		return out, nil
	case lane.MaxTasks > 0 && in.At.Claimed >= lane.MaxTasks:
		out.Why = contract.WhyTasks
		return out, nil
	case lane.Budget > 0 && h.now().Add(time.Duration(lane.WorkTimeout+contract.LaneMargin)*time.Second).After(lane.Started.Add(time.Duration(lane.Budget)*time.Second)):
		out.Why = contract.WhyBudget
		return out, nil
	}
	defer h.Time(ctx, in.JobID)()
	if in.Item.TaskID != "" {
		return h.nextNamed(ctx, log, in)
	}
	at := in.At
	if at.Parts == 0 {
		// Slots run Lanes at a time: a slot's lane stands in for slot mod Lanes of the
		// first generation, its loops numbered among the Lanes × Loops of the run.
		lanes := max(in.Lane.Lanes, 1)
		at.Loop = (in.Lane.Slot%lanes)*max(in.Lane.Loops, 1) + in.Item.Loop
		at.Of = lanes * max(in.Lane.Loops, 1)
	}
	lease, at, err := h.Tracker.ClaimNext(ctx, in.JobID, at, in.ExecutionID)
	if err != nil {
		return nil, h.Fail(ctx, log, "next", in.JobID, err)
	}
	out.At = at
	if refused := at.Refused - in.At.Refused; refused > 0 {
		h.Add(ctx, in.JobID, lambdafn.Refused, refused)
	}
	switch {
	case lease != nil:
		out.Claimed, out.Claim = true, h.claimed(ctx, log.With("task_id", lease.TaskID), lease)
	case at.Done:
		out.Why = contract.WhyDone
	default:
		out.Why = contract.WhyBusy
	}
	return out, nil
}

// nextNamed claims a loop's named task, once: a refusal ends the loop (another execution
// holds the task, or it is finished), as a second call does.
func (h Claim) nextNamed(ctx context.Context, log *slog.Logger, in contract.NextInput) (*contract.NextOutput, error) {
	out := &contract.NextOutput{At: in.At}
	out.At.Done, out.Why = true, contract.WhyDone
	if in.At.Claimed > 0 {
		return out, nil
	}
	out.At.Claimed = 1
	lease, err := h.Tracker.Claim(ctx, in.JobID, in.Item.TaskID, in.ExecutionID)
	if err != nil {
		if lambdafn.IsRefusal(err) {
			h.Count(ctx, in.JobID, lambdafn.Refused)
			return out, nil
		}
		return nil, lambdafn.Error(err)
	}
	out.Claimed, out.Claim, out.Why = true, h.claimed(ctx, log, lease), ""
	return out, nil
}

// dataOrEmpty gives the worker an object even for a task without data.
func dataOrEmpty(d json.RawMessage) json.RawMessage {
	if d == nil {
		return json.RawMessage(`{}`)
	}
	return d
}
