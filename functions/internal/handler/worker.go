package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
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
//
// A failure has errorType WorkerError. The result, which replaces the task's data, is
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
