package main

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// answer is one recorded DescribeExecution answer, for the execution asked about.
type answer struct {
	arn, status, output string
	err                 error
}

// recording replays answers in order and fails the test when the loop asks about another
// execution than the recording did, or asks once more.
type recording struct {
	t       *testing.T
	answers []answer
}

func (r *recording) describe(_ context.Context, arn string) (string, string, error) {
	r.t.Helper()
	if len(r.answers) == 0 {
		r.t.Fatalf("describe(%s) after the last recorded answer", arn)
	}
	a := r.answers[0]
	r.answers = r.answers[1:]
	if arn != a.arn {
		r.t.Fatalf("describe(%s), want %s", arn, a.arn)
	}
	return a.status, a.output, a.err
}

func TestWaitExecution(t *testing.T) {
	const ex1, ex2 = "arn:aws:states:us-east-1:1:execution:tracker-run:one", "arn:aws:states:us-east-1:1:execution:tracker-run:two"
	counts := func(todo, inProgress, failed, succeeded, ignored int) map[tracker.Status]int {
		return map[tracker.Status]int{tracker.Todo: todo, tracker.InProgress: inProgress, tracker.Failed: failed, tracker.Succeeded: succeeded, tracker.Ignored: ignored}
	}
	tests := []struct {
		name    string
		answers []answer
		counts  []map[tracker.Status]int
		want    *contract.RunOutput
		wantErr string
		stderr  string
		waits   int
	}{
		{
			name: "polls while running, prints the counts at each poll, and follows continued_as to the end",
			answers: []answer{
				{arn: ex1, status: "RUNNING"},
				{arn: ex1, status: "RUNNING"},
				{arn: ex1, status: "SUCCEEDED", output: `{"job_id":"j","rounds":2,"waits":1,"executions":1,"continued_as":"` + ex2 + `"}`},
				{arn: ex2, status: "RUNNING"},
				{arn: ex2, status: "SUCCEEDED", output: `{"job_id":"j","rounds":3,"waits":2,"executions":2,"counts":{"todo":5,"in_progress":0,"failed":1,"succeeded":240,"ignored":4}}`},
			},
			counts: []map[tracker.Status]int{counts(250, 0, 0, 0, 0), counts(150, 10, 0, 90, 0), counts(40, 10, 1, 198, 1)},
			want:   &contract.RunOutput{JobID: "j", Rounds: 3, Waits: 2, Executions: 2, Counts: map[string]int{"todo": 5, "in_progress": 0, "failed": 1, "succeeded": 240, "ignored": 4}},
			stderr: `2026-11-29T00:43:51Z ` + ex1 + ` RUNNING: todo 250, in_progress 0, failed 0, succeeded 0, ignored 0
2026-11-29T00:43:56Z ` + ex1 + ` RUNNING: todo 150, in_progress 10, failed 0, succeeded 90, ignored 0
2026-11-29T00:44:01Z ` + ex1 + ` continued as ` + ex2 + `
2026-11-29T00:44:01Z ` + ex2 + ` RUNNING: todo 40, in_progress 10, failed 1, succeeded 198, ignored 1
`,
			waits: 3,
		},
		{
			name:    "an execution that failed after continuing is an error naming it, with its cause",
			answers: []answer{{arn: ex1, status: "SUCCEEDED", output: `{"job_id":"j","continued_as":"` + ex2 + `"}`}, {arn: ex2, status: "FAILED", output: "States.TaskFailed: claim timed out"}},
			wantErr: "execution " + ex2 + " FAILED: States.TaskFailed: claim timed out",
			stderr:  "2026-11-29T00:43:51Z " + ex1 + " continued as " + ex2 + "\n",
		},
		{
			name:    "a timed-out or aborted execution is an error too",
			answers: []answer{{arn: ex1, status: "ABORTED", output: "unknown error"}},
			wantErr: "execution " + ex1 + " ABORTED: unknown error",
		},
		{
			name:    "a describe error ends the wait with it",
			answers: []answer{{arn: ex1, status: "RUNNING"}, {arn: ex1, err: errors.New("describe execution: AccessDeniedException")}},
			counts:  []map[tracker.Status]int{counts(1, 0, 0, 0, 0)},
			wantErr: "describe execution: AccessDeniedException",
			stderr:  "2026-11-29T00:43:51Z " + ex1 + " RUNNING: todo 1, in_progress 0, failed 0, succeeded 0, ignored 0\n",
			waits:   1,
		},
		{
			name:    "an output that is not a run's is an error",
			answers: []answer{{arn: ex1, status: "SUCCEEDED", output: "not json"}},
			wantErr: "execution " + ex1 + " SUCCEEDED with an output that is not a run's",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			a := newApp(strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			clk := trackertest.NewClock(t0)
			a.now = clk.Now
			waits := 0
			a.wait = func(_ context.Context, d time.Duration) error {
				if d != 5*time.Second {
					t.Errorf("wait(%s), want 5s", d)
				}
				waits++
				clk.Set(clk.Now().Add(d))
				return nil
			}
			polls := 0
			count := func(context.Context) (map[tracker.Status]int, error) {
				if polls == len(tt.counts) {
					t.Fatalf("count #%d: more polls than recorded counts", polls+1)
				}
				polls++
				return tt.counts[polls-1], nil
			}
			rec := &recording{t: t, answers: tt.answers}
			got, err := a.waitExecution(context.Background(), rec, count, ex1, 5*time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one holding %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("output = %+v, want %+v", got, tt.want)
			}
			if len(rec.answers) != 0 {
				t.Errorf("%d recorded answers left unasked", len(rec.answers))
			}
			if polls != len(tt.counts) || waits != tt.waits {
				t.Errorf("%d counts and %d waits, want %d and %d", polls, waits, len(tt.counts), tt.waits)
			}
			if stderr.String() != tt.stderr || stdout.Len() != 0 {
				t.Errorf("stderr:\n%s\nwant:\n%s\nstdout: %q", stderr.String(), tt.stderr, stdout.String())
			}
		})
	}
}

// TestRunWaitSummary checks what run --wait prints once the job's last execution ended:
// the job's summary, with the tasks still pending.
func TestRunWaitSummary(t *testing.T) {
	var stdout bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &bytes.Buffer{}, func(string) string { return "" })
	a.printJobSummary(&stdout, "SUCCEEDED", contract.RunOutput{JobID: "j", Rounds: 3, Waits: 2, Executions: 2,
		Counts: map[string]int{"todo": 5, "in_progress": 0, "failed": 1, "succeeded": 240, "ignored": 4}})
	checkGolden(t, "run-wait-summary", stdout.String())
}

func TestRunWaitUsage(t *testing.T) {
	c := &cli{env: map[string]string{envTable: "t"}}
	// The local stack is make run's, from a checkout: run has no --local to wait for.
	c.run(t, "run", "j", "--local", "--wait").wantCode(t, exitUsage).wantOneLineError(t, "-local")
}
