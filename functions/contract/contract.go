// Package contract defines the JSON that the tracker's Lambda functions take and return, and
// the error names they fail with, so that Step Functions can wire them with plain JSONPath and
// match their errors by name. A worker written in Go takes ClaimOutput as its input.
package contract

import (
	"encoding/json"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ListPendingInput is the event of the list-pending function.
type ListPendingInput struct {
	JobID string `json:"job_id"`
	// Statuses to list; empty means pending: todo, failed, and in progress with an expired
	// lease.
	Statuses []tracker.Status `json:"statuses,omitempty"`
	// Limit is the most task ids returned; 0 means 100, at most 1000.
	Limit int `json:"limit,omitempty"`
	// Cursor resumes after a previous call's page.
	Cursor string `json:"cursor,omitempty"`
	// MaxTasks caps how many task ids one run lists over all its pages; 0 means no cap.
	// With Listed it lets a state machine loop over pages within a total limit.
	MaxTasks int `json:"max_tasks,omitempty"`
	// Listed is how many task ids the run listed before this page (the previous Listed).
	Listed int `json:"listed,omitempty"`
}

// ListPendingOutput is the result of list-pending.
type ListPendingOutput struct {
	JobID string `json:"job_id"`
	// TaskIDs are ordered by task id; a Map state iterates over them.
	TaskIDs []string `json:"task_ids"`
	// Cursor resumes after this page; empty when HasMore is false.
	Cursor string `json:"cursor"`
	// HasMore is true when a next page may hold tasks and MaxTasks is not reached.
	HasMore bool `json:"has_more"`
	// Listed is how many task ids the run has listed, this page included.
	Listed int `json:"listed"`
	// Counts holds how many tasks of the job are in each status, by status name.
	Counts map[string]int `json:"counts"`
}

// ClaimInput is the event of the claim function.
type ClaimInput struct {
	JobID  string `json:"job_id"`
	TaskID string `json:"task_id"`
	// ExecutionID records who holds the lease (the Step Functions execution id).
	ExecutionID string `json:"execution_id,omitempty"`
}

// ClaimOutput is the result of claim, and the input of a worker.
type ClaimOutput struct {
	JobID  string          `json:"job_id"`
	TaskID string          `json:"task_id"`
	Data   json.RawMessage `json:"data"`
	// Retry counts failed attempts since the last success.
	Retry int `json:"retry"`
	// Attempt numbers this claim over the task's life, from 1.
	Attempt int `json:"attempt"`
	// Lease is passed on, as it is, to complete or fail.
	Lease        tracker.Lease `json:"lease"`
	LeaseExpires time.Time     `json:"lease_expires"`
}

// CompleteInput is the event of the complete function.
type CompleteInput struct {
	Lease *tracker.Lease `json:"lease"`
	// Result, a JSON object, replaces the task's data; absent or null keeps it.
	Result json.RawMessage `json:"result,omitempty"`
}

// TaskOutput is a task's state after complete.
type TaskOutput struct {
	JobID      string          `json:"job_id"`
	TaskID     string          `json:"task_id"`
	Status     tracker.Status  `json:"status"`
	Retry      int             `json:"retry"`
	Attempts   int             `json:"attempts"`
	Data       json.RawMessage `json:"data,omitempty"`
	UpdateTime time.Time       `json:"update_time"`
}

// StepError is an error as Step Functions hands it to a Catch: Error is the error name and
// Cause its text, which for a Lambda error is itself the JSON of a LambdaError.
type StepError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// LambdaError is the error payload of a failed Lambda invocation.
type LambdaError struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
}

// FailInput is the event of the fail function.
type FailInput struct {
	Lease *tracker.Lease `json:"lease"`
	Error *StepError     `json:"error"`
}

// FailOutput says what became of a failed task, for a Choice state.
type FailOutput struct {
	JobID  string         `json:"job_id"`
	TaskID string         `json:"task_id"`
	Status tracker.Status `json:"status"`
	Retry  int            `json:"retry"`
	// WillRetry is true when the task failed and may be claimed again.
	WillRetry bool `json:"will_retry"`
	// Ignored is true when this failure used up the task's attempts.
	Ignored bool `json:"ignored"`
	// BackoffSeconds is how long to wait before the next attempt: it doubles with every
	// failure (5, 10, 20, ... seconds, at most 300).
	BackoffSeconds int `json:"backoff_seconds"`
}

// Error names: the errorType of every refusal, stable for Catch and Retry to match.
const (
	// ErrInvalidInput: a malformed event, id or data. Nothing was written.
	ErrInvalidInput = "InvalidInput"
	// ErrTaskNotFound: no such task.
	ErrTaskNotFound = "TaskNotFound"
	// ErrTaskLocked: another worker holds a live lease.
	ErrTaskLocked = "TaskLocked"
	// ErrTaskNotDue: the task failed and its backoff has not run out.
	ErrTaskNotDue = "TaskNotDue"
	// ErrTaskAlreadySucceeded: the task succeeded already.
	ErrTaskAlreadySucceeded = "TaskAlreadySucceeded"
	// ErrTaskIgnored: the task is ignored.
	ErrTaskIgnored = "TaskIgnored"
	// ErrStaleLease: the lease is no longer the task's lock.
	ErrStaleLease = "StaleLease"
	// ErrTaskWrongStatus: the task is in no status this step starts from.
	ErrTaskWrongStatus = "TaskWrongStatus"
	// ErrTrackerUnavailable: transient (throttling, timeouts, DynamoDB unreachable); retry.
	ErrTrackerUnavailable = "TrackerUnavailable"
	// ErrInternal: anything else.
	ErrInternal = "InternalError"
)
