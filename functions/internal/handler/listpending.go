package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ListPending is the list-pending function, which steers a job's run from the parent
// execution: it checks the execution's input (a bulk action's too, which the claim function
// then runs) and takes the job's run lease (Run), says what
// the run does next (Plan: a pass of lanes while tasks are due, a wait for the next failed
// task, continue-as-new, or the end), and, at the end, counts the job's tasks per status and
// gives up the run's lease (End).
//
// Event: contract.ListPendingInput. Result: contract.RunState for Run, contract.Plan for
// Plan, contract.EndOutput for End. Errors: InvalidInput, TaskNotFound, TrackerUnavailable.
type ListPending struct{ lambdafn.Deps }

// Handle answers one event.
func (h ListPending) Handle(ctx context.Context, event json.RawMessage) (any, error) {
	var in contract.ListPendingInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "list-pending", err)
	}
	modes := 0
	for _, set := range []bool{in.Run != nil, in.Plan != nil, in.End != nil} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return nil, lambdafn.Fail(ctx, h.Log, "list-pending", &tracker.ValidationError{Field: "event", Reason: "give exactly one of run, plan and end"})
	}
	switch {
	case in.Run != nil:
		state, err := h.check(ctx, *in.Run, in.Execution)
		if err != nil {
			return nil, lambdafn.Fail(ctx, lambdafn.With(ctx, h.Log, in.Run.JobID, "", in.Execution), "check-input", err)
		}
		h.Log.InfoContext(ctx, "run checked", "job_id", state.Run.JobID, "sweep", state.Run.Sweep, "holder", state.Run.Holder)
		return state, nil
	case in.Plan != nil:
		log := lambdafn.With(ctx, h.Log, in.Plan.Run.JobID, "", in.Plan.Execution)
		plan, err := h.plan(ctx, *in.Plan)
		if err != nil {
			return nil, lambdafn.Fail(ctx, log, "plan", err)
		}
		log.InfoContext(ctx, "planned", "action", plan.Action, "rounds", plan.N.Rounds, "waits", plan.N.Waits, "lanes", plan.Lanes, "slots", len(plan.Slots))
		return plan, nil
	default:
		log := lambdafn.With(ctx, h.Log, in.End.Run.JobID, "", "")
		out, err := h.end(ctx, in.End.Run)
		if err != nil {
			return nil, lambdafn.Fail(ctx, log, "end", err)
		}
		log.InfoContext(ctx, "run ended", "counts", out.Counts)
		return out, nil
	}
}

// check validates an execution's input and fills in its defaults. A job's run takes the
// job's run lease (a resumed run renews the one it was handed); when another run holds it,
// the state says so (Run.Holder) and the run ends at its first plan.
func (h ListPending) check(ctx context.Context, in contract.RunInput, execution string) (*contract.RunState, error) {
	raw, _ := json.Marshal(in)
	if len(raw) > contract.MaxInputBytes {
		return nil, invalid("input", "is %d bytes, over %d", len(raw), contract.MaxInputBytes)
	}
	if in.Bulk != nil {
		return h.checkBulk(in, execution)
	}
	if err := checkShape(in); err != nil {
		return nil, err
	}
	if in.AllJobs || len(in.JobIDs) > 0 {
		return h.sweep(ctx, in, execution)
	}
	run, err := h.defaults(in)
	if err != nil {
		return nil, err
	}
	if err := h.checkTasks(ctx, in.JobID, in.TaskIDs); err != nil {
		return nil, err
	}
	state := &contract.RunState{Run: run, Plan: contract.Plan{N: contract.Progress{}}}
	if r := in.Resume; r != nil {
		if r.Rounds < 0 || r.Waits < 0 || r.Executions < 0 || r.Lease == nil || r.Lease.JobID != in.JobID {
			return nil, invalid("resume", "is not progress this state machine handed over")
		}
		state.Plan.N = contract.Progress{Rounds: r.Rounds, Waits: r.Waits, Executions: r.Executions}
		lease := *r.Lease
		lease.Owner = execution
		renewed, err := h.Tracker.RenewRun(ctx, lease)
		switch {
		case errors.Is(err, tracker.ErrRunLost):
			state.Run.Holder = err.Error()
		case err != nil:
			return nil, err
		default:
			state.Run.Lease = renewed
		}
		return state, nil
	}
	lease, err := h.Tracker.AcquireRun(ctx, in.JobID, execution)
	var live *tracker.RunLiveError
	switch {
	case errors.As(err, &live):
		state.Run.Holder = live.Holder.Owner
	case err != nil:
		return nil, err
	default:
		state.Run.Lease = lease
	}
	return state, nil
}

