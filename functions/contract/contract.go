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
//     failure. Every failure is fingerprinted (package fingerprint) from its errorType,
//     message and stack, so that the tasks that fail one way form a group.
//   - Permanent errors: an errorType that ends with PermanentErrorSuffix ("PermanentError",
//     "NotFoundPermanentError"), or that the settings list (TRACKER_PERMANENT_ERRORS), says
//     that no retry can help: the task is ignored at once, the error recorded.
//   - The lease lasts the tracker's lease duration; the worker's timeout must be shorter.
package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ListPendingInput is the event of the list-pending function, which steers a job's run:
// exactly one of Run (an execution's input, to check), Plan (what the run does next) and End
// (the run is over: its counts).
type ListPendingInput struct {
	Run *RunInput `json:"run,omitempty"`
	// Execution is the execution that sends Run: it takes the job's run lease.
	Execution string     `json:"execution,omitempty"`
	Plan      *PlanInput `json:"plan,omitempty"`
	End       *EndInput  `json:"end,omitempty"`
}

// Limits of a run. The byte limits keep every state of the state machine under Step
// Functions' 262,144-byte payload limit whatever the ids: see the budget test in
// internal/localstack.
const (
	// DefaultConcurrency is how many tasks a run works at once (its loops over all lanes)
	// unless the input or the settings say otherwise; MaxConcurrency is the most.
	DefaultConcurrency = 200
	MaxConcurrency     = MaxLanes * MaxLoops
	// MaxLoops is the most loops a lane runs at once: GroupsPerLane groups side by side
	// (the Groups Map's iterations), each an inline Map of at most MapLoops loops (an inline
	// Map's concurrency). An Express lane bills its whole life whatever runs in it, so the
	// more loops share it, the less each task pays.
	MaxLoops      = GroupsPerLane * MapLoops
	MapLoops      = 40
	GroupsPerLane = 3
	// MaxLanes is the most lanes (child executions) a pass runs at once: a Distributed Map's.
	MaxLanes = 10000
	// SlotsPerLane is how many lane slots a pass has per lane it runs at once: a lane ends
	// within its budget, a slot's next lane starts, and a slot that finds nothing due ends at
	// once; MaxSlots bounds a pass's slots (its items are in the parent's state).
	SlotsPerLane = 32
	MaxSlots     = 10000
	// DefaultMaxRounds is how many rounds (passes of lanes over the job's due tasks) a run
	// runs over its executions before it ends, so that no run goes on forever (a worker
	// throttled without end, say): what is left is the sweep's. A pass lasts at least
	// SlotsPerLane lane budgets (hours, for a big job), and a round follows each wait for
	// failed tasks. MaxRounds is the most an input may ask.
	DefaultMaxRounds = 25
	MaxRounds        = 1000
	// DefaultMaxSteps is how many steps (passes and waits) one parent execution takes before
	// it continues as a new execution; MaxSteps is the most the history budget allows.
	DefaultMaxSteps = 400
	MaxSteps        = 500
	// MaxTaskIDs bounds an explicit list of task ids, and MaxJobIDs a sweep's jobs.
	MaxTaskIDs = 100
	MaxJobIDs  = 500
	// MaxInputBytes bounds an execution's input.
	MaxInputBytes = 96 * 1024
	// ExpressBudget is how long an Express lane may run (Step Functions ends an Express
	// execution at 5 minutes); LaneMargin is what a loop keeps free of it after a task's
	// worker timeout, for the task's completion and its retries: a loop claims a task only
	// while its worker timeout and the margin fit in what is left of the lane's budget.
	ExpressBudget = 300
	LaneMargin    = 30
	// StandardHistory is a Standard execution's history limit, and StandardEventsPerTask
	// what one task adds to a Standard lane's history at worst (every retrier used up, the
	// longest path): the budget test in internal/localstack holds it to the definition.
	StandardHistory       = 25000
	StandardEventsPerTask = 130
	// StandardLaneEvents is what a Standard lane's own states (its start, the Map, its end)
	// add at worst, and StandardLoopEvents what each loop adds beside its tasks (its
	// iteration and its last claim, which finds nothing).
	StandardLaneEvents = 100
	StandardLoopEvents = 40
)

