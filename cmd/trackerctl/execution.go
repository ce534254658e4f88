package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// localResult is the line the local runner prints (cmd/runlocal, the Execution of
// internal/localstack): {"status": "SUCCEEDED", "output": {"jobs": [...]}} or
// {"status": "FAILED", "error", "cause"}.
type localResult struct {
	Status string     `json:"status"`
	Output *runOutput `json:"output"`
	Error  string     `json:"error"`
	Cause  string     `json:"cause"`
}

// runOutput is the state machine's output: one entry a job.
type runOutput struct {
	Jobs *[]jobResult `json:"jobs"`
}

// jobResult is what the state machine reports for a job: pages and tasks run, the job's
// counts per status after the run and the outcome of each task of the last page; or, when
// the job could not be run (JobErrored), the error and its cause.
type jobResult struct {
	JobID    string          `json:"job_id"`
	Pages    int             `json:"pages"`
	Tasks    int             `json:"tasks"`
	Counts   map[string]int  `json:"counts"`
	LastPage []taskOutcome   `json:"last_page"`
	Error    *string         `json:"error"`
	Cause    json.RawMessage `json:"cause"`
}

// taskOutcome is one task of the last page: succeeded, ignored (with the worker's error),
// skipped, lease_lost or error (with a reason).
type taskOutcome struct {
	TaskID  string `json:"task_id"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	Error   string `json:"error"`
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
		if res.Output == nil || res.Output.Jobs == nil {
			return nil, false
		}
		for _, j := range *res.Output.Jobs {
			if j.JobID == "" {
				return nil, false
			}
		}
	case "FAILED":
	default:
		return nil, false
	}
	return &res, true
}

// failure is the error of a FAILED execution, or of the jobs a SUCCEEDED one could not run
// (the state machine's JobErrored); nil when every job ran.
func (r *localResult) failure() error {
	if r.Status != "SUCCEEDED" {
		return fmt.Errorf("execution %s: %s", r.Status, joinCause(r.Error, r.Cause))
	}
	var stopped []string
	for _, j := range *r.Output.Jobs {
		if j.Error != nil {
			stopped = append(stopped, fmt.Sprintf("job %s stopped: %s", j.JobID, joinCause(*j.Error, causeText(j.Cause))))
		}
	}
	if len(stopped) > 0 {
		return fmt.Errorf("execution %s, but %s", r.Status, strings.Join(stopped, "; "))
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

// outcomeOrder is the order of the state machine's task outcomes in the summary.
var outcomeOrder = map[string]int{"succeeded": 0, "ignored": 1, "skipped": 2, "lease_lost": 3, "error": 4}

// printExecution writes the summary of a SUCCEEDED execution for people: per job, the
// tasks and pages run, the job's counts per status and the outcomes of the last page. It
// leaves out the jobs the state machine could not run: failure reports them. A FAILED
// execution prints nothing.
func (a *app) printExecution(w io.Writer, res *localResult) {
	if res.Status != "SUCCEEDED" {
		return
	}
	jobs := *res.Output.Jobs
	if len(jobs) == 0 {
		fmt.Fprintf(w, "execution %s: no job\n", res.Status)
		return
	}
	first := true
	for _, j := range jobs {
		if j.Error != nil {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fmt.Fprintf(w, "execution %s: job %s, %s in %s\n\n", res.Status, j.JobID, plural(j.Tasks, "task"), plural(j.Pages, "page"))
		counts := map[tracker.Status]int{}
		for name, n := range j.Counts {
			if s, err := tracker.ParseStatus(name); err == nil {
				counts[s] += n
			}
		}
		a.printCounts(w, counts)
		fmt.Fprintln(w)
		printOutcomes(w, j.LastPage)
	}
}

// causeText is a cause as text: a JSON string unquoted, anything else as it is.
func causeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if t := string(bytes.TrimSpace(raw)); t != "null" {
		return t
	}
	return ""
}

// printOutcomes counts the last page's outcomes on one line, then lists the tasks that did
// not succeed, grouped by outcome and reason.
func printOutcomes(w io.Writer, page []taskOutcome) {
	if len(page) == 0 {
		fmt.Fprintln(w, "last page  empty: no task was pending")
		return
	}
	type group struct {
		outcome, reason string
		ids             []string
	}
	counts := map[string]int{}
	var outcomes []string
	groups := map[[2]string]*group{}
	var order []*group
	for _, t := range page {
		if counts[t.Outcome] == 0 {
			outcomes = append(outcomes, t.Outcome)
		}
		counts[t.Outcome]++
		if t.Outcome == "succeeded" {
			continue
		}
		reason := t.Reason
		if reason == "" {
			reason = t.Error
		}
		key := [2]string{t.Outcome, reason}
		g := groups[key]
		if g == nil {
			g = &group{outcome: t.Outcome, reason: reason}
			groups[key] = g
			order = append(order, g)
		}
		g.ids = append(g.ids, t.TaskID)
	}
	rank := func(o string) int {
		if r, ok := outcomeOrder[o]; ok {
			return r
		}
		return len(outcomeOrder)
	}
	sort.SliceStable(outcomes, func(i, j int) bool {
		if ri, rj := rank(outcomes[i]), rank(outcomes[j]); ri != rj {
			return ri < rj
		}
		return outcomes[i] < outcomes[j]
	})
	parts := make([]string, len(outcomes))
	for i, o := range outcomes {
		parts[i] = fmt.Sprintf("%s %d", o, counts[o])
	}
	fmt.Fprintf(w, "last page  %s\n", strings.Join(parts, ", "))
	if len(order) == 0 {
		return
	}
	sort.SliceStable(order, func(i, j int) bool {
		if ri, rj := rank(order[i].outcome), rank(order[j].outcome); ri != rj {
			return ri < rj
		}
		if order[i].outcome != order[j].outcome {
			return order[i].outcome < order[j].outcome
		}
		return order[i].reason < order[j].reason
	})
	fmt.Fprintln(w)
	tw := newTable(w)
	for _, g := range order {
		label := g.outcome
		if g.reason != "" {
			label += " (" + g.reason + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", label, idList(g.ids, 5))
	}
	tw.Flush()
}
