// Package contract defines the JSON that the tracker's Lambda functions take and return, and
// the error names they fail with, so that Step Functions can wire them with plain JSONPath and
// match their errors by name.
//
// # The worker contract
//
// The worker is any Lambda function the state machine's Work step invokes, once per claimed
// task, under the task's lease:
//
//   - Input: ClaimOutput, the claim's result: job_id, task_id, data (the task's JSON object,
//     {} when it has none), attempt (this claim's number, from 1), the lease (lease.retry:
//     failed attempts so far, lease.expires: when it runs out; the worker passes nothing on)
//     and work_timeout.
//   - Output: a JSON object, which replaces the task's data as its result, byte for byte after
//     JSON normalisation; or null, which keeps the data. Anything else (a string, a number, an
//     array, a boolean) is recorded as a failed attempt with errorType InvalidWorkerOutput.
//   - Errors: fail the invocation (in Go, return an error; messages.InvokeResponse_Error names
//     its errorType). Any error, a timeout (Work's TimeoutSeconds is the worker's timeout) and
//     a crash are failed attempts: the task waits out its backoff and runs again in a later
//     round, until MaxRetry failures ignore it. Lambda throttling and service errors are
//     retried by the step, and past those retries the task is handed back without counting a
//     failure.
//   - The lease lasts the tracker's lease duration; the worker's timeout must be shorter.
package contract

