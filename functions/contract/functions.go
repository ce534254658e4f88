package contract

// Function is one Lambda function of the pipeline.
type Function struct {
	// Name is the function's folder under functions/, its binary build/<Name>/bootstrap and
	// its name on the local stack.
	Name string
	// ArnPlaceholder is the definition substitution (${ArnPlaceholder} in
	// statemachine.asl.json) that takes the function's ARN.
	ArnPlaceholder string
}

// The functions of the pipeline. WorkerFunction is the state machine's Work step: the example
// worker unless the deployment gives its own.
var (
	ListPendingFunction = Function{Name: "list-pending", ArnPlaceholder: "ListPendingFunctionArn"}
	ClaimFunction       = Function{Name: "claim", ArnPlaceholder: "ClaimFunctionArn"}
	CompleteFunction    = Function{Name: "complete", ArnPlaceholder: "CompleteFunctionArn"}
	FailFunction        = Function{Name: "fail", ArnPlaceholder: "FailFunctionArn"}
	WorkerFunction      = Function{Name: "example-worker", ArnPlaceholder: "WorkerFunctionArn"}
)

// Functions is the roster: every function the Makefile builds (functions/*/), the local stack
// serves and the CDK construct deploys, in the order of the definition's substitutions.
var Functions = []Function{ListPendingFunction, ClaimFunction, CompleteFunction, FailFunction, WorkerFunction}

// ChildExecutionTypePlaceholder is the definition substitution of the Distributed Map's
// child execution type (EXPRESS or STANDARD).
const ChildExecutionTypePlaceholder = "ChildExecutionType"