// LaneBudget is the budget of the lane in slot of a pass that runs lanes at once, in
// seconds: budget is the lanes' (0: none, a Standard lane) and reserve what a loop keeps free
// of it when it claims (the worker's timeout and LaneMargin). A pass starts its first lanes
// together, and lanes that start together end together: their loops stop claiming at the
// same point of their budget, so the worker's concurrency is oversubscribed while they work
// (its throttles retried, each an ERROR event in the state machine's log) and idle while they
// wait for their slowest loops. So the first generation (slot < lanes) spreads its ends: slot
// i's claiming window (the budget less the reserve) is shorter by i/lanes of itself, and the
// lanes that follow in those slots start spread over a window. Later lanes take the whole
// budget.
func LaneBudget(budget, reserve, slot, lanes int) int {
	window := budget - reserve
	if budget <= 0 || window <= 0 || slot >= lanes {
		return budget
	}
	return budget - window*slot/lanes
}

// StandardLaneTasks is how many tasks each of a Standard lane's loops may claim so that
// the lane's history stays within StandardHistory.
func StandardLaneTasks(loops int) int {
	loops = max(loops, 1)
	return max(1, (StandardHistory-StandardLaneEvents-loops*StandardLoopEvents)/(loops*StandardEventsPerTask))
}

// RunInput is the state machine's execution input: one job ({"job_id": ...}), or a sweep
// ({"job_ids": [...]} or {"all_jobs": true}) that starts one execution per job. Zero values
// take the defaults the list-pending function is configured with.
type RunInput struct {
	JobID  string   `json:"job_id,omitempty"`
	JobIDs []string `json:"job_ids,omitempty"`
	// AllJobs sweeps every registered job (tracker.Jobs) that has pending tasks and no live
	// run, the least recently run first, at most MaxJobIDs of them.
	AllJobs bool `json:"all_jobs,omitempty"`
	// TaskIDs runs only these tasks of the job (1 to MaxTaskIDs, each once). Each must exist:
	// a run naming one that does not fails with TaskNotFound before anything is written.
	TaskIDs []string `json:"task_ids,omitempty"`
	// Concurrency is how many tasks run at once (0: the settings' default): that many loops,
	// in lanes of at most MaxLoops.
	Concurrency int `json:"concurrency,omitempty"`
	// MaxRounds bounds the run's rounds (passes of lanes), over its executions.
	MaxRounds int `json:"max_rounds,omitempty"`
	// MaxSteps is how many steps (passes, waits) an execution takes before it continues as a
	// new one.
	MaxSteps int `json:"max_steps,omitempty"`
	// Resume is set by the state machine itself when it continues as a new execution.
	Resume *Progress `json:"resume,omitempty"`
	// StartedBy is the execution that started this one (continue-as-new, a sweep): the field
	// Step Functions reads to link the two in its console.
	StartedBy string `json:"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID,omitempty"`
	// Bulk makes the execution a bulk action on the job (BulkInput) instead of a run of its
	// tasks; MaxSteps then bounds its steps per execution. It goes with job_id alone.
	Bulk *BulkInput `json:"bulk,omitempty"`
}

// Run is a checked RunInput with every default filled in.
type Run struct {
	JobID string `json:"job_id"`
	Sweep bool   `json:"sweep"`
	// Starts are a sweep's executions to start, one per job, each under a name of its own;
	// Live the jobs it leaves alone because a run holds them.
	Starts []JobStart `json:"starts"`
	Live   []string   `json:"live"`
	// TaskIDs are the tasks a run of named tasks runs.
	TaskIDs []string `json:"task_ids"`
	// Concurrency is how many tasks the run works at once: Lanes lanes of Loops loops.
	Concurrency int `json:"concurrency"`
	Lanes       int `json:"lanes"`
	Loops       int `json:"loops"`
	MaxRounds   int `json:"max_rounds"`
	MaxSteps    int `json:"max_steps"`
	// WorkTimeout is the Work state's TimeoutSeconds: the worker function's timeout.
	WorkTimeout int `json:"work_timeout"`
	// Lease is the run's lease on its job (nil when another run holds the job: Holder says
	// which).
	Lease  *tracker.RunLease `json:"lease"`
	Holder string            `json:"holder,omitempty"`
	// Bulk is a bulk action's state (RunInput.Bulk); absent for a run of tasks.
	Bulk *BulkState `json:"bulk,omitempty"`
}

// nameChars are the characters an execution name keeps of a job id.
var nameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// ExecutionName is the name of an execution that from starts for job (a sweep's start of
// it, or a continue-as-new), why telling which: the job id's first characters that a name
// may hold, for a reader, and a hash of the job, the starting execution and why, so that the
// name is the same when the start is retried and differs for every other start. Step
// Functions allows 80 characters of A-Z a-z 0-9 - _.
func ExecutionName(job, from, why string) string {
	sum := sha256.Sum256([]byte(job + "\x00" + from + "\x00" + why))
	prefix := strings.Trim(nameChars.ReplaceAllString(job, "-"), "-")
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	if prefix == "" {
		prefix = "job"
	}
	return prefix + "-" + hex.EncodeToString(sum[:12])
}

