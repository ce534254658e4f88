package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// change is an operator transition applied to tasks one conditional write each: retry or
// ignore.
type change struct {
	verb, past string
	// from are the statuses --status accepts.
	from []tracker.Status
	// apply makes the change on one task.
	apply func(ctx context.Context, tr *tracker.Tracker, job, id string) error
	// refuses says why the change would be refused on t, or "" if it would apply.
	refuses func(t *tracker.Task) string
}

var retryChange = change{
	verb: "retry", past: "retried",
	from: []tracker.Status{tracker.Failed, tracker.Ignored},
	apply: func(ctx context.Context, tr *tracker.Tracker, job, id string) error {
		_, err := tr.Retry(ctx, job, id)
		return err
	},
	refuses: func(t *tracker.Task) string {
		switch t.Status {
		case tracker.Failed, tracker.Ignored:
			return ""
		case tracker.Succeeded:
			return tracker.ErrTaskAlreadySucceeded.Error()
		}
		return "task is " + t.Status.String()
	},
}

var ignoreChange = change{
	verb: "ignore", past: "ignored",
	from: []tracker.Status{tracker.Todo, tracker.InProgress, tracker.Failed},
	apply: func(ctx context.Context, tr *tracker.Tracker, job, id string) error {
		_, err := tr.Ignore(ctx, job, id)
		return err
	},
	refuses: func(t *tracker.Task) string {
		if t.Status == tracker.Succeeded {
			return tracker.ErrTaskAlreadySucceeded.Error()
		}
		return ""
	},
}

func retryCommand() *command {
	return changeCommand(retryChange, "put failed or ignored tasks back to todo", `Put tasks of JOB back to todo, so that the next run claims them: the tasks named, or a
selection. Their retry counter restarts at 0; their last failure becomes history (their
attempt history keeps it). A task in another status is refused and listed.`)
}

func ignoreCommand() *command {
	return changeCommand(ignoreChange, "set tasks to ignored so that no run claims them", `Set tasks of JOB to ignored, so that no run claims them until they are retried: the tasks
named, or a selection. A named task still leased is ignored, and its worker is refused when it
finishes; a selected one that runs is refused. Succeeded tasks are refused and listed.`)
}

// changeFlags are the flags of retry and ignore.
type changeFlags struct {
	statuses    statusList
	dryRun, yes bool
	concurrency int
	selection   selectionFlags
	bulk        bulkFlags
}

func changeCommand(ch change, summary, help string) *command {
	var f changeFlags
	return &command{
		name:    ch.verb,
		args:    "JOB [TASK...]",
		summary: summary,
		help: help + `

A selection is --fingerprint F (a failure group: trackerctl errors JOB lists them), --error
TEXT (the tasks whose current failure's message contains TEXT, case-sensitive, in its first
256 bytes) or --status (every task in those statuses: ` + statusNames(ch.from) + `), alone or
together. It runs on the server, not from here: as an execution of the tracker's state
machine (--state-machine-arn or TRACKER_STATE_MACHINE_ARN), whose steps page the selection and
change each task with one conditional write; against DynamoDB Local without a state machine,
this command runs the same steps itself. A selected task that runs, or that moved on since it
was listed (claimed, finished, failed again), is refused and counted, never overwritten; tasks
that come into the selection after the action started are left alone. The action's progress
is kept in the table under its id: --wait follows it to the end and prints what it changed and
refused (without --wait, the id and the execution are printed); --resume ID goes on with an
action whose execution failed or was stopped, from where it stood. --dry-run counts the
selected tasks and writes nothing (with --resume, it prints the action's progress).

Named tasks are changed from here, one conditional write each, --concurrency at a time. A
change of more than one task asks for confirmation on the terminal; --yes skips the question,
and without a terminal on standard input --yes is required.`,
		nArg: [2]int{1, -1},
		flags: func(fs *flagSet) {
			fs.Var(&f.statuses, "status", "every task in these `statuses`: "+statusNames(ch.from))
			f.selection.register(fs)
			f.bulk.register(fs)
			fs.BoolVar(&f.dryRun, "dry-run", false, "say what would change and write nothing")
			fs.BoolVar(&f.yes, "yes", false, "change several tasks without asking")
			fs.alias("yes", "y")
			fs.IntVar(&f.concurrency, "concurrency", 8, "`N` writes in flight at once, for named tasks")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job, ids := args[0], unique(args[1:])
			if err := f.check(ch, job, ids); err != nil {
				return err
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				return a.bulkChange(ctx, tr, ch, job, f)
			}
			return a.change(ctx, tr, ch, job, ids, changeOptions{dryRun: f.dryRun, yes: f.yes, concurrency: f.concurrency})
		},
	}
}

