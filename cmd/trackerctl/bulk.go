package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// selectionFlags select failed and ignored tasks by their current failure: --fingerprint and
// --error, for list, retry and ignore.
type selectionFlags struct {
	fingerprint, errText string
}

func (s *selectionFlags) register(fs *flagSet) {
	fs.StringVar(&s.fingerprint, "fingerprint", "", "the tasks whose current failure has fingerprint `F` (trackerctl errors JOB lists them)")
	fs.StringVar(&s.errText, "error", "", "the tasks whose current failure's message contains `TEXT` (case-sensitive; its first 256 bytes)")
}

func (s selectionFlags) on() bool { return s.fingerprint != "" || s.errText != "" }

// selection is the selection of these flags and statuses.
func (s selectionFlags) selection(statuses statusList) tracker.Selection {
	return tracker.Selection{Fingerprint: s.fingerprint, ErrorContains: s.errText, Statuses: statuses}
}

// describeSelection says what a selection holds, for messages: "failed and ignored tasks with
// fingerprint v1:… whose error contains "timeout"".
func describeSelection(sel tracker.Selection, action tracker.BulkAction) string {
	names := make([]string, 0, len(sel.Statuses))
	for _, s := range selectedStatuses(sel, action) {
		names = append(names, s.String())
	}
	what := strings.Join(names, " and ") + " tasks"
	if sel.Fingerprint != "" {
		what += " with fingerprint " + sel.Fingerprint
	}
	if sel.ErrorContains != "" {
		what += fmt.Sprintf(" whose error contains %q", sel.ErrorContains)
	}
	return what
}

// selectedStatuses are the statuses an action selects from (tracker.Selection's defaults).
func selectedStatuses(sel tracker.Selection, action tracker.BulkAction) []tracker.Status {
	switch {
	case len(sel.Statuses) > 0:
		return sel.Statuses
	case action == tracker.BulkIgnore:
		return []tracker.Status{tracker.Failed}
	}
	return []tracker.Status{tracker.Failed, tracker.Ignored}
}

// bulkFlags say where a bulk action runs and how this command follows it.
type bulkFlags struct {
	arn, endpoint, resume string
	wait                  bool
	interval              time.Duration
}

func (b *bulkFlags) register(fs *flagSet) {
	fs.StringVar(&b.arn, "state-machine-arn", "", "run a selection as an execution of the state machine of this `ARN`")
	fs.env["state-machine-arn"] = envStateMachine
	fs.StringVar(&b.endpoint, "sfn-endpoint", "", "Step Functions endpoint `URL`")
	fs.env["sfn-endpoint"] = envSFNEndpoint
	fs.BoolVar(&b.wait, "wait", false, "follow a selection's action to its end and print what it did")
	b.interval = 5 * time.Second
	fs.Var(seconds{&b.interval}, "interval", "`seconds` (or a duration like 1m) between looks at the action's progress under --wait")
	fs.StringVar(&b.resume, "resume", "", "go on with the action of this `id` from where it stood")
}

// bulkReport is the JSON output of retry and ignore of a selection.
type bulkReport struct {
	JobID  string `json:"job_id"`
	Action string `json:"action"`
	DryRun bool   `json:"dry_run"`
	// Selected is how many tasks the selection holds now (a dry run, or before the start).
	Selected *int `json:"selected,omitempty"`
	// ID is the action's; Execution the execution that runs it (on AWS).
	ID        string `json:"id,omitempty"`
	Execution string `json:"execution_arn,omitempty"`
	// Progress is the action as far as it came: at its end when this command ran it or
	// followed it, as recorded otherwise.
	Progress *tracker.Bulk `json:"progress,omitempty"`
}

