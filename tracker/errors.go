package tracker

import (
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Sentinel errors that callers branch on with errors.Is. A refused transition returns a
// *ConflictError that matches one of them and carries the task as it was. The Lambda
// functions fail with the errorType of the same name without its Err (ErrTaskLocked is
// TaskLocked, ErrLeaseLost is LeaseLost: the error names of package contract), which the
// state machine's Catch and Retry match.
var (
	// ErrInvalidInput: an id, data or setting is malformed. Nothing was written.
	ErrInvalidInput = errors.New("invalid input")
	// ErrTaskNotFound: there is no such task.
	ErrTaskNotFound = errors.New("task not found")
	// ErrJobNotFound: the job has no task (its id is mistyped, or its tasks were deleted).
	ErrJobNotFound = errors.New("job not found: it has no task")
	// ErrTaskExists: CreateTask found the task already there and left it as it was.
	ErrTaskExists = errors.New("task already exists")
	// ErrTaskLocked: another worker holds a live lease on the task.
	ErrTaskLocked = errors.New("task is locked by another worker")
	// ErrTaskNotDue: the task failed and its backoff has not run out (see Task.RetryAt).
	ErrTaskNotDue = errors.New("task is not due yet: its last failure's backoff has not run out")
	// ErrTaskAlreadySucceeded: the task has succeeded already.
	ErrTaskAlreadySucceeded = errors.New("task already succeeded")
	// ErrTaskIgnored: the task is ignored.
	ErrTaskIgnored = errors.New("task is ignored")
	// ErrLeaseLost: the caller's lease no longer holds the task: its token is no longer the
	// task's lock (the lease expired and another worker claimed the task, or an operator reset
	// it), and nothing was written. Package worker ends a handler's ctx with it too, when the
	// lease's deadline passes before an extension got through.
	ErrLeaseLost = errors.New("lease lost: this lease no longer holds the task")
	// ErrTaskWrongStatus: the task is not in a status the transition starts from.
	ErrTaskWrongStatus = errors.New("task is not in a status this transition starts from")
	// ErrInvalidWorkerOutput: a worker's result cannot be the task's data (a
	// *WorkerOutputError from CheckResult says why). The attempt is recorded as failed.
	ErrInvalidWorkerOutput = errors.New("invalid worker output: the result cannot be the task's data")
)

// InvalidWorkerOutput is the error name of an attempt whose worker returned a result that
// cannot be the task's data (not a JSON object or null, say): the state machine (the
// errorType of package contract) and package worker record such an attempt as failed, with
// an error that reads "InvalidWorkerOutput: " and what was wrong.
const InvalidWorkerOutput = "InvalidWorkerOutput"

// ValidationError says which input is malformed and why. It matches ErrInvalidInput.
type ValidationError struct {
	Field  string // job_id, task_id, data, status, ...
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidInput.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// ConflictError is a transition refused by its condition. It unwraps to the sentinel that
// says why (ErrTaskNotFound, ErrTaskLocked, ErrTaskAlreadySucceeded, ErrTaskIgnored, ErrLeaseLost,
// ErrTaskWrongStatus, ErrTaskExists) and holds the task as DynamoDB saw it when it refused the
// write, so no second read is needed.
type ConflictError struct {
	Op     string // claim, complete, fail, extend, retry, ignore, create
	JobID  string
	TaskID string
	Reason error // one of the sentinels
	// Task is the task when the write was refused; nil when it does not exist.
	Task *Task
	// LockExpires is when the holder's lease may be taken over (its end plus the clock skew
	// allowance), for ErrTaskLocked.
	LockExpires time.Time
}

func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("%s %s/%s: %v", e.Op, e.JobID, e.TaskID, e.Reason)
	if errors.Is(e.Reason, ErrTaskLocked) && e.Task != nil {
		owner := e.Task.LockOwner
		if owner == "" {
			owner = "an unnamed worker"
		}
		msg += fmt.Sprintf(" (held by %s until %s)", owner, e.LockExpires.UTC().Format(time.RFC3339))
	} else if errors.Is(e.Reason, ErrTaskNotDue) && e.Task != nil {
		msg += fmt.Sprintf(" (due at %s)", e.Task.RetryAt.UTC().Format(time.RFC3339))
	} else if errors.Is(e.Reason, ErrTaskWrongStatus) && e.Task != nil {
		msg += fmt.Sprintf(" (status %s)", e.Task.Status)
	}
	return msg
}

// Unwrap returns the sentinel that says why the transition was refused.
func (e *ConflictError) Unwrap() error { return e.Reason }

// IsTransient reports whether err is worth retrying as it is: throttling, a DynamoDB
// service error or a network failure that the SDK's own retries did not outlast. Refusals
// and invalid input are never transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var ce *ConflictError
	var ve *ValidationError
	if errors.As(err, &ce) || errors.As(err, &ve) {
		return false
	}
	if errors.Is(err, errUnprocessed) {
		return true
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

var errUnprocessed = errors.New("DynamoDB left items unprocessed after every retry")
