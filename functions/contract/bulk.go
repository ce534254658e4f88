package contract

import (
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// A bulk action (tracker.Bulk: retry or ignore every task of a failure group, an error text
// or statuses) runs as an execution of the state machine: its input is a job's with a bulk
// member,
//
//	{"job_id": "parse-json", "bulk": {"action": "retry", "fingerprint": "v1:3fa9c2d41b7e"}}
//
// which CheckInput checks and starts (list-pending), and then a loop of BulkStep states, each
// a call of the claim function that lists the next tasks of the selection and applies the
// action to them (tracker.BulkStep), until the selection is done. Before the history budget
// runs out (MaxSteps steps) the execution continues as a new one, handing its progress over.
// Its output is the action's end: {"job_id", "bulk": tracker.Bulk}.

// BulkInput is RunInput.Bulk: the bulk action an execution runs on its job.
type BulkInput struct {
	// Action is retry or ignore.
	Action tracker.BulkAction `json:"action"`
	// Fingerprint, Error and Statuses select the tasks (tracker.Selection).
	Fingerprint string           `json:"fingerprint,omitempty"`
	Error       string           `json:"error,omitempty"`
	Statuses    []tracker.Status `json:"statuses,omitempty"`
	// ID names the action, whose progress the table keeps; "" means the execution's name.
	ID string `json:"id,omitempty"`
	// StepTasks is how many tasks one step handles, 1 to tracker.MaxBulkStepTasks; 0 means
	// tracker.DefaultBulkStepTasks.
	StepTasks int `json:"step_tasks,omitempty"`
	// Resume goes on with an action from its progress, as a handover hands it over or as
	// `trackerctl retry --resume` reads it from the table; the fields above must then be
	// empty but StepTasks.
	Resume *tracker.Bulk `json:"resume,omitempty"`
}

// BulkState is Run.Bulk: an action's progress in an execution and what the execution does
// next, which each BulkStep answers.
type BulkState struct {
	Progress tracker.Bulk `json:"progress"`
	// StepTasks is how many tasks a step handles; MaxSteps how many steps an execution runs
	// before it continues as a new one, and Steps how many this one ran.
	StepTasks int `json:"step_tasks"`
	MaxSteps  int `json:"max_steps"`
	Steps     int `json:"steps"`
	// Next is BulkStep, BulkHandover or BulkDone.
	Next string `json:"next"`
	// Handover is the execution to continue as (Next BulkHandover).
	Handover *Handover `json:"handover,omitempty"`
}

// What a bulk action's execution does next (BulkState.Next).
const (
	BulkStep     = "step"     // another step
	BulkHandover = "handover" // continue as a new execution
	BulkDone     = "done"     // the selection is done: end
)

// BulkStepInput is the claim function's event in a bulk action's loop: its state, and the
// execution and state machine running it (for the handover's name and ARN).
type BulkStepInput struct {
	State     BulkState `json:"state"`
	Execution string    `json:"execution"`
	Machine   string    `json:"machine"`
}
