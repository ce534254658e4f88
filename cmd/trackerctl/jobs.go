package main

import (
	"context"
	"fmt"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func jobsCommand() *command {
	return &command{
		name:    "jobs",
		summary: "list the jobs in the table's registry",
		help: `List the jobs of the table, from the job registry the tracker keeps beside the tasks (one
item per job, written when tasks are created, read through the index: no Scan): each job with
when it was created, when tasks were last added, when a run last started on it, and the run
that holds it now, if any (one run works a job at a time). Jobs whose tasks were written by
other code (the seed's, say) are not registered until tasks are created through trackerctl or
the tracker package, or a run starts on them. Registry items that cannot be read are reported
on standard error and left out.`,
		nArg: [2]int{0, 0},
		run: func(ctx context.Context, a *app, _ []string) error {
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			reg, err := tr.Jobs(ctx)
			if err != nil {
				return err
			}
			for _, bad := range reg.Bad {
				fmt.Fprintf(a.stderr, "trackerctl: registry item %s skipped: %s\n", escape(bad.Key), escape(bad.Reason))
			}
			jobs := reg.Jobs
			if a.opts.json {
				if jobs == nil {
					jobs = []tracker.Job{}
				}
				return printJSON(a.stdout, struct {
					Jobs []tracker.Job `json:"jobs"`
				}{jobs})
			}
			if len(jobs) == 0 {
				fmt.Fprintln(a.stdout, "no jobs registered")
				return nil
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "JOB\tCREATED\tUPDATED\tLAST RUN\tRUN")
			stamp := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.UTC().Format(time.RFC3339)
			}
			now := a.now()
			for _, j := range jobs {
				run := "-"
				if j.Run.Live(now) {
					run = fmt.Sprintf("%s until %s", escape(j.Run.Owner), stamp(j.Run.Expires))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", escape(j.JobID), stamp(j.Created), stamp(j.Updated), stamp(j.LastRun), run)
			}
			return tw.Flush()
		},
	}
}
