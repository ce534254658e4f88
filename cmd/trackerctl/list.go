package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func listCommand() *command {
	var (
		statuses statusList
		pending  bool
		limit    int
		cursor   string
		all      bool
		sel      selectionFlags
	)
	return &command{
		name:    "list",
		args:    "JOB",
		summary: "list the tasks of a job by status or by failure, a page at a time",
		help: `List the tasks of JOB: those in the statuses given with --status (all statuses by default), or
with --pending those a run would pick up (todo, failed, and in progress with an expired
lease), ordered by task id; or those whose current failure has a fingerprint (--fingerprint,
a group of trackerctl errors JOB) or whose current failure's message contains a text (--error,
case-sensitive, in its first 256 bytes), failed and ignored tasks, ordered by status and then
by when they failed. A listing by failure is matched on the server, on the failure index: a
page holds --limit matches unless it is the last.

A page holds at most --limit tasks. When more remain, the cursor of the next page is printed on
standard error (and is the "cursor" field of the JSON output); pass it back with --cursor.
--all follows the cursors to the end; a listing by failure then reads up to 8 partitions of
the failure index at once, each whole, and prints the same tasks in the same order. Under
--output json the document is written as the tasks arrive; should a read fail after tasks
were written, the document is closed with the cursor after the last task written (resume
with --cursor) and the command exits 1.

The ERROR column shows the start of each failed or ignored task's current error (the message
under --output json, as "last_error"); a task that succeeded, or runs again, shows none (its
failures are in its history: trackerctl show). A listing by failure reads it from the failure
index; a listing by status reads each failed or ignored task that was ever claimed (8 at a
time).`,
		nArg: [2]int{1, 1},
		flags: func(fs *flagSet) {
			fs.Var(&statuses, "status", "only tasks in these `statuses` (comma-separated or repeated): todo, in_progress, failed, succeeded, ignored")
			fs.BoolVar(&pending, "pending", false, "only the tasks a run would pick up")
			fs.IntVar(&limit, "limit", tracker.DefaultPageLimit, fmt.Sprintf("`N` tasks per page, 1..%d", tracker.MaxPageLimit))
			fs.StringVar(&cursor, "cursor", "", "resume after the page that printed this `cursor`")
			fs.BoolVar(&all, "all", false, "list every page")
			sel.register(fs)
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job := args[0]
			if err := checkJob(job); err != nil {
				return err
			}
			if limit < 1 || limit > tracker.MaxPageLimit {
				return usagef("--limit %d: want 1..%d", limit, tracker.MaxPageLimit)
			}
			if pending && len(statuses) > 0 {
				return usagef("--pending and --status exclude each other")
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			opts := tracker.ListOptions{Pending: pending, Statuses: statuses, Limit: limit, Cursor: cursor, Fingerprint: sel.fingerprint, ErrorContains: sel.errText}
			if a.opts.json {
				return a.streamList(ctx, tr, job, opts, all)
			}
			tasks, next, err := a.listPages(ctx, tr, job, opts, all)
			if err != nil {
				return err
			}
			msgs, err := a.currentErrors(ctx, tr, job, tasks)
			if err != nil {
				return err
			}
			if len(tasks) == 0 && next == "" {
				if _, _, err := a.countJob(ctx, tr, job); err != nil {
					return err
				}
			}
			return a.printList(tr, job, tasks, msgs, next, listSelection{statuses: statuses, pending: pending, sel: sel})
		},
	}
}

// listPages reads a page of job's tasks, or with all every task from opts.Cursor on, and
// returns them with the cursor after them.
func (a *app) listPages(ctx context.Context, tr *tracker.Tracker, job string, opts tracker.ListOptions, all bool) ([]tracker.Task, string, error) {
	var tasks []tracker.Task
	next := opts.Cursor
	err := readList(ctx, tr, job, opts, all, func(page []tracker.Task, cursor string) error {
		tasks, next = append(tasks, page...), cursor
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return tasks, next, nil
}

// listPage is the JSON output of list, which listWriter writes a task at a time.
type listPage struct {
	JobID string     `json:"job_id"`
	Tasks []listTask `json:"tasks"`
	// Cursor resumes after this page; empty at the end.
	Cursor string `json:"cursor"`
}

// listTask is a task in the JSON output of list.
type listTask struct {
	taskView
	// LastError is the message of the task's current error: a failed or ignored task's last
	// failure (its first 256 bytes in a listing by failure); null when it has none.
	LastError *string `json:"last_error"`
	// Failure is the task's current failure as the failure index holds it; absent when the
	// listing did not read the index or the failure has no fingerprint.
	Failure *tracker.TaskFailure `json:"failure,omitempty"`
}

// listSelection is what list was asked for, to say what it found none of.
type listSelection struct {
	statuses statusList
	pending  bool
	sel      selectionFlags
}

func (s listSelection) String() string {
	what := "tasks"
	switch {
	case s.pending:
		what = "pending tasks"
	case len(s.statuses) > 0:
		what = s.statuses.String() + " tasks"
	case s.sel.on():
		what = "failed or ignored tasks"
	}
	if s.sel.fingerprint != "" {
		what += " with fingerprint " + s.sel.fingerprint
	}
	if s.sel.errText != "" {
		what += fmt.Sprintf(" whose error contains %q", s.sel.errText)
	}
	return what
}

// printList draws the text output of list: a table of the tasks, or a line saying there
// are none.
func (a *app) printList(tr *tracker.Tracker, job string, tasks []tracker.Task, msgs []string, cursor string, sel listSelection) error {
	lease := tr.Config().LeaseDuration
	if len(tasks) == 0 {
		if cursor != "" {
			fmt.Fprintf(a.stdout, "no %s in this page of job %s\n", escape(sel.String()), escape(job))
		} else {
			fmt.Fprintf(a.stdout, "job %s has no %s\n", escape(job), escape(sel.String()))
		}
	} else {
		now := a.now()
		tw := newTable(a.stdout)
		// The header is bold when the status cells are colored, so that every cell of the
		// column carries escape codes of the same length and tabwriter keeps it aligned.
		fmt.Fprintf(tw, "TASK\t%s\tRETRY\tATTEMPTS\tUPDATED\tLEASE\tERROR\n", a.bold("STATUS"))
		for i, t := range tasks {
			l := "-"
			switch {
			case t.Locked(now, lease):
				l = fmt.Sprintf("%s until %s", orDash(t.LockOwner), stamp(t.LeaseExpires(lease)))
			case t.Lock != "":
				l = fmt.Sprintf("expired (%s)", orDash(t.LockOwner))
			}
			msg := "-"
			if msgs[i] != "" {
				msg = escape(clip(oneLine(msgs[i]), errorWidth))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", escape(t.TaskID), a.paint(t.Status.String(), t.Status), t.Retry, t.Attempts, stamp(t.UpdateTime), l, msg)
		}
		tw.Flush()
	}
	if cursor != "" {
		fmt.Fprintf(a.stderr, "more tasks: next page with --cursor %s\n", cursor)
	}
	return nil
}

// orDash returns s escaped for the terminal, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return escape(s)
}

func showCommand() *command {
	var fp string
	return &command{
		name:    "show",
		args:    "JOB [TASK]",
		summary: "show one task in full: data, error, traceback, lease, attempts, times",
		help: `Show task TASK of JOB in full: its status, retry counter and attempts, its times, the lease
a worker holds on it (owner and expiry), its current error and traceback (a failed or ignored
task's last failure, with its fingerprint), the history of its failed attempts (the last 10:
attempt, time, holder, fingerprint, error and the traceback's last line), and its data
pretty-printed. A task that succeeded or runs again has no current error: its failures are its
history. JSON carries the history whole, as "history".

With --fingerprint F instead of TASK, show the group's sample: the task of its latest
failure, after a line on the group (its tasks, failed and ignored, first and last seen).`,
		nArg: [2]int{1, 2},
		flags: func(fs *flagSet) {
			fs.StringVar(&fp, "fingerprint", "", "show the sample task of the failure group of fingerprint `F`")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job := args[0]
			if err := checkJob(job); err != nil {
				return err
			}
			switch {
			case len(args) == 2 && fp != "":
				return usagef("give a task or --fingerprint, not both")
			case len(args) == 1 && fp == "":
				return usagef("show takes JOB TASK, or JOB --fingerprint F")
			case fp != "":
				if err := tracker.ValidateFingerprint(fp); err != nil {
					return usagef("--fingerprint: %v", err)
				}
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			if fp != "" {
				return a.showGroup(ctx, tr, job, fp)
			}
			id := args[1]
			if err := tracker.ValidateID(job, id); err != nil {
				return usagef("%v", err)
			}
			t, err := tr.Get(ctx, job, id)
			if errors.Is(err, tracker.ErrTaskNotFound) {
				if _, _, cerr := a.countJob(ctx, tr, job); cerr != nil {
					return cerr
				}
				return failf(kindNotFound, "job %q has no task %q in table %q", job, id, a.opts.table)
			}
			if err != nil {
				return err
			}
			return a.printTask(tr, t, nil)
		},
	}
}

// showGroup shows the sample task of job's failure group fp, after a line on the group.
func (a *app) showGroup(ctx context.Context, tr *tracker.Tracker, job, fp string) error {
	groups, err := tr.Groups(ctx, job, tracker.GroupOptions{Fingerprint: fp, Samples: 1})
	if err != nil {
		return err
	}
	if len(groups) == 0 || groups[0].Sample == nil {
		if _, _, err := a.countJob(ctx, tr, job); err != nil {
			return err
		}
		return failf(kindNotFound, "job %q has no failing task with fingerprint %s in table %q (trackerctl errors %s lists its groups)", job, fp, a.opts.table, job)
	}
	g := groups[0]
	if !a.opts.json {
		fmt.Fprintf(a.stdout, "group %s: %s (failed %d, ignored %d), first seen %s, last seen %s; its latest failure:\n\n",
			g.Fingerprint, plural(g.Tasks, "task"), g.Failed, g.Ignored, stamp(g.FirstSeen), stamp(g.LastSeen))
	}
	return a.printTask(tr, g.Sample, &g)
}

// printTask shows a task in full; group, when set, is the failure group it is the sample of.
func (a *app) printTask(tr *tracker.Tracker, t *tracker.Task, group *tracker.Group) error {
	cfg := tr.Config()
	if a.opts.json {
		history := make([]tracker.Attempt, len(t.History))
		for i, h := range t.History {
			h.Time = h.Time.UTC()
			history[i] = h
		}
		if group != nil {
			g := *group
			g.Sample = nil
			group = &g
		}
		return printJSON(a.stdout, detailView{taskView: a.view(t, cfg.LeaseDuration), Data: t.Data, Error: t.CurrentError(), Failure: t.Failure,
			History: history, Group: group})
	}
	now := a.now()
	w := a.stdout
	tw := newTable(w)
	fmt.Fprintf(tw, "task\t%s\n", escape(t.TaskID))
	fmt.Fprintf(tw, "job\t%s\n", escape(t.JobID))
	fmt.Fprintf(tw, "status\t%s (code %d)\n", a.paint(t.Status.String(), t.Status), t.Code)
	fmt.Fprintf(tw, "retry\t%d (ignored after %d failed attempts)\n", t.Retry, cfg.MaxRetry)
	fmt.Fprintf(tw, "attempts\t%d\n", t.Attempts)
	if !t.CreateTime.IsZero() {
		fmt.Fprintf(tw, "created\t%s (%s)\n", stamp(t.CreateTime), age(now, t.CreateTime))
	} else {
		fmt.Fprintf(tw, "created\t-\n")
	}
	fmt.Fprintf(tw, "updated\t%s (%s)\n", stamp(t.UpdateTime), age(now, t.UpdateTime))
	switch {
	case t.Locked(now, cfg.LeaseDuration):
		exp := t.LeaseExpires(cfg.LeaseDuration)
		fmt.Fprintf(tw, "lease\theld by %s since %s, expires %s (%s)\n", orDash(t.LockOwner), stamp(t.LockTime), stamp(exp), age(now, exp))
	case t.Lock != "":
		exp := t.LeaseExpires(cfg.LeaseDuration)
		fmt.Fprintf(tw, "lease\texpired %s (%s), held by %s since %s; a run claims the task again\n", stamp(exp), age(now, exp), orDash(t.LockOwner), stamp(t.LockTime))
	case t.LockOwner != "":
		fmt.Fprintf(tw, "lease\tnone (last held by %s, taken %s)\n", escape(t.LockOwner), stamp(t.LockTime))
	default:
		fmt.Fprintf(tw, "lease\tnone\n")
	}
	switch current := t.CurrentError(); {
	case current != nil:
		fmt.Fprintf(tw, "error\t%s\n", escape(oneLine(current.Error)))
		if t.Failure != nil {
			fmt.Fprintf(tw, "fingerprint\t%s (failed %s)\n", escape(t.Failure.Fingerprint), stamp(t.Failure.Time))
		}
	case t.Error != nil:
		fmt.Fprintf(tw, "error\tnone now (its failures are in its history)\n")
	default:
		fmt.Fprintf(tw, "error\t-\n")
	}
	if len(t.Data) == 0 {
		fmt.Fprintf(tw, "data\tnone\n")
	}
	tw.Flush()
	if current := t.CurrentError(); current != nil && strings.TrimSpace(current.Traceback) != "" {
		fmt.Fprintln(w, "traceback:")
		fmt.Fprintln(w, indent(escapeLines(strings.TrimRight(current.Traceback, "\n")), "    "))
	}
	if len(t.History) > 0 {
		a.printHistory(w, t.History)
	}
	if len(t.Data) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, t.Data, "", "  "); err != nil {
		buf.Reset()
		buf.Write(t.Data)
	}
	fmt.Fprintln(w, "data:")
	fmt.Fprintln(w, indent(escapeLines(buf.String()), "    "))
	return nil
}

// printHistory draws the failed attempts, oldest first, one line each: the error on one
// line and the last line of the traceback (where a stack trace names the exception), both
// cut to errorWidth.
func (a *app) printHistory(w io.Writer, history []tracker.Attempt) {
	fmt.Fprintln(w, "history:")
	tw := newTable(w)
	fmt.Fprintln(tw, "    ATTEMPT\tTIME\tHOLDER\tFINGERPRINT\tERROR\tTRACEBACK")
	for _, h := range history {
		tb := "-"
		if lines := strings.Split(strings.TrimSpace(h.Traceback), "\n"); lines[len(lines)-1] != "" {
			tb = escape(clip(oneLine(lines[len(lines)-1]), errorWidth))
		}
		msg := "-"
		if h.Error != "" {
			msg = escape(clip(oneLine(h.Error), errorWidth))
		}
		fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\t%s\t%s\n", h.Attempt, stamp(h.Time), orDash(h.Holder), orDash(h.Fingerprint), msg, tb)
	}
	tw.Flush()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
