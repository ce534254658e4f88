package main

import (
	"context"
	"errors"
	"strings"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// errorReads is how many Gets lastErrors keeps in flight.
const errorReads = 8

// errorWidth is the most runes of a last error the list's ERROR column shows.
const errorWidth = 40

// mayHaveError reports whether a task listed from the index can hold a last error: only a
// task that has been claimed can have failed. A task other code wrote (no create time) has
// an unknown history, so it counts as claimed.
func mayHaveError(t *tracker.Task) bool { return t.Attempts > 0 || t.CreateTime.IsZero() }

// lastErrors returns the message of the last error of each task, "" for none. The index
// does not carry errors, so each task that may hold one (mayHaveError) costs one Get, with
// errorReads in flight; a task never claimed costs nothing. A task deleted since it was
// listed has no error.
func (a *app) lastErrors(ctx context.Context, tr *tracker.Tracker, job string, tasks []tracker.Task) ([]string, error) {
	msgs := make([]string, len(tasks))
	var read []int
	for i := range tasks {
		if mayHaveError(&tasks[i]) {
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
		case t.Error != nil:
			msgs[i] = t.Error.Error
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

// errorMatch is the --error filter: a task matches when its last error contains text
// (case-sensitive). The zero value matches every task.
type errorMatch struct{ text string }

func (m errorMatch) on() bool { return m.text != "" }

func (m errorMatch) match(msg string) bool {
	return !m.on() || (msg != "" && strings.Contains(msg, m.text))
}
