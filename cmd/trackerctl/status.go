package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// scanLimit bounds the tasks status reads to find the oldest pending task and the leases:
// one page of the index each.
const scanLimit = tracker.MaxPageLimit

func statusCommand() *command {
	var (
		watch      bool
		interval   = 5 * time.Second
		window     = time.Minute
		watchCount int
		leases     int
	)
	return &command{
		name:    "status",
		args:    "JOB",
		summary: "counts per status, oldest pending task and live leases of a job",
		help: `Show how many tasks of JOB are in each status, with bars as shares of the job, the oldest
pending task (todo, failed, or in progress with an expired lease; the one waiting longest since
its last change, among the first 1000 pending tasks), and the tasks that workers hold a live
lease on, with their owner and expiry (among the first 1000 in progress).

The counts are one view of the job: every task counted once, in the latest status it was seen
in (tracker.Snapshot), so that during a run their total never exceeds the job's tasks (a task
that moved back while the counts were read, a failed task claimed again, may be missing; the
report says how many were seen moving). They read the index entries Select COUNT would, the
same read units, and write nothing.

--watch refreshes the report every --interval until interrupted (Ctrl-C ends it with exit
code 0); --watch-count stops after that many reports. From the second report on, it shows the
throughput (tasks that became succeeded or ignored, per second), averaged over the refreshes
of the last --window, and the time the pending tasks would take at that rate ("unknown" when
nothing finished). With --output json the report is a JSON object (without the throughput);
under --watch each report is one compact JSON line.`,
		nArg: [2]int{1, 1},
		flags: func(fs *flagSet) {
			fs.BoolVar(&watch, "watch", false, "refresh the report until interrupted")
			fs.Var(seconds{&interval}, "interval", "`seconds` (or a duration like 1m) between refreshes under --watch")
			fs.IntVar(&watchCount, "watch-count", 0, "stop after `N` reports (implies --watch)")
			fs.Var(seconds{&window}, "window", "average the throughput over this many `seconds` (or a duration like 5m) under --watch")
			fs.IntVar(&leases, "leases", 10, "show at most `N` live leases")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job := args[0]
			if err := checkJob(job); err != nil {
				return err
			}
			if watchCount < 0 {
				return usagef("--watch-count %d: want 0 or more", watchCount)
			}
			if leases < 0 {
				return usagef("--leases %d: want 0 or more", leases)
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			watch = watch || watchCount > 0
			var samples []sample
			for n := 1; ; n++ {
				rep, err := a.status(ctx, tr, job)
				if err != nil {
					if n > 1 && errors.Is(err, context.Canceled) {
						return nil
					}
					return err
				}
				if n == 1 && rep.Total == 0 {
					return a.errNoTasks(job)
				}
				samples = keep(append(samples, sample{Time: rep.Time, Counts: rep.counts}), window)
				if err := a.printStatus(rep, leases, watch, interval, throughput(samples)); err != nil {
					return err
				}
				if !watch || (watchCount > 0 && n >= watchCount) {
					return nil
				}
				if err := a.wait(ctx, interval); err != nil {
					return nil // interrupted: a normal end of --watch
				}
			}
		},
	}
}

// statusReport is one status report; it is also the JSON output.
type statusReport struct {
	JobID string    `json:"job_id"`
	Table string    `json:"table"`
	Time  time.Time `json:"time"`
	// Counts has every status name, zero included.
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
	// Moved counts the tasks seen moving from one status to another while the counts were
	// read: each is counted once, in the later status.
	Moved int `json:"moved"`
	// OldestPending is the pending task unchanged the longest; null when none is pending.
	OldestPending *pendingView `json:"oldest_pending"`
	// PendingScanned is how many pending tasks were compared to find it.
	PendingScanned int `json:"pending_scanned"`
	// Leases are the live leases, soonest to expire first.
	Leases []leaseRow `json:"leases"`
	// ExpiredLeases counts in-progress tasks whose lease ran out: a run claims them again.
	ExpiredLeases int `json:"expired_leases"`
	// PendingPartial is true when there were more pending tasks than one scan reads, so
	// OldestPending is the oldest of the first ones only.
	PendingPartial bool `json:"pending_partial"`
	// LeasesPartial is true when there were more in-progress tasks than one scan reads, so
	// Leases and ExpiredLeases cover the first ones only.
	LeasesPartial bool `json:"leases_partial"`

	counts map[tracker.Status]int
}

// pendingView is the oldest pending task.
type pendingView struct {
	TaskID string `json:"task_id"`
	Status string `json:"status"`
	// Since is the task's last status change.
	Since      time.Time  `json:"since"`
	CreateTime *time.Time `json:"create_time"`
}

// leaseRow is a live lease.
type leaseRow struct {
	TaskID   string    `json:"task_id"`
	Owner    string    `json:"owner"`
	Taken    time.Time `json:"taken"`
	Expires  time.Time `json:"expires"`
	Attempts int       `json:"attempts"`
}

func (a *app) status(ctx context.Context, tr *tracker.Tracker, job string) (*statusReport, error) {
	snap, err := tr.Snapshot(ctx, job)
	if err != nil {
		return nil, err
	}
	counts := snap.Counts
	rep := &statusReport{JobID: job, Table: a.opts.table, Time: a.now().UTC().Truncate(time.Microsecond), Counts: map[string]int{}, Leases: []leaseRow{},
		counts: counts, Total: snap.Total, Moved: snap.Moved}
	for _, s := range tracker.Statuses() {
		rep.Counts[s.String()] = counts[s]
	}
	if rep.Total == 0 {
		return rep, nil
	}
	if counts[tracker.Todo]+counts[tracker.Failed]+counts[tracker.InProgress] > 0 {
		page, err := tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: scanLimit})
		if err != nil {
			return nil, err
		}
		rep.PendingScanned = len(page.Tasks)
		rep.PendingPartial = page.Cursor != ""
		for i := range page.Tasks {
			t := &page.Tasks[i]
			if rep.OldestPending == nil || t.UpdateTime.Before(rep.OldestPending.Since) {
				rep.OldestPending = &pendingView{TaskID: t.TaskID, Status: t.Status.String(), Since: t.UpdateTime}
				if !t.CreateTime.IsZero() {
					ct := t.CreateTime
					rep.OldestPending.CreateTime = &ct
				}
			}
		}
	}
	if counts[tracker.InProgress] > 0 {
		page, err := tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.InProgress}, Limit: scanLimit})
		if err != nil {
			return nil, err
		}
		rep.LeasesPartial = page.Cursor != ""
		lease := tr.Config().LeaseDuration
		for _, t := range page.Tasks {
			if !t.Locked(rep.Time, lease) {
				rep.ExpiredLeases++
				continue
			}
			rep.Leases = append(rep.Leases, leaseRow{TaskID: t.TaskID, Owner: t.LockOwner, Taken: t.LockTime, Expires: t.LeaseExpires(lease), Attempts: t.Attempts})
		}
		sort.SliceStable(rep.Leases, func(i, j int) bool { return rep.Leases[i].Expires.Before(rep.Leases[j].Expires) })
	}
	return rep, nil
}