// statusNames joins the names of statuses: "failed, ignored".
func statusNames(statuses []tracker.Status) string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

// check refuses a command line that names no task and selects none, or both, and bad values.
func (f *changeFlags) check(ch change, job string, ids []string) error {
	if err := checkJob(job); err != nil {
		return err
	}
	for _, id := range ids {
		if err := tracker.ValidateID(job, id); err != nil {
			return usagef("%v", err)
		}
	}
	selected := len(f.statuses) > 0 || f.selection.on()
	switch {
	case len(ids) == 0 && !selected && f.bulk.resume == "":
		return usagef("%s needs task ids, a selection (--fingerprint, --error, --status) or --resume (see trackerctl %s --help)", ch.verb, ch.verb)
	case len(ids) > 0 && (selected || f.bulk.resume != ""):
		return usagef("give task ids or a selection (--fingerprint, --error, --status), not both")
	case f.bulk.resume != "" && selected:
		return usagef("--resume goes on with an action's own selection: give no other")
	case f.concurrency < 1 || f.concurrency > 64:
		return usagef("--concurrency %d: want 1..64", f.concurrency)
	case len(ids) > 0 || f.bulk.resume != "":
		return nil
	}
	return f.checkSelection(ch)
}

// checkSelection refuses a selection the action cannot take, before any call.
func (f *changeFlags) checkSelection(ch change) error {
	for _, s := range f.statuses {
		switch {
		case !slices.Contains(ch.from, s):
			return usagef("--status %s: %s applies to %s tasks", s, ch.verb, statusNames(ch.from))
		case f.selection.on() && s != tracker.Failed && s != tracker.Ignored:
			return usagef("--status %s: a selection by --fingerprint or --error holds failed and ignored tasks", s)
		}
	}
	if err := f.selection.selection(f.statuses).Validate(tracker.BulkAction(ch.verb)); err != nil {
		return usagef("%v", err)
	}
	return nil
}

type changeOptions struct {
	dryRun, yes bool
	concurrency int
}

// changeReport is what retry or ignore did to named tasks, or would do under --dry-run.
type changeReport struct {
	JobID  string `json:"job_id"`
	Action string `json:"action"`
	DryRun bool   `json:"dry_run"`
	// Changed lists the tasks changed (under --dry-run, those that would be); never null.
	Changed []string `json:"changed"`
	// Refused lists the tasks left as they were, and why; never null.
	Refused []refusal `json:"refused"`
}

// refusal is a task a change did not apply to.
type refusal struct {
	TaskID string `json:"task_id"`
	Reason string `json:"reason"`
}

// change applies ch to the named tasks, one conditional write each.
func (a *app) change(ctx context.Context, tr *tracker.Tracker, ch change, job string, ids []string, o changeOptions) error {
	rep := &changeReport{JobID: job, Action: ch.verb, DryRun: o.dryRun, Changed: []string{}, Refused: []refusal{}}
	if o.dryRun {
		if err := a.preview(ctx, tr, ch, job, ids, rep); err != nil {
			return err
		}
		return a.printChange(rep)
	}
	if len(ids) > 1 {
		if err := a.confirm(fmt.Sprintf("%s %s of job %s", ch.verb, plural(len(ids), "task"), job), o.yes); err != nil {
			return err
		}
	}
	errs := a.applyAll(ctx, ch.verb, len(ids), o.concurrency, func(i int) error { return ch.apply(ctx, tr, job, ids[i]) })
	firstErr := rep.add(a, ids, errs)
	if len(rep.Changed) == 0 && firstErr != nil {
		return firstErr // nothing applied: the table or the endpoint is at fault, not the tasks
	}
	if len(ids) == 1 && len(rep.Refused) == 1 && !a.opts.json {
		return failf(kindRefused, "%s %s/%s refused: %s", ch.verb, job, ids[0], rep.Refused[0].Reason)
	}
	if err := a.printChange(rep); err != nil {
		return err
	}
	if len(rep.Refused) > 0 {
		return failf(kindRefused, "%d of %s not %s", len(rep.Refused), plural(len(ids), "task"), ch.past)
	}
	return nil
}