import (
	"encoding/json"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ListPendingInput is the event of the list-pending function. It has three modes: with Run
// it checks an execution's input; with Counts it counts the job's tasks per status; otherwise
// it lists a page of the job's task ids, in batches.
type ListPendingInput struct {
	JobID string `json:"job_id"`
	// Statuses to list; empty means pending: todo, failed and due, and in progress with an
	// expired lease.
	Statuses []tracker.Status `json:"statuses,omitempty"`
	// TaskIDs lists only these tasks (at most MaxTaskIDs), those of them that are pending.
	TaskIDs []string `json:"task_ids,omitempty"`
	// Limit is the most task ids returned; 0 means 100, at most 1000. A page is also cut
	// where its encoded ids would pass MaxPageBytes.
	Limit int `json:"limit,omitempty"`
	// BatchSize is the most ids in one batch; 0 means DefaultBatchSize, at most MaxBatchSize.
	BatchSize int `json:"batch_size,omitempty"`
	// Cursor resumes after a previous call's page.
	Cursor string `json:"cursor,omitempty"`
	// MaxTasks caps how many task ids one run lists over all its pages; 0 means no cap.
	// With Listed it lets a state machine loop over pages within a total limit.
	MaxTasks int `json:"max_tasks,omitempty"`
	// Listed is how many task ids the run listed before this page (the previous Listed).
	Listed int `json:"listed,omitempty"`
	// Counts asks for the job's counts per status instead of a page.
	Counts bool `json:"counts,omitempty"`
	// Due asks only when the job's (or TaskIDs') waiting failed tasks are due: NextDue and
	// AllDue, no page.
	Due bool `json:"due,omitempty"`
	// Run asks to check an execution's input and answer its RunState.
	Run *RunInput `json:"run,omitempty"`
}

// ListPendingOutput is the result of list-pending.
type ListPendingOutput struct {
	JobID string `json:"job_id"`
	// Batches are the page's task ids, ordered by task id, in batches of at most BatchSize
	// ids: a Distributed Map runs one child execution per batch.
	Batches [][]string `json:"batches"`
	// Cursor resumes after this page; empty when HasMore is false.
	Cursor string `json:"cursor"`
	// HasMore is true when a next page may hold tasks and MaxTasks is not reached.
	HasMore bool `json:"has_more"`
	// Listed is how many task ids the run has listed, this page included.
	Listed int `json:"listed"`
	// NextDue is, on the last page (HasMore false), the earliest time a failed task that is
	// not due yet may run, in RFC 3339 (whole seconds, rounded up); empty when none waits.
	NextDue string `json:"next_due,omitempty"`
	// AllDue is, with NextDue, when the last of those tasks is due: a new round waits for it,
	// so that it gives every task that failed in the round before its next attempt.
	AllDue string `json:"all_due,omitempty"`
	// Counts holds how many tasks of the job are in each status, by status name; only when
	// the event asked for Counts.
	Counts map[string]int `json:"counts,omitempty"`
}

// Limits of list-pending's pages and of a run's input. The byte limits keep every state of
// the state machine under Step Functions' 262,144-byte payload limit whatever the ids: see
// the budget test in internal/localstack.
const (
	DefaultPageSize    = 500
	DefaultBatchSize   = 20
	MaxBatchSize       = 100
	DefaultConcurrency = 10
	MaxConcurrency     = 1000
	MaxRounds          = 50
	// DefaultMaxSteps is how many pages (or waits) one parent execution lists before it
	// continues as a new execution; MaxSteps is the most the history budget allows.
	DefaultMaxSteps = 400
	MaxSteps        = 500
	// MaxTaskIDs bounds an explicit list of task ids, and MaxJobIDs a sweep's jobs.
	MaxTaskIDs = 100
	MaxJobIDs  = 500
	// MaxPageBytes bounds a page's ids as encoded JSON; MaxInputBytes an execution's input.
	MaxPageBytes  = 96 * 1024
	MaxInputBytes = 96 * 1024
)

// RunInput is the state machine's execution input: one job ({"job_id": ...}), or a sweep
// ({"job_ids": [...]}) that starts one execution per job. Zero values take the defaults the
// list-pending function is configured with.
type RunInput struct {
	JobID  string   `json:"job_id,omitempty"`
	JobIDs []string `json:"job_ids,omitempty"`
	// AllJobs sweeps every registered job (tracker.Jobs) that has pending tasks, the least
	// recently run first, at most MaxJobIDs of them.
	AllJobs bool `json:"all_jobs,omitempty"`
	// TaskIDs runs only these tasks of the job (at most MaxTaskIDs). Each must exist: a run
	// naming one that does not fails with TaskNotFound before anything is written.
	TaskIDs []string `json:"task_ids,omitempty"`
	// Limit caps how many task ids the run lists over all its pages and rounds (a retried
	// task counts again); 0 means no cap.
	Limit       int `json:"limit,omitempty"`
	PageSize    int `json:"page_size,omitempty"`
	BatchSize   int `json:"batch_size,omitempty"`
	Concurrency int `json:"concurrency,omitempty"`
	// MaxRounds bounds the passes over the job's pending tasks; 0 means the tracker's
	// MaxRetry, enough for a task that always fails to use up its attempts.
	MaxRounds int `json:"max_rounds,omitempty"`
	// MaxSteps is how many pages an execution lists before it continues as a new one.
	MaxSteps int `json:"max_steps,omitempty"`
	// Resume is set by the state machine itself when it continues as a new execution.
	Resume *Progress `json:"resume,omitempty"`
	// StartedBy is the execution that started this one (continue-as-new, a sweep): the field
	// Step Functions reads to link the two in its console.
	StartedBy string `json:"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID,omitempty"`
}

// Run is a checked RunInput with every default filled in.
type Run struct {
	JobID   string   `json:"job_id"`
	JobIDs  []string `json:"job_ids"`
	Sweep   bool     `json:"sweep"`
	TaskIDs []string `json:"task_ids"`
	Limit   int      `json:"limit"`
	// PageSize, BatchSize, Concurrency, MaxRounds, MaxSteps: see RunInput.
	PageSize    int `json:"page_size"`
	BatchSize   int `json:"batch_size"`
	Concurrency int `json:"concurrency"`
	MaxRounds   int `json:"max_rounds"`
	MaxSteps    int `json:"max_steps"`
	// WorkTimeout is the Work state's TimeoutSeconds: the worker function's timeout.
	WorkTimeout int `json:"work_timeout"`
}

// Progress is how far a run has come, carried from one execution to the next.
type Progress struct {
	// Round numbers the current pass over the job's pending tasks, from 1.
	Round int `json:"round"`
	// Pages and Listed count the pages and task ids the run listed, over its executions.
	Pages  int `json:"pages"`
	Listed int `json:"listed"`
	// Executions counts the executions before this one.
	Executions int `json:"executions"`
	// Steps counts this execution's pages and waits (not carried over).
	Steps int `json:"steps"`
	// Cursor is where the current pass resumes (carried over; kept at the state's top level
	// while an execution runs).
	Cursor string `json:"cursor,omitempty"`
}

// RunState is the parent execution's state between steps: list-pending's answer to a Run.
type RunState struct {
	Run Run      `json:"run"`
	N   Progress `json:"n"`
	// At is where the current pass is.
	At Position `json:"at"`
}

// Position is where a pass over a job's pending tasks is: the cursor of its next page, ""
// at its start. (An object, as a Pass state cannot set a bare empty string.)
type Position struct {
	Cursor string `json:"cursor"`
}

// RunOutput is the output of an execution. A job's last execution has Counts; one that
// handed over to a new execution has ContinuedAs; a sweep has Swept.
type RunOutput struct {
	JobID       string         `json:"job_id,omitempty"`
	Rounds      int            `json:"rounds,omitempty"`
	Pages       int            `json:"pages,omitempty"`
	Listed      int            `json:"listed,omitempty"`
	Executions  int            `json:"executions,omitempty"`
	Counts      map[string]int `json:"counts,omitempty"`
	ContinuedAs string         `json:"continued_as,omitempty"`
	Swept       int            `json:"swept,omitempty"`
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
	// Attempt numbers this claim over the task's life, from 1.
	Attempt int `json:"attempt"`
	// Lease is passed on, as it is, to complete or fail. Its retry counts the task's failed
	// attempts since the last success, and expires says when the lease runs out.
	Lease tracker.Lease `json:"lease"`
	// WorkTimeout is how long the worker may run, in seconds: the Work state's timeout
	// (TimeoutSecondsPath), the worker function's own timeout.
	WorkTimeout int `json:"work_timeout"`
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
	// Release hands the task back without counting a failure (tracker.Release): for work
	// that never ran because a function was throttled or unavailable past its retries.
	Release bool `json:"release,omitempty"`
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
	// Released is true when the task was handed back uncounted (FailInput.Release).
	Released bool `json:"released,omitempty"`
	// BackoffSeconds is how long the task waits before its next attempt (see RetryAt): it
	// doubles with every failure (5, 10, 20, ... seconds, at most 300).
	BackoffSeconds int `json:"backoff_seconds"`
	// RetryAt is when the task may run again; zero when it is not failed.
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// Error names: the errorType of every refusal, stable for Catch and Retry to match. Each is
// named after the tracker sentinel it stands for (tracker.ErrTaskLocked is TaskLocked,
// tracker.ErrLeaseLost is LeaseLost), and lambdafn.ErrorName is the one place that maps them.
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
	// ErrLeaseLost: the lease is no longer the task's lock (tracker.ErrLeaseLost: it expired
	// and another worker took the task). It is also the name of the state machine's state,
	// and of the outcome, of a task whose lease was lost.
	ErrLeaseLost = "LeaseLost"
	// ErrTaskWrongStatus: the task is in no status this step starts from.
	ErrTaskWrongStatus = "TaskWrongStatus"
	// ErrInvalidWorkerOutput: the worker returned something other than a JSON object or
	// null. Complete refuses it and the state machine records it as a failed attempt.
	ErrInvalidWorkerOutput = tracker.InvalidWorkerOutput
	// ErrTrackerUnavailable: transient (throttling, timeouts, DynamoDB unreachable); retry.
	ErrTrackerUnavailable = "TrackerUnavailable"
	// ErrInternal: anything else.
	ErrInternal = "InternalError"
)

// ErrorNames are every errorType the functions fail with, in the order above.
var ErrorNames = []string{
	ErrInvalidInput, ErrTaskNotFound, ErrTaskLocked, ErrTaskNotDue, ErrTaskAlreadySucceeded, ErrTaskIgnored,
	ErrLeaseLost, ErrTaskWrongStatus, ErrInvalidWorkerOutput, ErrTrackerUnavailable, ErrInternal,
}
