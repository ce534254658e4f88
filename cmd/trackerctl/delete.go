package main

import (
	"context"
	"fmt"
)

func deleteJobCommand() *command {
	var dryRun, yes bool
	return &command{
		name:    "delete-job",
		args:    "JOB",
		summary: "delete every task of a job",
		help: `Delete every task of JOB, whatever its status. It asks for confirmation on the terminal;
--yes skips the question, and without a terminal on standard input --yes is required.
--dry-run shows how many tasks would go. A worker still holding a lease on a deleted task is
refused when it finishes.`,
		nArg: [2]int{1, 1},
		flags: func(fs *flagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "count the tasks that would be deleted and delete nothing")
			fs.BoolVar(&yes, "yes", false, "delete without asking")
			fs.alias("yes", "y")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			job := args[0]
			if err := checkJob(job); err != nil {
				return err
			}
			tr, err := a.tracker(ctx)
			if err != nil {
				return err
			}
			_, total, err := a.countJob(ctx, tr, job)
			if err != nil {
				return err
			}
			out := struct {
				JobID   string `json:"job_id"`
				DryRun  bool   `json:"dry_run"`
				Tasks   int    `json:"tasks"`
				Deleted int    `json:"deleted"`
			}{JobID: job, DryRun: dryRun, Tasks: total}
			if !dryRun {
				if err := a.confirm(fmt.Sprintf("delete all %s of job %s from table %s (this cannot be undone)", plural(total, "task"), job, a.opts.table), yes); err != nil {
					return err
				}
				n, err := tr.DeleteJob(ctx, job)
				out.Deleted = n
				if err != nil {
					return fmt.Errorf("deleted %d of %s, then: %s", n, plural(total, "task"), oneLine(a.explain(err)))
				}
			}
			if a.opts.json {
				return printJSON(a.stdout, out)
			}
			if dryRun {
				fmt.Fprintf(a.stdout, "dry run, nothing deleted: job %s has %s\n", escape(job), plural(total, "task"))
			} else {
				fmt.Fprintf(a.stdout, "deleted %s of job %s\n", plural(out.Deleted, "task"), escape(job))
			}
			return nil
		},
	}
}