// add sorts the outcome of each write into the report, and returns the first error that is
// not a refusal.
func (rep *changeReport) add(a *app, ids []string, errs []error) error {
	var firstErr error
	for i, err := range errs {
		var ce *tracker.ConflictError
		switch {
		case err == nil:
			rep.Changed = append(rep.Changed, ids[i])
		case errors.As(err, &ce):
			rep.Refused = append(rep.Refused, refusal{TaskID: ids[i], Reason: reason(err)})
		default:
			rep.Refused = append(rep.Refused, refusal{TaskID: ids[i], Reason: oneLine(a.explain(err))})
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// preview reads the named tasks and sorts them into would-change and would-refuse.
func (a *app) preview(ctx context.Context, tr *tracker.Tracker, ch change, job string, ids []string, rep *changeReport) error {
	tasks := make([]*tracker.Task, len(ids))
	errs := a.applyAll(ctx, "read", len(ids), 8, func(i int) error {
		t, err := tr.Get(ctx, job, ids[i])
		tasks[i] = t
		return err
	})
	for i, err := range errs {
		switch {
		case errors.Is(err, tracker.ErrTaskNotFound):
			rep.Refused = append(rep.Refused, refusal{TaskID: ids[i], Reason: tracker.ErrTaskNotFound.Error()})
		case err != nil:
			return err
		case ch.refuses(tasks[i]) != "":
			rep.Refused = append(rep.Refused, refusal{TaskID: ids[i], Reason: ch.refuses(tasks[i])})
		default:
			rep.Changed = append(rep.Changed, ids[i])
		}
	}
	return nil
}

// applyAll calls fn(i) for i in 0..count-1 with up to n calls at once, drawing a progress
// bar on a terminal, and returns the errors by i. Once ctx ends, the calls left get its error.
func (a *app) applyAll(ctx context.Context, label string, count, n int, fn func(i int) error) []error {
	errs := make([]error, count)
	bar := a.progress(label, count)
	if count < 2 {
		bar.on = false
	}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range min(n, count) {
		wg.Go(func() {
			for i := range next {
				err := ctx.Err()
				if err == nil {
					err = fn(i)
				}
				errs[i] = err
				mu.Lock()
				done++
				bar.set(done)
				mu.Unlock()
			}
		})
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	bar.done()
	return errs
}

func (a *app) printChange(rep *changeReport) error {
	if a.opts.json {
		return printJSON(a.stdout, rep)
	}
	w := a.stdout
	verb, past := rep.Action, retryChange.past
	if verb == ignoreChange.verb {
		past = ignoreChange.past
	}
	if rep.DryRun {
		fmt.Fprintf(w, "dry run, nothing written: would %s %s of job %s", verb, plural(len(rep.Changed), "task"), escape(rep.JobID))
	} else {
		fmt.Fprintf(w, "%s %s of job %s", past, plural(len(rep.Changed), "task"), escape(rep.JobID))
	}
	if len(rep.Changed) > 0 {
		fmt.Fprintf(w, ": %s", idList(rep.Changed, 20))
	}
	fmt.Fprintln(w)
	for _, r := range rep.Refused {
		if rep.DryRun {
			fmt.Fprintf(w, "would not %s %s: %s\n", verb, escape(r.TaskID), escape(r.Reason))
		} else {
			fmt.Fprintf(w, "not %s %s: %s\n", past, escape(r.TaskID), escape(r.Reason))
		}
	}
	return nil
}

// errAborted is a change the operator declined.
var errAborted error = &opError{kind: kindAborted, msg: "aborted: nothing was changed"}

// confirm asks the operator to confirm what on the terminal, unless yes.
func (a *app) confirm(what string, yes bool) error {
	if yes {
		return nil
	}
	if !a.stdinTTY {
		return usagef("refusing to %s without confirmation: standard input is not a terminal; pass --yes", what)
	}
	fmt.Fprintf(a.stderr, "%s? [y/N] ", escape(capitalize(what)))
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errAborted
}

// unique drops repeated ids, keeping the first of each.
func unique(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