func invalid(field, format string, args ...any) error {
	return &tracker.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// checkShape refuses an input that names no job or mixes a sweep with a job's run, and ids
// that are malformed or repeated, before anything is read.
func checkShape(in contract.RunInput) error {
	sweep := in.AllJobs || len(in.JobIDs) > 0
	switch {
	case in.AllJobs && (in.JobID != "" || len(in.JobIDs) > 0):
		return invalid("all_jobs", "give all_jobs alone, not with job_id or job_ids")
	case in.JobID == "" && !sweep:
		return invalid("job_id", "the input names no job: give job_id, job_ids for a sweep, or all_jobs")
	case in.JobID != "" && len(in.JobIDs) > 0:
		return invalid("job_ids", "give job_id or job_ids, not both")
	case len(in.JobIDs) > contract.MaxJobIDs:
		return invalid("job_ids", "names %d jobs, over %d", len(in.JobIDs), contract.MaxJobIDs)
	case sweep && (in.TaskIDs != nil || in.Resume != nil):
		return invalid("task_ids", "a sweep runs whole jobs: task_ids and resume go with job_id")
	case in.TaskIDs != nil && len(in.TaskIDs) == 0:
		return invalid("task_ids", "is empty: leave it out to run the whole job")
	case len(in.TaskIDs) > contract.MaxTaskIDs:
		return invalid("task_ids", "names %d tasks, over %d", len(in.TaskIDs), contract.MaxTaskIDs)
	}
	if err := checkJobIDs(in); err != nil {
		return err
	}
	return checkTaskIDs(in.JobID, in.TaskIDs)
}

// checkJobIDs refuses a malformed or repeated job id.
func checkJobIDs(in contract.RunInput) error {
	seen := map[string]bool{}
	for _, job := range append([]string{in.JobID}, in.JobIDs...) {
		if job == "" && in.JobID == "" {
			continue
		}
		if err := tracker.ValidateJob(job); err != nil {
			return err
		}
		if seen[job] {
			return invalid("job_ids", "names job %q twice", job)
		}
		seen[job] = true
	}
	return nil
}

// checkTaskIDs refuses a malformed or repeated task id.
func checkTaskIDs(job string, ids []string) error {
	seen := map[string]bool{}
	for _, id := range ids {
		if err := tracker.ValidateID(job, id); err != nil {
			return err
		}
		if seen[id] {
			return invalid("task_ids", "names task %q twice", id)
		}
		seen[id] = true
	}
	return nil
}

// checkTasks refuses a run of a job with no task at all (a typo in its id) with JobNotFound,
// and a run naming a task that does not exist with TaskNotFound, before anything is written.
func (h ListPending) checkTasks(ctx context.Context, job string, ids []string) error {
	for _, id := range ids {
		if _, err := h.Tracker.Get(ctx, job, id); err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		return nil
	}
	page, err := h.Tracker.List(ctx, job, tracker.ListOptions{Limit: 1, IDsOnly: true})
	if err != nil {
		return err
	}
	if len(page.Tasks) == 0 && page.Cursor == "" {
		return fmt.Errorf("run of %q: %w", job, tracker.ErrJobNotFound)
	}
	return nil
}

// defaults fills in a job's run from the input and the function's settings.
func (h ListPending) defaults(in contract.RunInput) (contract.Run, error) {
	cfg := h.Settings.WithDefaults()
	run := contract.Run{JobID: in.JobID, TaskIDs: in.TaskIDs, Starts: []contract.JobStart{}, Live: []string{}}
	if run.TaskIDs == nil {
		run.TaskIDs = []string{}
	}
	for _, f := range []struct {
		field  string
		v, def int
		max    int
		dst    *int
	}{
		{"concurrency", in.Concurrency, cfg.Concurrency, contract.MaxConcurrency, &run.Concurrency},
		{"max_rounds", in.MaxRounds, contract.DefaultMaxRounds, contract.MaxRounds, &run.MaxRounds},
		{"max_steps", in.MaxSteps, contract.DefaultMaxSteps, contract.MaxSteps, &run.MaxSteps},
	} {
		switch {
		case f.v < 0 || f.v > f.max:
			return run, invalid(f.field, "%d is out of range 1..%d", f.v, f.max)
		case f.v == 0:
			*f.dst = min(f.def, f.max)
		default:
			*f.dst = f.v
		}
	}
	run.Lanes, run.Loops = Shape(run.Concurrency, cfg.LaneType.LoopsPerLane())
	run.Concurrency = run.Lanes * run.Loops
	run.WorkTimeout = int(cfg.WorkerTimeout / time.Second)
	return run, nil
}

// Shape splits a run's concurrency into lanes of at most perLane loops (a lane type's
// LoopsPerLane): as few lanes as can hold it, each with the same number of loops, so that
// the run works lanes × loops tasks at once (concurrency rounded up to a multiple of the
// lanes). Beyond contract.MaxLanes lanes, each lane takes more loops instead, up to
// contract.MaxLoops (a concurrency up to contract.MaxConcurrency).
func Shape(concurrency, perLane int) (lanes, loops int) {
	lanes = min((concurrency+perLane-1)/perLane, contract.MaxLanes)
	loops = (concurrency + lanes - 1) / lanes
	return lanes, loops
}

// sweep checks a sweep's input: the jobs to start (every registered job with a pending
// task, the least recently run first, or the jobs named), leaving out those a run holds, each
// with an execution name derived from this execution and the job.
func (h ListPending) sweep(ctx context.Context, in contract.RunInput, execution string) (*contract.RunState, error) {
	reg, err := h.Tracker.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	for _, bad := range reg.Bad {
		h.Log.WarnContext(ctx, "registry item skipped", "key", bad.Key, "reason", bad.Reason)
	}
	now := h.Tracker.Config().Now()
	live := map[string]bool{}
	for _, j := range reg.Jobs {
		live[j.JobID] = j.Run.Live(now)
	}
	ids := in.JobIDs
	if in.AllJobs {
		jobs := reg.Jobs
		sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].LastRun.Before(jobs[j].LastRun) })
		for _, j := range jobs {
			ids = append(ids, j.JobID)
		}
	}
	run := contract.Run{Sweep: true, Starts: []contract.JobStart{}, Live: []string{}, TaskIDs: []string{}}
	for _, job := range ids {
		if len(run.Starts) == contract.MaxJobIDs {
			break
		}
		if live[job] {
			run.Live = append(run.Live, job)
			continue
		}
		if in.AllJobs {
			pending, err := h.anyPending(ctx, job)
			if err != nil {
				return nil, err
			}
			if !pending {
				continue
			}
		}
		run.Starts = append(run.Starts, contract.JobStart{JobID: job, Name: contract.ExecutionName(job, execution, "sweep")})
	}
	return &contract.RunState{Run: run}, nil
}