// bulkChange runs retry or ignore on a selection (or resumes one) as a bulk action.
func (a *app) bulkChange(ctx context.Context, tr *tracker.Tracker, ch change, job string, f changeFlags) error {
	action := tracker.BulkAction(ch.verb)
	if f.bulk.arn == "" {
		f.bulk.arn = a.getenv(envStateMachine)
	}
	if f.bulk.endpoint == "" {
		f.bulk.endpoint = a.getenv(envSFNEndpoint)
	}
	if f.bulk.arn == "" && !isLoopback(a.opts.endpoint) && !f.dryRun {
		return usagef("a selection runs on the server, as an execution of the tracker's state machine: pass --state-machine-arn or set %s", envStateMachine)
	}
	if f.bulk.resume != "" {
		return a.resumeBulk(ctx, tr, ch, job, f)
	}
	sel := f.selection.selection(f.statuses)
	what := describeSelection(sel, action)
	n, err := tr.CountSelected(ctx, job, action, sel)
	if err != nil {
		return err
	}
	rep := bulkReport{JobID: job, Action: ch.verb, DryRun: f.dryRun, Selected: &n}
	switch {
	case n == 0:
		if _, _, err := a.countJob(ctx, tr, job); err != nil {
			return err
		}
		return a.printBulk(rep, fmt.Sprintf("job %s has no %s: nothing to %s", job, what, ch.verb))
	case f.dryRun:
		return a.printBulk(rep, fmt.Sprintf("dry run, nothing written: would %s %s (%s) of job %s; any that runs or moves on by then is refused",
			ch.verb, plural(n, "task"), what, job))
	}
	if n > 1 {
		if err := a.confirm(fmt.Sprintf("%s %s (%s) of job %s", ch.verb, plural(n, "task"), what, job), f.yes); err != nil {
			return err
		}
	}
	// The action's id names its execution too: the time, to the microsecond, tells it apart.
	now := a.now().UTC()
	id := fmt.Sprintf("%s-%s-%06d", action, now.Format("20060102-150405"), now.Nanosecond()/1000)
	b, err := tr.NewBulk(job, tracker.BulkOptions{Action: action, Select: sel, ID: id})
	if err != nil {
		return err
	}
	rep.ID = b.ID
	input := contract.RunInput{JobID: job, Bulk: &contract.BulkInput{Action: action, Fingerprint: sel.Fingerprint, Error: sel.ErrorContains, Statuses: sel.Statuses, ID: b.ID}}
	return a.runBulk(ctx, tr, ch, f.bulk, *b, input, rep)
}

// resumeBulk goes on with a recorded action (or, with --dry-run or when it is done, says how
// far it came).
func (a *app) resumeBulk(ctx context.Context, tr *tracker.Tracker, ch change, job string, f changeFlags) error {
	b, err := tr.BulkStatus(ctx, job, f.bulk.resume)
	switch {
	case errors.Is(err, tracker.ErrBulkNotFound):
		return failf(kindNotFound, "job %q has no %s action %q recorded in table %q", job, ch.verb, f.bulk.resume, a.opts.table)
	case err != nil:
		return err
	case string(b.Action) != ch.verb:
		return usagef("action %s is a %s: resume it with trackerctl %s", b.ID, b.Action, b.Action)
	}
	rep := bulkReport{JobID: job, Action: ch.verb, DryRun: f.dryRun, ID: b.ID, Progress: b}
	if f.dryRun || b.Done {
		return a.printBulkProgress(rep)
	}
	input := contract.RunInput{JobID: job, Bulk: &contract.BulkInput{Resume: b}}
	return a.runBulk(ctx, tr, ch, f.bulk, *b, input, rep)
}

// runBulk runs the action: as an execution of the state machine when one is given, here
// against DynamoDB Local otherwise.
func (a *app) runBulk(ctx context.Context, tr *tracker.Tracker, ch change, bf bulkFlags, b tracker.Bulk, input contract.RunInput, rep bulkReport) error {
	if bf.arn == "" {
		return a.runBulkHere(ctx, tr, ch, b, rep) // DynamoDB Local: bulkChange checked it
	}
	arn := bf.arn
	client, err := a.sfnClient(ctx, bf.endpoint)
	if err != nil {
		return err
	}
	body, err := json.Marshal(input)
	if err != nil {
		return err
	}
	name := b.ID
	if input.Bulk.Resume != nil {
		name = contract.ExecutionName(b.JobID, b.ID, fmt.Sprintf("resume-%d", b.Steps))
	}
	out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Name: aws.String(name), Input: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("start the %s of job %s as execution %s of %s: %w", ch.verb, b.JobID, name, arn, err)
	}
	rep.Execution = aws.ToString(out.ExecutionArn)
	if !bf.wait {
		return a.printBulk(rep, fmt.Sprintf("started %s %s of job %s as execution %s; follow it with trackerctl %s %s --resume %s --dry-run (its progress) or --wait",
			ch.verb, b.ID, b.JobID, rep.Execution, ch.verb, b.JobID, b.ID))
	}
	done, err := a.followBulk(ctx, tr, sfnDescriber{client}, rep.Execution, b, bf.interval, rep.Selected)
	if err != nil {
		return err
	}
	rep.Progress = done
	return a.finishBulk(ch, rep)
}

