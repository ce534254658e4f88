package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// joinCause joins an error name and its cause as "error: cause", leaving out an empty part.
// A Lambda error's cause is the function's JSON error, {"errorMessage", "errorType"}: its
// message is used.
func joinCause(name, cause string) string {
	if name == "" {
		name = "unknown error"
	}
	var lambdaErr struct {
		Message *string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.Message != nil {
		cause = *lambdaErr.Message
	}
	if cause == "" {
		return name
	}
	return name + ": " + cause
}

// printJobSummary writes what one job's run did (its last execution's output): its rounds
// of lanes, its waits for failed tasks and its executions, the job's counts per status, and
// how many tasks are still pending.
func (a *app) printJobSummary(w io.Writer, status string, j contract.RunOutput) {
	if j.SupersededBy != "" {
		fmt.Fprintf(w, "execution %s: job %s was held by another run (%s): this one started nothing\n", status, j.JobID, escape(j.SupersededBy))
		return
	}
	fmt.Fprintf(w, "execution %s: job %s, %s, %s, %s\n\n", status, j.JobID,
		plural(j.Rounds, "round"), plural(j.Waits, "wait"), plural(j.Executions, "execution"))
	counts := map[tracker.Status]int{}
	for name, n := range j.Counts {
		if s, err := tracker.ParseStatus(name); err == nil {
			counts[s] += n
		}
	}
	a.printCounts(w, counts)
	if left := counts[tracker.Todo] + counts[tracker.Failed] + counts[tracker.InProgress]; left > 0 {
		fmt.Fprintf(w, "\n%s still pending or running: run again, or let the sweep pick them up\n", plural(left, "task"))
	}
}
