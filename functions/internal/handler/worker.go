package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
)

// Worker is the example-worker function, a small worker for demos and tests: it succeeds or
// fails on demand from the task's data, so a state machine run can show every path.
//
// Its event is the claim function's result (contract.ClaimOutput). It reads the task data:
//
//	{"fail_times": N}     fail while the task's retry counter (lease.retry) is below N, then succeed
//	{"always_fail": true} always fail
//	{"sleep_ms": M}       work for M milliseconds first
//	{"echo": true}        return the task's data as the result
//	{"return": V}         return V as it is (any JSON: shows what a wrong output does)
//	{"panic": true}       panic
//	{"fail_big": N}       always fail, with a stack trace of about N bytes (its frames' JSON)
//	{"fail_as": "T"}      always fail with errorType T (a permanent one, say: NotFoundPermanentError)
//
// A failure has errorType WorkerError, unless fail_as names another. The stack of fail_big has the Go runtime's form
// (frames {"path", "line", "label"}; frame i is /var/task/fail_big.go, line i, labelled
// "main.深{i, six digits}." and 40 "層"), its labels beyond ASCII so that its bytes outgrow its
// characters: Step Functions cuts an error's Cause at 32,768 characters, and the tracker a
// traceback at tracker.MaxTracebackBytes bytes; a test sees both cuts. The result, which replaces the task's data, is
// {"task_id", "attempt", "done": true}. When EXAMPLE_WORKER_LOG names a file, every invocation
// appends one JSON line to it ({"job_id","task_id","attempt","retry","token","time"}), so
// tests can count how often each task ran, and when.
type Worker struct {
	// LogFile, when set, is the file every invocation appends its JSON line to
	// (EXAMPLE_WORKER_LOG).
	LogFile string
	// Log is where the worker logs.
	Log *slog.Logger
	mu  sync.Mutex
}

// instructions is what the example worker reads from the task data.
type instructions struct {
	FailTimes  int             `json:"fail_times"`
	AlwaysFail bool            `json:"always_fail"`
	SleepMS    int             `json:"sleep_ms"`
	Echo       bool            `json:"echo"`
	Return     json.RawMessage `json:"return"`
	Panic      bool            `json:"panic"`
	FailBig    int             `json:"fail_big"`
	FailAs     string          `json:"fail_as"`
}

// Handle does the "work" the task's data asks for.
func (w *Worker) Handle(ctx context.Context, in contract.ClaimOutput) (json.RawMessage, error) {
	log := lambdafn.With(ctx, w.Log, in.JobID, in.TaskID, "")
	if err := w.record(in); err != nil {
		return nil, messages.InvokeResponse_Error{Type: "WorkerError", Message: "record invocation: " + err.Error()}
	}
	var do instructions
	if len(in.Data) > 0 {
		if err := json.Unmarshal(in.Data, &do); err != nil {
			return nil, messages.InvokeResponse_Error{Type: "WorkerError", Message: "task data: " + err.Error()}
		}
	}
	if do.SleepMS > 0 {
		select {
		case <-time.After(time.Duration(do.SleepMS) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if do.FailBig > 0 {
		log.Info("work failed on purpose with a big stack", "attempt", in.Attempt, "retry", in.Lease.Retry, "stack_bytes", do.FailBig)
		return nil, messages.InvokeResponse_Error{Type: "WorkerError", StackTrace: bigStack(do.FailBig),
			Message: fmt.Sprintf("task %s failed on purpose with a %d-byte stack (attempt %d, retry %d)", in.TaskID, do.FailBig, in.Attempt, in.Lease.Retry)}
	}
	if do.FailAs != "" {
		log.Info("work failed on purpose", "attempt", in.Attempt, "retry", in.Lease.Retry, "error_type", do.FailAs)
		return nil, messages.InvokeResponse_Error{Type: do.FailAs,
			Message: fmt.Sprintf("task %s failed on purpose as %s (attempt %d, retry %d)", in.TaskID, do.FailAs, in.Attempt, in.Lease.Retry)}
	}
	if do.AlwaysFail || in.Lease.Retry < do.FailTimes {
		log.Info("work failed on purpose", "attempt", in.Attempt, "retry", in.Lease.Retry)
		return nil, messages.InvokeResponse_Error{Type: "WorkerError",
			Message: fmt.Sprintf("task %s failed on purpose (attempt %d, retry %d)", in.TaskID, in.Attempt, in.Lease.Retry)}
	}
	switch {
	case do.Panic:
		panic(fmt.Sprintf("task %s panicked on purpose", in.TaskID))
	case do.Return != nil:
		return do.Return, nil
	case do.Echo:
		return in.Data, nil
	}
	log.Info("work done", "attempt", in.Attempt)
	return json.Marshal(map[string]any{"task_id": in.TaskID, "attempt": in.Attempt, "done": true})
}

func (w *Worker) record(in contract.ClaimOutput) error {
	if w.LogFile == "" {
		return nil
	}
	line, _ := json.Marshal(map[string]any{"job_id": in.JobID, "task_id": in.TaskID, "attempt": in.Attempt, "retry": in.Lease.Retry, "token": in.Lease.Token,
		"time": time.Now().UTC().Format(time.RFC3339Nano)})
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := os.OpenFile(w.LogFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(line, '\n'))
	return err
}

// bigStack returns the frames of a stack trace whose JSON is about n bytes (at least n, at
// most a frame more): see {"fail_big": N}.
func bigStack(n int) []*messages.InvokeResponse_Error_StackFrame {
	var frames []*messages.InvokeResponse_Error_StackFrame
	size := len("[]")
	for i := 1; size < n; i++ {
		f := &messages.InvokeResponse_Error_StackFrame{Path: "/var/task/fail_big.go", Line: int32(i),
			Label: fmt.Sprintf("main.深%06d.%s", i, strings.Repeat("層", 40))}
		b, _ := json.Marshal(f) // strings and a number: it cannot fail
		size += len(b) + 1      // and a comma
		frames = append(frames, f)
	}
	return frames
}
