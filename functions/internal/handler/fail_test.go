package handler

import (
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestFailureOf(t *testing.T) {
	tests := []struct {
		name string
		in   contract.StepError
		want tracker.Failure
	}{
		{"a Go Lambda error with stack frames",
			contract.StepError{Error: "WorkerError", Cause: `{"errorMessage":"boom","errorType":"WorkerError","stackTrace":[{"path":"main.go","line":42,"label":"work"},{"path":"lambda.go","line":7,"label":"invoke"}]}`},
			tracker.Failure{Error: "WorkerError: boom", Traceback: "main.go:42 work\nlambda.go:7 invoke"}},
		{"a Python Lambda error with a list of strings",
			contract.StepError{Error: "ValueError", Cause: `{"errorMessage":"bad","errorType":"ValueError","stackTrace":["  File \"h.py\", line 3, in handler\n"]}`},
			tracker.Failure{Error: "ValueError: bad", Traceback: "  File \"h.py\", line 3, in handler\n"}},
		{"a Node.js Lambda error with its stack as trace",
			contract.StepError{Error: "NoText", Cause: `{"errorType":"NoText","errorMessage":"task t-4 has no text","trace":["NoText: task t-4 has no text","    at handler (file:///var/task/handler.mjs:22:26)"]}`},
			tracker.Failure{Error: "NoText: task t-4 has no text", Traceback: "NoText: task t-4 has no text\n    at handler (file:///var/task/handler.mjs:22:26)"}},
		{"a Step Functions error with a plain cause",
			contract.StepError{Error: "States.Timeout", Cause: "Task timed out after 30.00 seconds"},
			tracker.Failure{Error: "States.Timeout: Task timed out after 30.00 seconds"}},
		{"an error without a cause", contract.StepError{Error: "States.TaskFailed"}, tracker.Failure{Error: "States.TaskFailed"}},
		{"a JSON cause without errorType takes the Error name",
			contract.StepError{Error: "Sandbox.Timedout", Cause: `{"errorMessage":"Task timed out after 3 seconds"}`},
			tracker.Failure{Error: "Sandbox.Timedout: Task timed out after 3 seconds"}},
		{"a Go Lambda error cut inside a frame keeps its whole frames",
			contract.StepError{Error: "WorkerError", Cause: `{"errorMessage":"boom","errorType":"WorkerError","stackTrace":[{"path":"main.go","line":42,"label":"work"},{"path":"lambda.go","li`},
			tracker.Failure{Error: "WorkerError: boom", Traceback: "main.go:42 work\n" + causeCut}},
		{"a Python Lambda error cut inside a line of its stack",
			contract.StepError{Error: "ValueError", Cause: `{"errorMessage":"bad","errorType":"ValueError","requestId":"r-1","stackTrace":["  File \"h.py\", line 3, in handler\n","  File \"h.py\", li`},
			tracker.Failure{Error: "ValueError: bad", Traceback: "  File \"h.py\", line 3, in handler\n\n" + causeCut}},
		{"a Node.js Lambda error cut after a whole line of its trace",
			contract.StepError{Error: "NoText", Cause: `{"errorType":"NoText","errorMessage":"no text","trace":["NoText: no text",`},
			tracker.Failure{Error: "NoText: no text", Traceback: "NoText: no text\n" + causeCut}},
		{"a Lambda error cut before its stack",
			contract.StepError{Error: "WorkerError", Cause: `{"errorMessage":"boom","errorType":"WorkerError","stackTr`},
			tracker.Failure{Error: "WorkerError: boom", Traceback: causeCut}},
		{"a Lambda error cut inside its message is its cause",
			contract.StepError{Error: "WorkerError", Cause: `{"errorMessage":"a very long mess`},
			tracker.Failure{Error: `WorkerError: {"errorMessage":"a very long mess`}},
	}
	for _, tc := range tests {
		// The errorType is the name the record starts with.
		wantType, _, _ := strings.Cut(tc.want.Error, ": ")
		if got, typ := failureOf(tc.in); got != tc.want || typ != wantType {
			t.Errorf("%s:\n got %+v, errorType %q\nwant %+v, errorType %q", tc.name, got, typ, tc.want, wantType)
		}
	}
}