// JobStart is one execution a sweep starts: its job and its name, derived from the sweep's
// execution and the job so that a start retried after a lost answer starts nothing twice.
type JobStart struct {
	JobID string `json:"job_id"`
	Name  string `json:"name"`
}

// Progress is how far a run has come, carried from one execution to the next.
type Progress struct {
	// Rounds counts the rounds (passes of lanes) the run ran, Waits its waits for failed
	// tasks to come due, over its executions.
	Rounds int `json:"rounds"`
	Waits  int `json:"waits"`
	// Executions counts the executions before this one.
	Executions int `json:"executions"`
	// Steps counts this execution's rounds and waits (not carried over).
	Steps int `json:"steps"`
	// Lease is the run's lease on its job, handed to the next execution.
	Lease *tracker.RunLease `json:"lease,omitempty"`
}

// RunState is the parent execution's state after CheckInput: the checked run, and the plan
// so far (its counters), which the Plan step reads.
type RunState struct {
	Run  Run  `json:"run"`
	Plan Plan `json:"plan"`
}

// PlanInput asks list-pending what the run does next.
type PlanInput struct {
	Run Run      `json:"run"`
	N   Progress `json:"n"`
	// Execution and Machine are the parent execution's and its state machine's ARNs.
	Execution string `json:"execution"`
	Machine   string `json:"machine"`
}

// Plan actions.
const (
	ActionLanes      = "lanes"      // run a pass of lanes
	ActionWait       = "wait"       // wait until WaitUntil: a failed task comes due then
	ActionHandover   = "handover"   // continue as a new execution (Handover)
	ActionSuperseded = "superseded" // another run holds the job: end
	ActionDone       = "done"       // nothing is due and nothing waits: count and end
)

// Plan is what the run does next (Action) and the counters after it.
type Plan struct {
	Action string   `json:"action"`
	N      Progress `json:"n"`
	// Slots are a pass's lane slots, Lanes how many run at once, and Lane what each lane
	// gets (ActionLanes).
	Slots []int    `json:"slots,omitempty"`
	Lanes int      `json:"lanes,omitempty"`
	Lane  *LaneRun `json:"lane,omitempty"`
	// WaitUntil is when the next failed task is due, RFC 3339 in whole seconds rounded up
	// (ActionWait).
	WaitUntil string `json:"wait_until,omitempty"`
	// Handover is the execution to continue as (ActionHandover).
	Handover *Handover `json:"handover,omitempty"`
	// Holder is the run that holds the job (ActionSuperseded).
	Holder string `json:"holder,omitempty"`
}

// Handover is the execution a run continues as: its name (derived from this execution's, so
// that a retried start starts nothing twice), its ARN and its input.
type Handover struct {
	Name  string   `json:"name"`
	Arn   string   `json:"arn"`
	Input RunInput `json:"input"`
}

// LaneRun is what every lane of a pass gets: who runs it, the run's lease token, and the
// lanes' shape and budget.
type LaneRun struct {
	// Owner is the parent execution (the lock owner of every claim); Token the run's lease.
	Owner string `json:"owner"`
	Token string `json:"token"`
	// Pass numbers the pass (the run's round); Lanes and Loops are the run's lanes at once and loops a lane.
	Pass  int `json:"pass"`
	Lanes int `json:"lanes"`
	Loops int `json:"loops"`
	// TaskIDs are the tasks of a run of named tasks: one loop each.
	TaskIDs []string `json:"task_ids,omitempty"`
	// WorkTimeout is the worker's timeout, Budget how long a lane may run (0: no limit,
	// for Standard lanes) and MaxTasks how many tasks a loop may claim (0: no limit; a
	// Standard lane's history budget bounds it), in seconds.
	WorkTimeout int `json:"work_timeout"`
	Budget      int `json:"budget"`
	MaxTasks    int `json:"max_tasks"`
}

// LaneInput is the claim function's event at a lane's start.
type LaneInput struct {
	JobID string  `json:"job_id"`
	Slot  int     `json:"slot"`
	Run   LaneRun `json:"run"`
}

// LaneOutput is a lane's start: whether it has anything to do, its loops in groups (see
// Groups), and what each loop gets.
type LaneOutput struct {
	Go     bool         `json:"go"`
	Groups [][]LoopItem `json:"groups"`
	Lane   Lane         `json:"lane"`
}

