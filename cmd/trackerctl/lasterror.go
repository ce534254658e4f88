package main

import (
	"context"
	"errors"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// errorReads is how many Gets lastErrors keeps in flight.
const errorReads = 8

// errorWidth is the most runes of a last error the list's ERROR column shows.
const errorWidth = 40

// mayHaveError reports whether a task listed from the index can hold a current error: a
// failed or ignored task that has been claimed (an ignored task never claimed never failed).
// A task other code wrote (no create time) has an unknown history, so it counts as claimed.
func mayHaveError(t *tracker.Task) bool {
	return (t.Status == tracker.Failed || t.Status == tracker.Ignored) && (t.Attempts > 0 || t.CreateTime.IsZero())
}

// currentErrors returns the message of the current error of each task, "" for none: a
// failed or ignored task's last failure. A task read from the failure index carries its
// message; the status index carries none, so each other task that may hold one
// (mayHaveError) costs one Get, with errorReads in flight, under one progress bar for the
// whole listing. A task deleted since it was listed has no error.
func (a *app) currentErrors(ctx context.Context, tr *tracker.Tracker, job string, tasks []tracker.Task) ([]string, error) {
	msgs := make([]string, len(tasks))
	var read []int
	for i := range tasks {
		switch t := &tasks[i]; {
		case t.Failure != nil:
			msgs[i] = t.Failure.Message
		case mayHaveError(t):
			read = append(read, i)
		}
	}
	errs := a.applyAll(ctx, "read errors", len(read), errorReads, func(k int) error {
		i := read[k]
		t, err := tr.Get(ctx, job, tasks[i].TaskID)
		switch {
		case errors.Is(err, tracker.ErrTaskNotFound):
			return nil
		case err != nil:
			return err
		case t.CurrentError() != nil:
			msgs[i] = t.CurrentError().Error
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return msgs, nil
}