func (a *app) printStatus(rep *statusReport, maxLeases int, watch bool, interval time.Duration, r rate) error {
	if a.opts.json && watch {
		return json.NewEncoder(a.stdout).Encode(rep)
	}
	if a.opts.json {
		return printJSON(a.stdout, rep)
	}
	w := a.stdout
	if watch && a.stdoutTTY {
		fmt.Fprint(w, "\x1b[H\x1b[2J")
	}
	moved := ""
	if rep.Moved > 0 {
		moved = fmt.Sprintf(" (%s seen moving while counted, each counted once)", plural(rep.Moved, "task"))
	}
	fmt.Fprintf(w, "job %s in table %s: %s at %s%s\n\n", escape(rep.JobID), escape(rep.Table), plural(rep.Total, "task"), stamp(rep.Time), moved)
	a.printCounts(w, rep.counts)
	fmt.Fprintln(w)
	if p := rep.OldestPending; p != nil {
		fmt.Fprintf(w, "oldest pending  %s, %s since %s (%s)", escape(p.TaskID), p.Status, stamp(p.Since), age(rep.Time, p.Since))
		if rep.PendingPartial {
			fmt.Fprintf(w, ", among the first %d pending", scanLimit)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "oldest pending  none: no task is waiting to run")
	}
	expired := ""
	if rep.ExpiredLeases > 0 {
		expired = fmt.Sprintf(", %d expired (a run claims them again)", rep.ExpiredLeases)
	}
	fmt.Fprintf(w, "leases          %d live%s", len(rep.Leases), expired)
	if rep.LeasesPartial {
		fmt.Fprintf(w, ", among the first %d in progress", scanLimit)
	}
	fmt.Fprintln(w)
	if len(rep.Leases) > 0 && maxLeases > 0 {
		fmt.Fprintln(w)
		tw := newTable(w)
		fmt.Fprintln(tw, "  TASK\tOWNER\tTAKEN\tEXPIRES\tATTEMPTS")
		for i, l := range rep.Leases {
			if i == maxLeases {
				fmt.Fprintf(tw, "  … %d more\t\t\t\t\n", len(rep.Leases)-maxLeases)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s (%s)\t%d\n", escape(l.TaskID), orDash(l.Owner), stamp(l.Taken), stamp(l.Expires), age(rep.Time, l.Expires), l.Attempts)
		}
		tw.Flush()
	}
	if watch {
		fmt.Fprintf(w, "\nthroughput      %s\n", r)
		fmt.Fprintf(w, "\nrefreshing every %s; Ctrl-C to stop\n", interval)
		if !a.stdoutTTY {
			fmt.Fprintln(w)
		}
	}
	return nil
}

// printCounts draws the counts per status as a bar chart, one line a status: each bar is the
// status's share of the job (a full bar would be every task), with its percentage.
func (a *app) printCounts(w io.Writer, counts map[tracker.Status]int) {
	largest, total := 0, 0
	for _, s := range tracker.Statuses() {
		largest = max(largest, counts[s])
		total += counts[s]
	}
	countWidth := len(strconv.Itoa(largest))
	// "  in_progress  " + count + "  " + bar + "  " + "100.0%"
	barWidth := min(40, a.width()-2-11-2-countWidth-2-2-6)
	for _, s := range tracker.Statuses() {
		n := counts[s]
		pct := 0.0
		if total > 0 {
			pct = float64(n) * 100 / float64(total)
		}
		fmt.Fprintf(w, "  %s  %*d  %s  %5.1f%%\n", padRight(s.String(), 11), countWidth, n,
			a.paint(padRight(bar(n, total, barWidth), barWidth), s), pct)
	}
}
