package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// localResult is the line the local runner prints (cmd/runlocal, the Execution of
// internal/localstack): the first execution's {"status", "output"} or {"status": "FAILED",
// "error", "cause"}, with every execution the run started (continue-as-new, a sweep's jobs)
// under "executions".
type localResult struct {
	Status     string          `json:"status"`
	Output     json.RawMessage `json:"output"`
	Error      string          `json:"error"`
	Cause      string          `json:"cause"`
	Arn        string          `json:"arn"`
	Executions []runExecution  `json:"executions"`
}

// runExecution is one execution of a run.
type runExecution struct {
	Arn       string          `json:"arn"`
	StartedBy string          `json:"started_by"`
	Status    string          `json:"status"`
	Output    json.RawMessage `json:"output"`
	Error     string          `json:"error"`
	Cause     string          `json:"cause"`
	States    map[string]int  `json:"states"`
}

// parseLocalResult reads the runner's standard output as the one result line. It reports
// false when the output is anything else (a custom runner's), to be printed as it is.
func parseLocalResult(out []byte) (*localResult, bool) {
	line := bytes.TrimSpace(out)
	if len(line) == 0 || line[0] != '{' || bytes.ContainsAny(line, "\r\n") {
		return nil, false
	}
	var res localResult
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&res); err != nil || dec.More() {
		return nil, false
	}
	switch res.Status {
	case "SUCCEEDED":
		var out contract.RunOutput
		if len(res.Output) == 0 || json.Unmarshal(res.Output, &out) != nil || (out.JobID == "" && out.Swept == 0) {
			return nil, false
		}
	case "FAILED":
	default:
		return nil, false
	}
	return &res, true
}

// chains returns, for each job the run ran, the output of its last execution (following
// continue-as-new), in start order.
func (r *localResult) chains() []contract.RunOutput {
	byParent := map[string]*runExecution{}
	for i := range r.Executions {
		if e := &r.Executions[i]; e.StartedBy != "" && r.handedOver(e.StartedBy) {
			byParent[e.StartedBy] = e
		}
	}
	var out []contract.RunOutput
	for i := range r.Executions {
		e := &r.Executions[i]
		if e.StartedBy != "" && r.handedOver(e.StartedBy) {
			continue // a continuation: reached from the head of its chain
		}
		for next := byParent[e.Arn]; next != nil; next = byParent[e.Arn] {
			e = next
		}
		var o contract.RunOutput
		if json.Unmarshal(e.Output, &o) == nil && o.JobID != "" {
			out = append(out, o)
		}
	}
	return out
}

// handedOver reports whether the execution arn continued as a new one.
func (r *localResult) handedOver(arn string) bool {
	for _, e := range r.Executions {
		if e.Arn == arn {
			return e.States["Handover"] > 0
		}
	}
	return false
}

// failure is the error of the first FAILED execution of the run; nil when all succeeded.
func (r *localResult) failure() error {
	if r.Status != "SUCCEEDED" {
		return fmt.Errorf("execution %s: %s", r.Status, joinCause(r.Error, r.Cause))
	}
	for _, e := range r.Executions {
		if e.Status != "SUCCEEDED" {
			return fmt.Errorf("execution %s %s: %s", e.Arn, e.Status, joinCause(e.Error, e.Cause))
		}
	}
	return nil
}

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

// printExecution writes the summary of a SUCCEEDED run for people: per job, the tasks
// listed, in how many pages, rounds and executions, the job's counts per status, and how many
// tasks are still pending. A FAILED execution prints nothing.
func (a *app) printExecution(w io.Writer, res *localResult) {
	if res.Status != "SUCCEEDED" {
		return
	}
	var first contract.RunOutput
	_ = json.Unmarshal(res.Output, &first)
	if first.Swept > 0 {
		fmt.Fprintf(w, "sweep %s: started %s\n", res.Status, plural(first.Swept, "execution"))
	}
	for i, j := range res.chains() {
		if i > 0 || first.Swept > 0 {
			fmt.Fprintln(w)
		}
		a.printJobSummary(w, res.Status, j)
	}
}

// printJobSummary writes what one job's run did (its last execution's output): the tasks
// listed, in how many pages, rounds and executions, the job's counts per status, and how
// many tasks are still pending.
func (a *app) printJobSummary(w io.Writer, status string, j contract.RunOutput) {
	fmt.Fprintf(w, "execution %s: job %s, %s listed in %s, %s, %s\n\n", status, j.JobID,
		plural(j.Listed, "task"), plural(j.Pages, "page"), plural(j.Rounds, "round"), plural(j.Executions, "execution"))
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