// plan says what the run does next: end when another run took the job; continue as new
// before the history budget runs out; a round (a pass of lanes) while a task is due; a wait
// until the next failed task is due; and the end when nothing is due or waits, or the run's
// rounds are spent.
func (h ListPending) plan(ctx context.Context, in contract.PlanInput) (*contract.Plan, error) {
	run, n := in.Run, in.N
	if run.Lease == nil {
		return &contract.Plan{Action: contract.ActionSuperseded, N: n, Holder: run.Holder}, nil
	}
	lease := *run.Lease
	lease.Owner = in.Execution
	renewed, err := h.Tracker.RenewRun(ctx, lease)
	if errors.Is(err, tracker.ErrRunLost) {
		return &contract.Plan{Action: contract.ActionSuperseded, N: n, Holder: err.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	if n.Steps >= run.MaxSteps {
		return h.handover(in, *renewed)
	}
	pending, err := h.pending(ctx, run)
	if err != nil {
		return nil, err
	}
	if n.Rounds >= run.MaxRounds {
		return &contract.Plan{Action: contract.ActionDone, N: n}, nil
	}
	if !pending {
		next, ok, err := h.nextDue(ctx, run)
		if err != nil {
			return nil, err
		}
		if ok {
			n.Waits++
			n.Steps++
			// Whole seconds rounded up, so that the waiting state machine never wakes early.
			at := next.Add(time.Second - time.Nanosecond).Truncate(time.Second).UTC().Format(time.RFC3339)
			return &contract.Plan{Action: contract.ActionWait, N: n, WaitUntil: at}, nil
		}
		// A failed task may have come due between the two queries, and be in neither: look
		// once more before the run ends.
		if pending, err = h.pending(ctx, run); err != nil || !pending {
			return &contract.Plan{Action: contract.ActionDone, N: n}, err
		}
	}
	n.Rounds++
	n.Steps++
	s, err := h.slots(ctx, run)
	if err != nil {
		return nil, err
	}
	return &contract.Plan{Action: contract.ActionLanes, N: n, Lanes: run.Lanes, Slots: s, Lane: h.lane(run, in.Execution, n.Rounds)}, nil
}

// slots are a round's lane slots: one lane for a run of named tasks; otherwise SlotsPerLane
// per lane run at once, at most MaxSlots, and no more than a first generation of lanes and
// one more lane per Loops todo and failed tasks (each loop of a lane that finds work claims
// at least one): a small job's round does not start lanes that could only find nothing. It
// counts the job's todo and failed tasks on the index up to what would fill the slots.
func (h ListPending) slots(ctx context.Context, run contract.Run) ([]int, error) {
	n := 1
	if len(run.TaskIDs) == 0 {
		n = min(run.Lanes*contract.SlotsPerLane, contract.MaxSlots)
		tasks, err := h.Tracker.CountUpTo(ctx, run.JobID, []tracker.Status{tracker.Todo, tracker.Failed}, n*run.Loops)
		if err != nil {
			return nil, err
		}
		n = min(n, run.Lanes+(tasks+run.Loops-1)/run.Loops)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out, nil
}

// lane is what each lane of a pass gets. An Express lane has ExpressBudget seconds; a
// Standard one has no time limit but its history: its loops' tasks are bounded so that
// the lane's history stays within Step Functions' 25,000 events.
func (h ListPending) lane(run contract.Run, owner string, pass int) *contract.LaneRun {
	l := &contract.LaneRun{Owner: owner, Token: run.Lease.Token, Pass: pass, Lanes: run.Lanes, Loops: run.Loops,
		TaskIDs: run.TaskIDs, WorkTimeout: run.WorkTimeout}
	if len(run.TaskIDs) > 0 {
		l.Lanes, l.Loops = 1, len(run.TaskIDs)
	}
	if h.Settings.WithDefaults().LaneType == contract.LaneStandard {
		l.MaxTasks = contract.StandardLaneTasks(l.Loops)
	} else {
		l.Budget = contract.ExpressBudget
	}
	return l
}

// handover is the execution the run continues as, holding its lease and progress.
func (h ListPending) handover(in contract.PlanInput, lease tracker.RunLease) (*contract.Plan, error) {
	run, n := in.Run, in.N
	name := contract.ExecutionName(run.JobID, in.Execution, "continue")
	arn, err := executionArn(in.Machine, name)
	if err != nil {
		return nil, err
	}
	resume := &contract.Progress{Rounds: n.Rounds, Waits: n.Waits, Executions: n.Executions + 1, Lease: &lease}
	input := contract.RunInput{JobID: run.JobID, TaskIDs: nilIfEmpty(run.TaskIDs), Concurrency: run.Concurrency,
		MaxRounds: run.MaxRounds, MaxSteps: run.MaxSteps, Resume: resume, StartedBy: in.Execution}
	return &contract.Plan{Action: contract.ActionHandover, N: n, Handover: &contract.Handover{Name: name, Arn: arn, Input: input}}, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// executionArn is the ARN of the execution named name of the state machine machine
// (arn:partition:states:region:account:stateMachine:name).
func executionArn(machine, name string) (string, error) {
	parts := strings.Split(machine, ":")
	if len(parts) != 7 || parts[2] != "states" || parts[5] != "stateMachine" {
		return "", invalid("machine", "%q is not a state machine ARN", machine)
	}
	parts[5] = "execution"
	return strings.Join(parts, ":") + ":" + name, nil
}

// pending reports whether the run has a task to claim now: one of its named tasks, or any
// of the job's.
func (h ListPending) pending(ctx context.Context, run contract.Run) (bool, error) {
	if len(run.TaskIDs) == 0 {
		return h.anyPending(ctx, run.JobID)
	}
	for _, id := range run.TaskIDs {
		task, err := h.Tracker.Get(ctx, run.JobID, id)
		if err != nil {
			return false, err
		}
		if h.Tracker.Claimable(task) {
			return true, nil
		}
	}
	return false, nil
}

// anyPending reports whether job has a pending task (a page may come back empty with a
// cursor: follow it).
func (h ListPending) anyPending(ctx context.Context, job string) (bool, error) {
	cursor := ""
	for {
		page, err := h.Tracker.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 1, Cursor: cursor, IDsOnly: true})
		if err != nil || len(page.Tasks) > 0 {
			return err == nil && len(page.Tasks) > 0, err
		}
		if cursor = page.Cursor; cursor == "" {
			return false, nil
		}
	}
}

// nextDue is when the next of the run's failed tasks that are not due yet is due.
func (h ListPending) nextDue(ctx context.Context, run contract.Run) (time.Time, bool, error) {
	if len(run.TaskIDs) == 0 {
		d, err := h.Tracker.NextDue(ctx, run.JobID)
		return d.First, d.Waiting, err
	}
	var first time.Time
	for _, id := range run.TaskIDs {
		task, err := h.Tracker.Get(ctx, run.JobID, id)
		if err != nil {
			return time.Time{}, false, err
		}
		if task.Status == tracker.Failed && !h.Tracker.Claimable(task) && (first.IsZero() || task.RetryAt.Before(first)) {
			first = task.RetryAt
		}
	}
	return first, !first.IsZero(), nil
}

// end counts the job's tasks per status and gives up the run's lease.
func (h ListPending) end(ctx context.Context, run contract.Run) (*contract.EndOutput, error) {
	if err := tracker.ValidateJob(run.JobID); err != nil {
		return nil, err
	}
	counts, err := h.Tracker.Count(ctx, run.JobID)
	if err != nil {
		return nil, err
	}
	out := &contract.EndOutput{JobID: run.JobID, Counts: make(map[string]int, len(counts))}
	for _, s := range tracker.Statuses() {
		out.Counts[s.String()] = counts[s]
	}
	if run.Lease != nil {
		if err := h.Tracker.EndRun(ctx, *run.Lease); err != nil && !errors.Is(err, tracker.ErrRunLost) {
			return nil, err
		}
	}
	return out, nil
}
