package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ListPending is the list-pending function, which feeds the state machine: it checks an
// execution's input, lists a job's tasks to run a page at a time in batches (tracker.Pending,
// tracker.List), says when the next failed task is due (tracker.NextDue), and counts the
// job's tasks per status (tracker.Count) once a run ends.
//
// Event: contract.ListPendingInput. Result: contract.RunState for a Run, otherwise
// contract.ListPendingOutput. Errors: InvalidInput, TrackerUnavailable.
type ListPending struct{ lambdafn.Deps }

// Handle answers one event: a run's checked input, the job's counts, or a page of batches.
func (h ListPending) Handle(ctx context.Context, event json.RawMessage) (any, error) {
	var in contract.ListPendingInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "list-pending", err)
	}
	if in.Run != nil {
		state, err := h.check(ctx, *in.Run)
		if err != nil {
			return nil, lambdafn.Fail(ctx, h.Log, "check-input", err)
		}
		h.Log.InfoContext(ctx, "run checked", "job_id", state.Run.JobID, "sweep", state.Run.Sweep, "round", state.N.Round)
		return state, nil
	}
	log := lambdafn.With(ctx, h.Log, in.JobID, "", "")
	if in.JobID == "" {
		return nil, lambdafn.Fail(ctx, log, "list-pending", lambdafn.Missing("job_id"))
	}
	if in.Counts {
		counts, err := h.Tracker.Count(ctx, in.JobID)
		if err != nil {
			return nil, lambdafn.Fail(ctx, log, "count", err)
		}
		out := &contract.ListPendingOutput{JobID: in.JobID, Batches: [][]string{}, Counts: make(map[string]int, len(counts))}
		for s, n := range counts {
			out.Counts[s.String()] = n
		}
		log.InfoContext(ctx, "counted", "counts", out.Counts)
		return out, nil
	}
	if in.Due {
		out := &contract.ListPendingOutput{JobID: in.JobID, Batches: [][]string{}}
		if err := h.due(ctx, in, out); err != nil {
			return nil, lambdafn.Fail(ctx, log, "due", err)
		}
		log.InfoContext(ctx, "due", "next_due", out.NextDue, "all_due", out.AllDue)
		return out, nil
	}
	out, err := h.list(ctx, in)
	if err != nil {
		return nil, lambdafn.Fail(ctx, log, "list-pending", err)
	}
	log.InfoContext(ctx, "listed", "batches", len(out.Batches), "listed", out.Listed, "has_more", out.HasMore, "next_due", out.NextDue)
	return out, nil
}

