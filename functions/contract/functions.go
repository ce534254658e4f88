package contract

import "time"

// Function is one Lambda function of the pipeline: what the Makefile builds, the local stack
// serves and the CDK construct deploys. A new function is its handler (functions/<Name>/),
// its line in Functions and its fixtures.
type Function struct {
	// Name is the function's folder under functions/, its binary build/<Name>/bootstrap and
	// its name on the local stack.
	Name string
	// ArnPlaceholder is the definition substitution (${ArnPlaceholder} in
	// statemachine.asl.json) that takes the function's ARN.
	ArnPlaceholder string
	// Description is the deployed function's description.
	Description string
	// MemoryMB is the deployed function's memory (arm64). On Lambda, memory also buys CPU
	// share, which shortens a cold start (configuration, TLS to DynamoDB): the tracker's
	// functions get 256 MB rather than the 128 MB minimum.
	MemoryMB int
	// Timeout is the deployed function's timeout.
	Timeout time.Duration
	// PerTask is true for the functions every task calls (claim, complete, fail): they share
	// the construct's ReservedConcurrency.Steps; the others take ReservedConcurrency.ListPending.
	PerTask bool
}

// The functions of the pipeline. WorkerFunction is the state machine's Work step: the example
// worker unless the deployment gives its own.
var (
	// ListPendingFunction checks a run's input, plans its passes and counts the job's
	// tasks per status with COUNT queries, whose pages grow with the job (about one per few
	// thousand tasks): a minute covers jobs of millions of tasks.
	ListPendingFunction = Function{Name: "list-pending", ArnPlaceholder: "ListPendingFunctionArn",
		Description: "dynamodb-tracker: check a run, plan its lanes and count a job's tasks per status", MemoryMB: 256, Timeout: time.Minute}
	// ClaimFunction, CompleteFunction and FailFunction each make a listing and a
	// conditional UpdateItem or less (tens of milliseconds). Ten seconds leaves room for a
	// cold start and the SDK's own retries; beyond that the state machine retries the step.
	ClaimFunction = Function{Name: "claim", ArnPlaceholder: "ClaimFunctionArn",
		Description: "dynamodb-tracker: take the lease on a task", MemoryMB: 256, Timeout: 10 * time.Second, PerTask: true}
	CompleteFunction = Function{Name: "complete", ArnPlaceholder: "CompleteFunctionArn",
		Description: "dynamodb-tracker: mark a leased task succeeded", MemoryMB: 256, Timeout: 10 * time.Second, PerTask: true}
	FailFunction = Function{Name: "fail", ArnPlaceholder: "FailFunctionArn",
		Description: "dynamodb-tracker: record a leased task's failure", MemoryMB: 256, Timeout: 10 * time.Second, PerTask: true}
	// WorkerFunction makes no AWS call and only sleeps as long as its task data asks: the
	// minimum memory; its timeout is Settings.WorkerTimeout.
	WorkerFunction = Function{Name: "example-worker", ArnPlaceholder: "WorkerFunctionArn",
		Description: "dynamodb-tracker: example worker (succeeds or fails as the task data says)", MemoryMB: 128, Timeout: DefaultWorkerTimeout}
)

// Functions returns the roster, in a slice of the caller's own: every function the Makefile
// builds (functions/*/), the local stack serves and the CDK construct deploys, in the order
// of the definition's substitutions.
func Functions() []Function {
	return []Function{ListPendingFunction, ClaimFunction, CompleteFunction, FailFunction, WorkerFunction}
}

// ChildExecutionTypePlaceholder is the definition substitution of the Distributed Map's
// child execution type (EXPRESS or STANDARD).
const ChildExecutionTypePlaceholder = "ChildExecutionType"
