package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// checkJob validates a job id given on the command line.
func checkJob(job string) error {
	if err := tracker.ValidateJob(job); err != nil {
		return usagef("job id %q: %v", job, err)
	}
	return nil
}

// errNoTasks says that a job has no task at all.
func (a *app) errNoTasks(job string) error {
	return failf(kindNotFound, "job %q has no tasks in table %q (check the job id, or enqueue its tasks first)", job, a.opts.table)
}

// countJob counts the tasks of job per status and fails when the job has none.
func (a *app) countJob(ctx context.Context, tr *tracker.Tracker, job string) (map[tracker.Status]int, int, error) {
	counts, err := tr.Count(ctx, job)
	if err != nil {
		return nil, 0, err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return counts, 0, a.errNoTasks(job)
	}
	return counts, total, nil
}

// taskView is a task in JSON output. Times are RFC 3339 in UTC.
type taskView struct {
	JobID    string `json:"job_id"`
	TaskID   string `json:"task_id"`
	Status   string `json:"status"`
	Code     int    `json:"code"`
	Retry    int    `json:"retry"`
	Attempts int    `json:"attempts"`
	// CreateTime is null for tasks written by code that does not record it (the seed).
	CreateTime *time.Time `json:"create_time"`
	UpdateTime time.Time  `json:"update_time"`
	// LockOwner names who holds, or last held, the lease.
	LockOwner string `json:"lock_owner,omitempty"`
	// Lease is null while the task holds no lock.
	Lease *leaseView `json:"lease"`
}

// leaseView is the lock a task holds.
type leaseView struct {
	Token   string    `json:"token"`
	Taken   time.Time `json:"taken"`
	Expires time.Time `json:"expires"`
	// Live is false once the lease has expired: a run may claim the task again.
	Live bool `json:"live"`
}

// detailView is one task in full, for show.
type detailView struct {
	taskView
	Data json.RawMessage `json:"data"`
	// Error is the task's current error: a failed or ignored task's last failure; null
	// otherwise (a succeeded task's failures are in History).
	Error *tracker.TaskError `json:"error"`
	// Failure is the current failure's fingerprint and time, when it has one.
	Failure *tracker.TaskFailure `json:"failure,omitempty"`
	// History is the task's recent failed attempts, oldest first; [] when none.
	History []tracker.Attempt `json:"history"`
	// Group is the failure group the task is the sample of (show --fingerprint).
	Group *tracker.Group `json:"group,omitempty"`
}

func (a *app) view(t *tracker.Task, lease time.Duration) taskView {
	v := taskView{
		JobID: t.JobID, TaskID: t.TaskID, Status: t.Status.String(), Code: t.Code,
		Retry: t.Retry, Attempts: t.Attempts, UpdateTime: t.UpdateTime, LockOwner: t.LockOwner,
	}
	if !t.CreateTime.IsZero() {
		ct := t.CreateTime
		v.CreateTime = &ct
	}
	if t.Lock != "" {
		v.Lease = &leaseView{Token: t.Lock, Taken: t.LockTime, Expires: t.LeaseExpires(lease), Live: t.Locked(a.now(), lease)}
	}
	return v
}

// reason says in a few words why a change was refused.
func reason(err error) string {
	var ce *tracker.ConflictError
	if errors.As(err, &ce) {
		msg := ce.Reason.Error()
		if errors.Is(ce.Reason, tracker.ErrTaskWrongStatus) && ce.Task != nil {
			msg = fmt.Sprintf("task is %s", ce.Task.Status)
		}
		if errors.Is(ce.Reason, tracker.ErrTaskLocked) && ce.Task != nil {
			msg += fmt.Sprintf(" (%s, until %s)", ce.Task.LockOwner, stamp(ce.LockExpires))
		}
		return msg
	}
	return oneLine(err.Error())
}