// runBulkHere runs the action's steps in this process (DynamoDB Local), with a progress bar.
func (a *app) runBulkHere(ctx context.Context, tr *tracker.Tracker, ch change, b tracker.Bulk, rep bulkReport) error {
	total := b.Listed
	if rep.Selected != nil {
		total += *rep.Selected
	}
	bar := a.progress(ch.verb, total)
	done, err := tr.RunBulk(ctx, b, 0, func(p tracker.Bulk) { bar.set(min(p.Listed, total)) })
	bar.done()
	if err != nil {
		if done != nil && done.Listed > 0 {
			return fmt.Errorf("%w (after %d of the selected tasks; go on with --resume %s)", err, done.Listed, b.ID)
		}
		return err
	}
	rep.Progress = done
	return a.finishBulk(ch, rep)
}

// followBulk follows an action's execution to its end: every interval it reads the action's
// progress from the table (a progress bar on a terminal) and asks Step Functions whether the
// execution still runs, following the executions it continues as.
func (a *app) followBulk(ctx context.Context, tr *tracker.Tracker, d describer, arn string, b tracker.Bulk, interval time.Duration, selected *int) (*tracker.Bulk, error) {
	total := b.Listed
	if selected != nil {
		total += *selected
	}
	bar := a.progress(string(b.Action), total)
	defer bar.done()
	for {
		status, output, err := d.describe(ctx, arn)
		if err != nil {
			return nil, err
		}
		switch status {
		case "RUNNING", "PENDING_REDRIVE":
			p, err := tr.BulkStatus(ctx, b.JobID, b.ID)
			switch {
			case err == nil:
				bar.set(min(p.Listed, total))
			case !errors.Is(err, tracker.ErrBulkNotFound):
				return nil, err
			}
			if err := a.wait(ctx, interval); err != nil {
				return nil, fmt.Errorf("stopped following %s (it goes on): %w", arn, err)
			}
			continue
		case "SUCCEEDED":
		default:
			return nil, fmt.Errorf("execution %s %s: %s (go on with --resume %s)", arn, status, output, b.ID)
		}
		var out contract.RunOutput
		if err := json.Unmarshal([]byte(output), &out); err != nil {
			return nil, fmt.Errorf("execution %s: output %q: %w", arn, output, err)
		}
		if out.ContinuedAs != "" {
			arn = out.ContinuedAs
			continue
		}
		if out.Bulk == nil {
			return nil, fmt.Errorf("execution %s ended without the action's progress: %s", arn, output)
		}
		return out.Bulk, nil
	}
}

// finishBulk prints what an action did; refusals make it exit 1.
func (a *app) finishBulk(ch change, rep bulkReport) error {
	if err := a.printBulkProgress(rep); err != nil {
		return err
	}
	if p := rep.Progress; p != nil && p.Refused > 0 {
		return failf(kindRefused, "%d of %s not %s", p.Refused, plural(p.Listed, "task"), ch.past)
	}
	return nil
}

// printBulk prints a report with a sentence for people.
func (a *app) printBulk(rep bulkReport, sentence string) error {
	if a.opts.json {
		return printJSON(a.stdout, rep)
	}
	fmt.Fprintln(a.stdout, escape(sentence))
	return nil
}

// printBulkProgress prints how far an action came: its counts, and what it refused and why.
func (a *app) printBulkProgress(rep bulkReport) error {
	if a.opts.json {
		return printJSON(a.stdout, rep)
	}
	p, w := rep.Progress, a.stdout
	past := retryChange.past
	if p.Action == tracker.BulkIgnore {
		past = ignoreChange.past
	}
	state := "done"
	if !p.Done {
		state = "not done: go on with --resume " + p.ID
	}
	fmt.Fprintf(w, "%s %s (%s) of job %s: %s %s of %d listed, %d refused; %s, %s (started %s)\n", p.Action, p.ID,
		describeSelection(p.Select, p.Action), escape(p.JobID), past, plural(p.Changed, "task"), p.Listed, p.Refused,
		plural(p.Steps, "step"), state, stamp(p.Started))
	if p.Refused == 0 {
		return nil
	}
	var why []string
	for _, r := range slices.Sorted(maps.Keys(p.RefusedBy)) {
		why = append(why, fmt.Sprintf("%d %s", p.RefusedBy[r], r))
	}
	fmt.Fprintf(w, "refused: %s (a task that runs or moved on since it was listed is left as it is)\n", escape(strings.Join(why, ", ")))
	for _, r := range p.Refusals {
		fmt.Fprintf(w, "  not %s %s: %s\n", past, escape(r.TaskID), escape(r.Reason))
	}
	if n := p.Refused - len(p.Refusals); n > 0 {
		fmt.Fprintf(w, "  … %d more\n", n)
	}
	return nil
}

// sfnClient is a Step Functions client for the common flags, at endpoint when set.
func (a *app) sfnClient(ctx context.Context, endpoint string) (*sfn.Client, error) {
	cfg, err := a.awsConfig(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
