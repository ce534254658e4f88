package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// createDemoJob creates job afresh with n tasks of the example worker: every 8th fails once,
// every 16th always fails.
func (r *runner) createDemoJob(ctx context.Context, job string, n int) error {
	if _, err := r.tr.DeleteJob(ctx, job); err != nil {
		return err
	}
	r.step("create job %q: %d tasks; every 8th fails once, every 16th always fails", job, n)
	var tasks []tracker.NewTask
	for i := range n {
		data := fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json", "sleep_ms": %d}`, i, i%20)
		switch {
		case i%16 == 5:
			data = fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json", "always_fail": true}`, i)
		case i%8 == 3:
			data = fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json", "fail_times": 1}`, i)
		}
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("file-%04d", i), Data: json.RawMessage(data)})
	}
	_, err := r.tr.CreateTasks(ctx, job, tasks)
	return err
}

// demo runs the demo job, simulates a worker that crashed and tasks that arrived late, runs a
// catch-up sweep, and prints the ignored tasks with their last error.
func (r *runner) demo(ctx context.Context, db *dynamodb.Client, table, job string, concurrency, backoff int) error {
	r.step("run the state machine: %d tasks at once, each loop of a lane claiming the next as it finishes one; failed tasks wait %d s, doubling", concurrency, backoff)
	if err := r.execute(ctx, contract.RunInput{JobID: job, Concurrency: concurrency}); err != nil {
		return err
	}
	if err := r.printCounts(ctx, job); err != nil {
		return err
	}

	r.step("simulate a worker that crashed holding 3 tasks, and 5 tasks that arrived late")
	crashed, _ := tracker.New(db, tracker.Config{Table: table, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	for i := range 3 {
		id := fmt.Sprintf("late-crashed-%d", i)
		if _, err := r.tr.CreateTask(ctx, job, id, nil); err != nil {
			return err
		}
		if _, err := crashed.Claim(ctx, job, id, "worker-that-crashed"); err != nil {
			return err
		}
	}
	for i := range 5 {
		if _, err := r.tr.CreateTask(ctx, job, fmt.Sprintf("late-%d", i), nil); err != nil {
			return err
		}
	}
	if err := r.printCounts(ctx, job); err != nil {
		return err
	}

	r.step("run a catch-up sweep, as the EventBridge schedule does: input {\"job_ids\": [%q]}", job)
	if err := r.execute(ctx, contract.RunInput{JobIDs: []string{job}}); err != nil {
		return err
	}
	if err := r.printCounts(ctx, job); err != nil {
		return err
	}
	return r.printIgnored(ctx, job)
}

// printIgnored prints the job's ignored tasks with their last error.
func (r *runner) printIgnored(ctx context.Context, job string) error {
	if r.json {
		return nil
	}
	r.step("ignored tasks (failed %d times), with their last error", r.tr.Config().MaxRetry)
	cursor := ""
	for {
		page, err := r.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Ignored}, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, t := range page.Tasks {
			full, err := r.tr.Get(ctx, job, t.TaskID)
			if err != nil {
				return err
			}
			fmt.Fprintf(r.out, "%s  retry %d  %s\n", full.TaskID, full.Retry, full.Error.Error)
		}
		if cursor = page.Cursor; cursor == "" {
			return nil
		}
	}
}
