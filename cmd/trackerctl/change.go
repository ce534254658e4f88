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
	return changeCommand(retryChange, "put failed or ignored tasks back to todo", `Put tasks of JOB back to todo, so that the next run claims them: the tasks named, or with
--status every task in those statuses (failed, ignored). Their retry counter restarts at 0
and their last error stays for reference. A task in another status is refused and listed.`)
}

func ignoreCommand() *command {
	return changeCommand(ignoreChange, "set tasks to ignored so that no run claims them", `Set tasks of JOB to ignored, so that no run claims them until they are retried: the tasks
named, or with --status every task in those statuses (todo, in_progress, failed). A worker
still holding a lease on an ignored task is refused when it finishes. Succeeded tasks are
refused and listed.`)
}

func changeCommand(ch change, summary, help string) *command {
	var (
		statuses    statusList
		dryRun, yes bool
		concurrency int
		errText     string
	)
	names := make([]string, len(ch.from))
	for i, s := range ch.from {
		names[i] = s.String()
	}
	return &command{
		name:    ch.verb,
		args:    "JOB [TASK...]",
		summary: summary,
		help: help + `

--error TEXT selects the tasks whose last error contains TEXT (case-sensitive), among those
in the --status statuses (by default ` + strings.Join(names, ", ") + `). Errors are not in the
index: each candidate task that has been claimed costs one read (8 at a time).

Each task is changed by one conditional write. A change of more than one task asks for
confirmation on the terminal; --yes skips the question, and without a terminal on standard
input --yes is required. --dry-run shows what would change and writes nothing.`,
		nArg: [2]int{1, -1},
		flags: func(fs *flagSet) {
			fs.Var(&statuses, "status", "every task in these `statuses`: "+strings.Join(names, ", "))
			fs.StringVar(&errText, "error", "", "every task whose last error contains `TEXT` (in the --status statuses, by default all of them)")
			fs.BoolVar(&dryRun, "dry-run", false, "show what would change and write nothing")
			fs.BoolVar(&yes, "yes", false, "change several tasks without asking")
			fs.alias("yes", "y")
			fs.IntVar(&concurrency, "concurrency", 8, "`N` writes in flight at once")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job, ids := args[0], unique(args[1:])
			if err := checkJob(job); err != nil {
				return err
			}
			for _, id := range ids {
				if err := tracker.ValidateID(job, id); err != nil {
					return usagef("%v", err)
				}
			}
			switch {
			case len(ids) == 0 && len(statuses) == 0 && errText == "":
				return usagef("%s needs task ids, --status or --error (see trackerctl %s --help)", ch.verb, ch.verb)
			case len(ids) > 0 && (len(statuses) > 0 || errText != ""):
				return usagef("give task ids or --status/--error, not both")
			}
			for _, s := range statuses {
				if !slices.Contains(ch.from, s) {
					return usagef("--status %s: %s applies to %s tasks", s, ch.verb, strings.Join(names, ", "))
				}
			}
			if concurrency < 1 || concurrency > 64 {
				return usagef("--concurrency %d: want 1..64", concurrency)
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			return a.change(ctx, tr, ch, job, ids, statuses, changeOptions{dryRun: dryRun, yes: yes, concurrency: concurrency, errors: errorMatch{errText}})
		},
	}
}

type changeOptions struct {
	dryRun, yes bool
	concurrency int
	// errors selects, with the statuses, the tasks whose last error matches.
	errors errorMatch
}

// changeReport is what retry or ignore did, or would do under --dry-run.
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

func (a *app) change(ctx context.Context, tr *tracker.Tracker, ch change, job string, ids []string, statuses statusList, o changeOptions) error {
	rep := &changeReport{JobID: job, Action: ch.verb, DryRun: o.dryRun, Changed: []string{}, Refused: []refusal{}}
	selected := len(statuses) > 0 || o.errors.on()
	var which string // the selection, for messages: "failed,ignored tasks whose last error ..."
	if selected {
		if len(statuses) == 0 {
			statuses = ch.from
		}
		which = statuses.String() + " task"
		if o.errors.on() {
			which += fmt.Sprintf(" whose last error contains %q", o.errors.text)
		}
		var err error
		if ids, err = a.idsIn(ctx, tr, job, statuses, o.errors); err != nil {
			return err
		}
		if len(ids) == 0 {
			if _, _, err := a.countJob(ctx, tr, job); err != nil {
				return err
			}
			return a.printChange(rep, fmt.Sprintf("job %s has no %s: nothing to %s", job, strings.Replace(which, " task", " tasks", 1), ch.verb))
		}
	}
	if o.dryRun {
		if selected {
			rep.Changed = ids
		} else if err := a.preview(ctx, tr, ch, job, ids, rep); err != nil {
			return err
		}
		return a.printChange(rep, "")
	}
	if len(ids) > 1 {
		what := fmt.Sprintf("%s %s of job %s", ch.verb, plural(len(ids), "task"), job)
		if selected {
			what = fmt.Sprintf("%s %s (every %s) of job %s", ch.verb, plural(len(ids), "task"), which, job)
		}
		if err := a.confirm(what, o.yes); err != nil {
			return err
		}
	}
	errs := a.applyAll(ctx, ch.verb, len(ids), o.concurrency, func(i int) error { return ch.apply(ctx, tr, job, ids[i]) })
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
	if len(rep.Changed) == 0 && firstErr != nil {
		return firstErr // nothing applied: the table or the endpoint is at fault, not the tasks
	}
	if len(ids) == 1 && len(rep.Refused) == 1 && !a.opts.json {
		return failf(kindRefused, "%s %s/%s refused: %s", ch.verb, job, ids[0], rep.Refused[0].Reason)
	}
	if err := a.printChange(rep, ""); err != nil {
		return err
	}
	if len(rep.Refused) > 0 {
		return failf(kindRefused, "%d of %s not %s", len(rep.Refused), plural(len(ids), "task"), ch.past)
	}
	return nil
}

// idsIn lists the ids of every task of job in statuses whose last error matches; with a
// filter on, each task that may hold an error is read (lastErrors).
func (a *app) idsIn(ctx context.Context, tr *tracker.Tracker, job string, statuses statusList, filter errorMatch) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		page, err := tr.List(ctx, job, tracker.ListOptions{Statuses: statuses, Limit: tracker.MaxPageLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		msgs := make([]string, len(page.Tasks))
		if filter.on() {
			if msgs, err = a.lastErrors(ctx, tr, job, page.Tasks); err != nil {
				return nil, err
			}
		}
		for i, t := range page.Tasks {
			if filter.match(msgs[i]) {
				ids = append(ids, t.TaskID)
			}
		}
		if cursor = page.Cursor; cursor == "" {
			return ids, nil
		}
	}
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

func (a *app) printChange(rep *changeReport, note string) error {
	if a.opts.json {
		return printJSON(a.stdout, rep)
	}
	w := a.stdout
	if note != "" {
		fmt.Fprintln(w, escape(note))
		return nil
	}
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
