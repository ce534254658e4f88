package localstack_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestPermanentErrorsIgnoreAtOnce: a Lambda worker's failure whose errorType ends with
// PermanentError, or that TRACKER_PERMANENT_ERRORS lists, ignores its task at its first
// attempt, the error recorded and fingerprinted; another failure is retried.
func TestPermanentErrorsIgnoreAtOnce(t *testing.T) {
	t.Parallel()
	job := newJob(t, map[string]string{
		"by-name":    `{"fail_as": "NotFoundPermanentError"}`,
		"by-setting": `{"fail_as": "QuotaGone"}`,
		"retried":    `{"fail_times": 1}`,
	})
	run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	runs := invocations(t, job)
	for _, id := range []string{"by-name", "by-setting"} {
		task := get(t, job, id)
		if task.Status != tracker.Ignored || task.Retry != 1 || task.Attempts != 1 || len(runs[id]) != 1 {
			t.Errorf("%s: %s, retry %d, attempts %d, %d runs; want ignored at its first attempt", id, task.Status, task.Retry, task.Attempts, len(runs[id]))
			continue
		}
		want := fingerprint.Compute(task.Error.Error, task.Error.Traceback).String()
		if task.Failure == nil || task.Failure.Fingerprint != want || task.History[0].Fingerprint != want {
			t.Errorf("%s: failure %+v, history %+v; want fingerprint %s", id, task.Failure, task.History, want)
		}
	}
	if task := get(t, job, "retried"); task.Status != tracker.Succeeded || len(runs["retried"]) != 2 {
		t.Errorf("retried: %s after %d runs; want succeeded after 2", task.Status, len(runs["retried"]))
	}
}

// TestBulkRetryAsAnExecution retries a failure group on the state machine, in steps of 5 and
// 2 steps an execution: the action continues as a new execution, retries every task of the
// group once (its history kept) and nothing else, and its output is its recorded progress.
func TestBulkRetryAsAnExecution(t *testing.T) {
	t.Parallel()
	tasks := map[string]string{}
	for i := range 12 {
		tasks[fmt.Sprintf("a-%02d", i)] = `{"fail_as": "GonePermanentError"}`
	}
	for i := range 3 {
		tasks[fmt.Sprintf("b-%02d", i)] = `{"fail_as": "OtherPermanentError"}`
	}
	job := newJob(t, tasks)
	run(t, contract.RunInput{JobID: job}, localstack.RunOptions{})
	groups, err := env.tracker.Groups(context.Background(), job, tracker.GroupOptions{})
	if err != nil || len(groups) != 2 || groups[0].Ignored != 12 || groups[1].Ignored != 3 {
		t.Fatalf("groups %+v, %v: want 12 and 3 ignored", groups, err)
	}
	fp := groups[0].Fingerprint
	ex, out := run(t, contract.RunInput{JobID: job, MaxSteps: 2, Bulk: &contract.BulkInput{Action: tracker.BulkRetry, Fingerprint: fp, StepTasks: 5, ID: "retry-a"}},
		localstack.RunOptions{})
	if len(ex.Executions) != 2 || out.Bulk == nil {
		t.Fatalf("%d executions, output %+v; want a handover and the action's end", len(ex.Executions), out)
	}
	b := out.Bulk
	if !b.Done || b.Listed != 12 || b.Changed != 12 || b.Refused != 0 || b.Steps != 3 || b.Action != tracker.BulkRetry || b.Select.Fingerprint != fp {
		t.Errorf("the action's end: %+v", b)
	}
	for id := range tasks {
		task := get(t, job, id)
		retried := id[0] == 'a'
		if retried && (task.Status != tracker.Todo || task.Retry != 0 || len(task.History) != 1 || task.History[0].Fingerprint != fp) {
			t.Errorf("%s: %s, retry %d, history %+v; want todo, its history kept", id, task.Status, task.Retry, task.History)
		}
		if !retried && task.Status != tracker.Ignored {
			t.Errorf("%s of another group: %s", id, task.Status)
		}
	}
	stored, err := env.tracker.BulkStatus(context.Background(), job, "retry-a")
	if err != nil || !reflect.DeepEqual(stored, b) {
		t.Errorf("recorded progress %+v, %v; want the output's %+v", stored, err, b)
	}
}