// Groups splits a lane's loops into as few groups of at most MapLoops as hold them, their
// sizes as even as can be, in order: the lane runs each group as an inline Map, the groups
// side by side. More than MaxLoops loops make more than GroupsPerLane groups, the last of
// which wait for a group to end (a run never asks for that many).
func Groups(loops []LoopItem) [][]LoopItem {
	groups := [][]LoopItem{}
	n := (len(loops) + MapLoops - 1) / MapLoops
	for i := range n {
		groups = append(groups, loops[len(loops)*i/n:len(loops)*(i+1)/n])
	}
	return groups
}

// LoopItem is one loop of a lane: its number among the lane's loops, or, in a run of named
// tasks, its task.
type LoopItem struct {
	Loop   int    `json:"loop"`
	TaskID string `json:"task_id,omitempty"`
}

// Lane is what a loop knows of its lane: its slot, the run's lanes at once and loops a lane,
// when it started (its budget counts from then), the budget and the worker's timeout.
type Lane struct {
	Slot        int       `json:"slot"`
	Lanes       int       `json:"lanes"`
	Loops       int       `json:"loops"`
	Started     time.Time `json:"started"`
	Budget      int       `json:"budget"`
	MaxTasks    int       `json:"max_tasks"`
	WorkTimeout int       `json:"work_timeout"`
}

// NextInput is the claim function's event in a loop: claim the loop's next task.
type NextInput struct {
	JobID string   `json:"job_id"`
	Item  LoopItem `json:"item"`
	// At is where the loop stands ({} at its start).
	At          tracker.Position `json:"at"`
	Lane        Lane             `json:"lane"`
	ExecutionID string           `json:"execution_id,omitempty"`
}

// Why a loop ends (NextOutput.Why).
const (
	WhyDone   = "done"   // nothing is due for it
	WhyBudget = "budget" // the lane's budget cannot fit another task
	WhyTasks  = "tasks"  // the loop claimed its MaxTasks
	WhyBusy   = "busy"   // it listed for long and claimed nothing: the next pass goes on
)

// NextOutput is a loop's next task: Claim when Claimed, else Why the loop ends.
type NextOutput struct {
	Claimed bool             `json:"claimed"`
	Claim   *ClaimOutput     `json:"claim"`
	At      tracker.Position `json:"at"`
	Why     string           `json:"why,omitempty"`
}

// EndInput ends a run: the job's counts, and the run's lease given up.
type EndInput struct {
	Run Run `json:"run"`
}

// EndOutput is the job's counts at the end of a run, by status name.
type EndOutput struct {
	JobID  string         `json:"job_id"`
	Counts map[string]int `json:"counts"`
}

// RunOutput is the output of an execution. A job's last execution has Counts; one that
// handed over to a new execution has ContinuedAs; one that found another run holding the job
// has SupersededBy; a sweep has Swept and Live.
type RunOutput struct {
	JobID        string         `json:"job_id,omitempty"`
	Rounds       int            `json:"rounds,omitempty"`
	Waits        int            `json:"waits,omitempty"`
	Executions   int            `json:"executions,omitempty"`
	Counts       map[string]int `json:"counts,omitempty"`
	ContinuedAs  string         `json:"continued_as,omitempty"`
	SupersededBy string         `json:"superseded_by,omitempty"`
	Swept        int            `json:"swept,omitempty"`
	Live         []string       `json:"live,omitempty"`
	// Bulk is a bulk action's end: its counts, what it refused and why.
	Bulk *tracker.Bulk `json:"bulk,omitempty"`
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

// LambdaError is the error payload of a failed Lambda invocation. The Go and Python runtimes
// give its stack as stackTrace, the Node.js runtime as trace.
type LambdaError struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
	Trace        json.RawMessage `json:"trace,omitempty"`
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
	// Ignored is true when this failure used up the task's attempts, or was permanent.
	Ignored bool `json:"ignored"`
	// Permanent is true when the worker's error was permanent (Settings.IsPermanent): the
	// task was ignored at once.
	Permanent bool `json:"permanent,omitempty"`
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
	// ErrJobNotFound: a run of a job with no task (a mistyped id): nothing was written.
	ErrJobNotFound = "JobNotFound"
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

// ErrorNames returns every errorType the functions fail with, in the order above, in a slice
// of the caller's own.
func ErrorNames() []string {
	return []string{
		ErrInvalidInput, ErrTaskNotFound, ErrJobNotFound, ErrTaskLocked, ErrTaskNotDue, ErrTaskAlreadySucceeded, ErrTaskIgnored,
		ErrLeaseLost, ErrTaskWrongStatus, ErrInvalidWorkerOutput, ErrTrackerUnavailable, ErrInternal,
	}
}
