package localstack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// payloadLimit is Step Functions' limit on a state's input or output and on a Lambda
// payload it carries: an execution that passes it fails with States.DataLimitExceeded,
// which no Catch catches.
const payloadLimit = 262144

// TestBigFailureOnBigData: a task with the largest data the tracker accepts, whose worker
// fails with a ~300 KB stack (the example worker's {"fail_big": N}). The error replaces the
// data in the state and Step Functions keeps 32,768 characters of its Cause, so the run
// succeeds with every payload under the limit (the fail step's input was 288,908 bytes
// before, and the run died with States.DataLimitExceeded). The task is failed, its data kept,
// with the worker's error and its stack as far as the cut Cause carried it, cut as
// tracker.Fail cuts a traceback. The run has one round, but a lane's loop claims a failed
// task again once its backoff (1 s here) is over: the task failed once or more, and is
// ignored if that made MaxRetry failures.
func TestBigFailureOnBigData(t *testing.T) {
	t.Parallel()
	const stackBytes = 300000
	frame := fmt.Sprintf(`{"fail_big":%d,"filler":""}`, stackBytes)
	data := fmt.Sprintf(`{"fail_big":%d,"filler":"%s"}`, stackBytes, strings.Repeat("x", tracker.MaxDataBytes-len(frame)))
	job := newJob(t, map[string]string{"big": data})

	ex, out := run(t, contract.RunInput{JobID: job, MaxRounds: 1}, localstack.RunOptions{})
	largest := ex.MaxPayload
	for _, e := range ex.Executions {
		if e.MaxPayload.Bytes > largest.Bytes {
			largest = e.MaxPayload
		}
	}
	if largest.Bytes < tracker.MaxDataBytes || largest.Bytes >= payloadLimit {
		t.Errorf("largest payload %+v: want the data's %d bytes or more, under %d", largest, tracker.MaxDataBytes, payloadLimit)
	}

	task := get(t, job, "big")
	if task.Error != nil {
		t.Logf("largest payload: %+v; traceback stored: %d bytes", largest, len(task.Error.Traceback))
	}
	maxRetry := env.tracker.Config().MaxRetry
	status := map[bool]tracker.Status{false: tracker.Failed, true: tracker.Ignored}[task.Retry == maxRetry]
	if task.Retry < 1 || task.Retry > maxRetry || task.Attempts != task.Retry || task.Status != status || string(task.Data) != data {
		t.Fatalf("big = %s, retry %d, %d attempts, %d bytes of data; want each attempt failed, ignored after %d, its data kept (run output %+v)",
			task.Status, task.Retry, task.Attempts, len(task.Data), maxRetry, out)
	}
	failure := tracker.Failure{
		Error:     fmt.Sprintf("WorkerError: task big failed on purpose with a %d-byte stack (attempt %d, retry %d)", stackBytes, task.Attempts, task.Retry-1),
		Traceback: bigStack(2 * tracker.MaxTracebackBytes),
	}
	if task.Error == nil || task.Error.Error != failure.Error {
		t.Fatalf("error = %+v, want %q", task.Error, failure.Error)
	}
	// What tracker.Fail stores of the worker's whole stack, on a task whose keys are as long.
	ref := strings.Repeat("r", len(job))
	if _, err := env.tracker.CreateTask(context.Background(), ref, "big", nil); err != nil {
		t.Fatal(err)
	}
	lease, err := env.tracker.Claim(context.Background(), ref, "big", "reference")
	if err != nil {
		t.Fatal(err)
	}
	want, err := env.tracker.Fail(context.Background(), *lease, failure)
	if err != nil {
		t.Fatal(err)
	}
	if got := task.Error.Traceback; got != want.Error.Traceback || len(got) > tracker.MaxTracebackBytes || !strings.HasSuffix(got, "[truncated]") {
		t.Errorf("traceback of %d bytes, %q … %q; want the tracker's cut of the worker's stack, %d bytes, %q … %q",
			len(got), head(got), tail(got), len(want.Error.Traceback), head(want.Error.Traceback), tail(want.Error.Traceback))
	}
}

// bigStack is the example worker's {"fail_big": N} stack as the fail function renders a Go
// stack (one "path:line label" line a frame): frame i is {"path": "/var/task/fail_big.go",
// "line": i, "label": "main.深{i, six digits}.層層…" (40 of them)}, from 1. It returns its
// first frames, up to at least n bytes.
func bigStack(n int) string {
	var b strings.Builder
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "/var/task/fail_big.go:%d main.深%06d.%s\n", i, i, strings.Repeat("層", 40))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func head(s string) string { return s[:min(len(s), 60)] }
func tail(s string) string { return s[max(0, len(s)-60):] }