func (h ListPending) list(ctx context.Context, in contract.ListPendingInput) (*contract.ListPendingOutput, error) {
	if in.MaxTasks < 0 || in.Listed < 0 {
		return nil, &tracker.ValidationError{Field: "max_tasks", Reason: "max_tasks and listed must not be negative"}
	}
	if in.Limit < 0 || in.Limit > tracker.MaxPageLimit {
		return nil, &tracker.ValidationError{Field: "limit", Reason: fmt.Sprintf("must be within 1..%d", tracker.MaxPageLimit)}
	}
	batch := in.BatchSize
	if batch == 0 {
		batch = contract.DefaultBatchSize
	}
	if batch < 0 || batch > contract.MaxBatchSize {
		return nil, &tracker.ValidationError{Field: "batch_size", Reason: fmt.Sprintf("must be within 1..%d", contract.MaxBatchSize)}
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
	case len(in.TaskIDs) > 0:
		page, err = h.given(ctx, in.JobID, in.TaskIDs)
	default: // the pending tasks, or the tasks of the statuses asked for
		page, err = h.Tracker.List(ctx, in.JobID, tracker.ListOptions{Pending: len(in.Statuses) == 0, Statuses: in.Statuses, Limit: limit, Cursor: in.Cursor, IDsOnly: true})
	}
	if err != nil {
		return nil, err
	}
	cutToBytes(page, contract.MaxPageBytes)
	listed := in.Listed + len(page.Tasks)
	more := page.Cursor != "" && (in.MaxTasks == 0 || listed < in.MaxTasks)
	out := &contract.ListPendingOutput{JobID: in.JobID, Batches: [][]string{}, HasMore: more, Listed: listed}
	if more {
		out.Cursor = page.Cursor
	}
	for i, t := range page.Tasks {
		if i%batch == 0 {
			out.Batches = append(out.Batches, make([]string, 0, min(batch, len(page.Tasks)-i)))
		}
		out.Batches[len(out.Batches)-1] = append(out.Batches[len(out.Batches)-1], t.TaskID)
	}
	if !more && len(in.Statuses) == 0 {
		// The end of a pass: when may the next failed task run? Asked once per pass, since it
		// reads the job's failed tasks.
		if err := h.due(ctx, in, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// due sets when the waiting failed tasks are due, in whole seconds rounded up, so that the
// waiting state machine never wakes early.
func (h ListPending) due(ctx context.Context, in contract.ListPendingInput, out *contract.ListPendingOutput) error {
	first, last, ok, err := h.nextDue(ctx, in)
	if err != nil || !ok {
		return err
	}
	stamp := func(t time.Time) string {
		return t.Add(time.Second - time.Nanosecond).Truncate(time.Second).UTC().Format(time.RFC3339)
	}
	out.NextDue, out.AllDue = stamp(first), stamp(last)
	return nil
}

// given returns the named tasks that are claimable now, read whole (at most MaxTaskIDs).
func (h ListPending) given(ctx context.Context, job string, ids []string) (*tracker.Page, error) {
	if len(ids) > contract.MaxTaskIDs {
		return nil, &tracker.ValidationError{Field: "task_ids", Reason: fmt.Sprintf("names %d tasks, over %d", len(ids), contract.MaxTaskIDs)}
	}
	page := &tracker.Page{}
	for _, id := range ids {
		task, err := h.Tracker.Get(ctx, job, id)
		if err != nil {
			return nil, err
		}
		if h.Tracker.Claimable(task) {
			page.Tasks = append(page.Tasks, *task)
		}
	}
	return page, nil
}

// nextDue is the earliest and the latest time a waiting failed task of the pass (the named
// ones, or the job's) is due.
func (h ListPending) nextDue(ctx context.Context, in contract.ListPendingInput) (first, last time.Time, ok bool, err error) {
	if len(in.TaskIDs) == 0 {
		return h.Tracker.NextDue(ctx, in.JobID)
	}
	for _, id := range in.TaskIDs {
		task, err := h.Tracker.Get(ctx, in.JobID, id)
		if err != nil {
			return time.Time{}, time.Time{}, false, err
		}
		if task.Status != tracker.Failed || h.Tracker.Claimable(task) {
			continue
		}
		if first.IsZero() || task.RetryAt.Before(first) {
			first = task.RetryAt
		}
		if task.RetryAt.After(last) {
			last = task.RetryAt
		}
	}
	return first, last, !first.IsZero(), nil
}

// cutToBytes shortens the page so that its ids, encoded as the batches carry them, stay
// within max bytes.
func cutToBytes(page *tracker.Page, max int) {
	total := 0
	for i, t := range page.Tasks {
		total += encodedLen(t.TaskID) + 3 // a comma, and at worst a batch's brackets
		if total > max {
			page.Truncate(max1(i))
			return
		}
	}
}

func max1(n int) int { return max(n, 1) }

// encodedLen is the length of s as a JSON string, encoded as the functions encode it.
func encodedLen(s string) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return b.Len() - 1 // the newline Encode adds
}

// check validates an execution's input and fills in its defaults.
func (h ListPending) check(ctx context.Context, in contract.RunInput) (*contract.RunState, error) {
	cfg := h.Settings.WithDefaults()
	invalid := func(field, format string, args ...any) error {
		return &tracker.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	raw, _ := json.Marshal(in)
	if len(raw) > contract.MaxInputBytes {
		return nil, invalid("input", "is %d bytes, over %d", len(raw), contract.MaxInputBytes)
	}
	run := contract.Run{JobID: in.JobID, JobIDs: in.JobIDs, TaskIDs: in.TaskIDs, Limit: in.Limit}
	switch {
	case in.AllJobs && (in.JobID != "" || len(in.JobIDs) > 0):
		return nil, invalid("all_jobs", "give all_jobs alone, not with job_id or job_ids")
	case in.AllJobs:
		jobs, err := h.pendingJobs(ctx)
		if err != nil {
			return nil, err
		}
		return &contract.RunState{Run: contract.Run{JobIDs: jobs, Sweep: true, TaskIDs: []string{}}, N: contract.Progress{Round: 1}}, nil
	case in.JobID == "" && len(in.JobIDs) == 0:
		return nil, invalid("job_id", "the input names no job: give job_id, job_ids for a sweep, or all_jobs")
	case in.JobID != "" && len(in.JobIDs) > 0:
		return nil, invalid("job_ids", "give job_id or job_ids, not both")
	case len(in.JobIDs) > contract.MaxJobIDs:
		return nil, invalid("job_ids", "names %d jobs, over %d", len(in.JobIDs), contract.MaxJobIDs)
	case len(in.JobIDs) > 0 && (len(in.TaskIDs) > 0 || in.Resume != nil):
		return nil, invalid("task_ids", "a sweep runs whole jobs: task_ids and resume go with job_id")
	case len(in.TaskIDs) > contract.MaxTaskIDs:
		return nil, invalid("task_ids", "names %d tasks, over %d", len(in.TaskIDs), contract.MaxTaskIDs)
	case in.Limit < 0:
		return nil, invalid("limit", "must not be negative")
	}
	seen := map[string]bool{}
	for _, job := range append([]string{in.JobID}, in.JobIDs...) {
		if job == "" && in.JobID == "" {
			continue
		}
		if err := tracker.ValidateJob(job); err != nil {
			return nil, err
		}
		if seen[job] {
			return nil, invalid("job_ids", "names job %q twice", job)
		}
		seen[job] = true
	}
	for _, id := range in.TaskIDs {
		if err := tracker.ValidateID(in.JobID, id); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		field  string
		v, def int
		max    int
		dst    *int
	}{
		{"page_size", in.PageSize, cfg.PageSize, tracker.MaxPageLimit, &run.PageSize},
		{"batch_size", in.BatchSize, cfg.BatchSize, contract.MaxBatchSize, &run.BatchSize},
		{"concurrency", in.Concurrency, cfg.Concurrency, contract.MaxConcurrency, &run.Concurrency},
		{"max_rounds", in.MaxRounds, h.Tracker.Config().MaxRetry, contract.MaxRounds, &run.MaxRounds},
		{"max_steps", in.MaxSteps, contract.DefaultMaxSteps, contract.MaxSteps, &run.MaxSteps},
	} {
		switch {
		case f.v < 0 || f.v > f.max:
			return nil, invalid(f.field, "%d is out of range 1..%d", f.v, f.max)
		case f.v == 0:
			*f.dst = min(f.def, f.max)
		default:
			*f.dst = f.v
		}
	}
	run.Sweep = len(in.JobIDs) > 0
	if run.JobIDs == nil {
		run.JobIDs = []string{}
	}
	if run.TaskIDs == nil {
		run.TaskIDs = []string{}
	}
	run.WorkTimeout = int(cfg.WorkerTimeout / time.Second)
	state := &contract.RunState{Run: run, N: contract.Progress{Round: 1}}
	if r := in.Resume; r != nil {
		if r.Round < 1 || r.Pages < 0 || r.Listed < 0 || r.Executions < 0 || r.Round > run.MaxRounds+1 {
			return nil, invalid("resume", "is not progress this state machine handed over")
		}
		state.N = contract.Progress{Round: r.Round, Pages: r.Pages, Listed: r.Listed, Executions: r.Executions}
		state.At.Cursor = r.Cursor
	}
	// A named task that does not exist is a mistake in the input: refuse the run (TaskNotFound)
	// before anything is written.
	for _, id := range in.TaskIDs {
		if _, err := h.Tracker.Get(ctx, in.JobID, id); err != nil {
			return nil, err
		}
	}
	if !run.Sweep && in.Resume == nil {
		if err := h.Tracker.RecordRun(ctx, run.JobID); err != nil {
			return nil, err
		}
	}
	return state, nil
}

// pendingJobs lists the registered jobs with a pending task, the least recently run first (so
// that a sweep capped at MaxJobIDs reaches every job in turn).
func (h ListPending) pendingJobs(ctx context.Context) ([]string, error) {
	jobs, err := h.Tracker.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].LastRun.Before(jobs[j].LastRun) })
	ids := []string{}
	for _, j := range jobs {
		if len(ids) == contract.MaxJobIDs {
			break
		}
		pending, err := h.anyPending(ctx, j.JobID)
		if err != nil {
			return nil, err
		}
		if pending {
			ids = append(ids, j.JobID)
		}
	}
	return ids, nil
}

// anyPending reports whether job has a pending task (a page may come back empty with a
// cursor: follow it).
func (h ListPending) anyPending(ctx context.Context, job string) (bool, error) {
	cursor := ""
	for {
		page, err := h.Tracker.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 1, Cursor: cursor})
		if err != nil || len(page.Tasks) > 0 {
			return err == nil && len(page.Tasks) > 0, err
		}
		if cursor = page.Cursor; cursor == "" {
			return false, nil
		}
	}
}
