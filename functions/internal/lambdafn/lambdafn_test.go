package lambdafn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, event, field string // field "" means it decodes
	}{
		{"a complete event", `{"job_id":"j","task_id":"t","execution_id":"e"}`, ""},
		{"an unknown field", `{"job_id":"j","task_id":"t","taskid":"t"}`, "taskid"},
		{"a number for a string", `{"job_id":"j","task_id":42}`, "task_id"},
		{"not JSON", `{"job_id":`, "event"},
		{"two objects", `{"job_id":"j"}{"job_id":"k"}`, "event"},
		{"an array", `[1]`, "event"},
		{"a duplicate key", `{"job_id":"j","task_id":"t","job_id":"k"}`, "job_id"},
		{"keys that differ only in case", `{"job_id":"j","task_id":"t","JOB_ID":"k"}`, "JOB_ID"},
		{"an unknown field in a nested object", `{"job_id":"j","task_id":"t","data":{"a":1}}`, "data"},
		{"too large", `{"job_id":"` + strings.Repeat("x", lambdafn.MaxEventBytes) + `"}`, "event"},
	}
	for _, tc := range tests {
		var in contract.ClaimInput
		err := lambdafn.Decode([]byte(tc.event), &in)
		var ve *tracker.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field):
			t.Errorf("%s: error %v, want a ValidationError on %q", tc.name, err, tc.field)
		case tc.field != "" && lambdafn.ErrorName(err) != contract.ErrInvalidInput:
			t.Errorf("%s: named %s", tc.name, lambdafn.ErrorName(err))
		}
	}
}

func TestErrorNames(t *testing.T) {
	conflict := func(reason error) error {
		return fmt.Errorf("wrapped: %w", &tracker.ConflictError{Op: "claim", JobID: "j", TaskID: "t", Reason: reason})
	}
	tests := []struct {
		err     error
		want    string
		message string // the message, when not err.Error()
	}{
		{&tracker.ValidationError{Field: "job_id", Reason: "empty"}, "InvalidInput", ""},
		{conflict(tracker.ErrTaskNotFound), "TaskNotFound", ""},
		{fmt.Errorf("run of %q: %w", "typo", tracker.ErrJobNotFound), "JobNotFound", ""},
		{conflict(tracker.ErrTaskLocked), "TaskLocked", ""},
		{conflict(tracker.ErrTaskAlreadySucceeded), "TaskAlreadySucceeded", ""},
		{conflict(tracker.ErrTaskIgnored), "TaskIgnored", ""},
		{conflict(tracker.ErrLeaseLost), "LeaseLost", ""},
		{conflict(tracker.ErrTaskWrongStatus), "TaskWrongStatus", ""},
		{fmt.Errorf("claim: %w", &types.ProvisionedThroughputExceededException{Message: new(string)}), "TrackerUnavailable", ""},
		{fmt.Errorf("claim: %w", &retry.MaxAttemptsError{Attempt: 3, Err: errors.New("timeout")}), "TrackerUnavailable", ""},
		{context.DeadlineExceeded, "TrackerUnavailable", ""},
		{fmt.Errorf("claim: %w", &types.ResourceNotFoundException{Message: new(string)}), "InternalError", ""},
		{errors.New("bug"), "InternalError", ""},
		{conflict(tracker.ErrTaskNotDue), "TaskNotDue", ""},
		{tracker.CheckResult([]byte("1")), "InvalidWorkerOutput", "the worker returned a number (1), not a JSON object or null"},
	}
	produced := map[string]bool{}
	for _, tc := range tests {
		produced[lambdafn.ErrorName(tc.err)] = true
		if got := lambdafn.ErrorName(tc.err); got != tc.want {
			t.Errorf("ErrorName(%v) = %s, want %s", tc.err, got, tc.want)
		}
		msg := tc.message
		if msg == "" {
			msg = tc.err.Error()
		}
		var ie messages.InvokeResponse_Error
		if err := lambdafn.Error(tc.err); !errors.As(err, &ie) || ie.Type != tc.want || ie.Message != msg {
			t.Errorf("Error(%v) = %#v", tc.err, err)
		}
	}
	// One set of names: every name of the contract comes out of ErrorName for some error.
	for _, name := range contract.ErrorNames() {
		if !produced[name] {
			t.Errorf("contract error %s: no error maps to it", name)
		}
	}
	if len(produced) != len(contract.ErrorNames()) {
		t.Errorf("ErrorName produced %d names, the contract has %d", len(produced), len(contract.ErrorNames()))
	}
}

// TestSentinelsHaveTheirErrorNames checks that every sentinel of package tracker that a
// function can fail with is named after its errorType: Err and the contract's name.
func TestSentinelsHaveTheirErrorNames(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "..", "tracker", "errors.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	sentinels := 0
	for name, obj := range f.Scope.Objects {
		if obj.Kind != ast.Var || !strings.HasPrefix(name, "Err") || name == "ErrTaskExists" { // CreateTask's, no function's
			continue
		}
		sentinels++
		if !slices.Contains(contract.ErrorNames(), strings.TrimPrefix(name, "Err")) {
			t.Errorf("tracker.%s: the contract has no error name %s", name, strings.TrimPrefix(name, "Err"))
		}
	}
	if sentinels != 10 {
		t.Errorf("found %d sentinels in tracker/errors.go, want 10", sentinels)
	}
}

// TestDefinitionMatchesOnContractNames checks that every error name a Retry or Catch of
// statemachine.asl.json matches, other than those of Step Functions (States.*, StepFunctions.*) and Lambda
// (Lambda.*), is one of the contract's, and that the state and the outcome of a lost lease
// have its error's name.
func TestDefinitionMatchesOnContractNames(t *testing.T) {
	raw, err := os.ReadFile("../../../statemachine.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var def any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	matched, leaseLost := 0, 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if k == "ErrorEquals" {
					for _, name := range e.([]any) {
						name := name.(string)
						if strings.HasPrefix(name, "States.") || strings.HasPrefix(name, "Lambda.") || strings.HasPrefix(name, "StepFunctions.") {
							continue
						}
						matched++
						if !slices.Contains(contract.ErrorNames(), name) {
							t.Errorf("the definition matches %s, which is no contract error name", name)
						}
					}
				}
				if k == contract.ErrLeaseLost {
					leaseLost++
					if state, _ := e.(map[string]any); state["Result"] != contract.ErrLeaseLost {
						t.Errorf("state %s answers %v, want the outcome %s", k, state["Result"], contract.ErrLeaseLost)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(def)
	if matched == 0 || leaseLost != 1 {
		t.Errorf("the definition matches %d contract names and has %d %s states", matched, leaseLost, contract.ErrLeaseLost)
	}
}

func TestDecodeLeavesPayloadKeysAlone(t *testing.T) {
	var in contract.CompleteInput
	event := `{"lease":{"job_id":"j","task_id":"t","token":"0123456789abcdef0123456789abcdef","retry":0,"expires":"2026-11-29T00:58:51Z"},"result":{"a":1,"A":2}}`
	if err := lambdafn.Decode([]byte(event), &in); err != nil || string(in.Result) != `{"a":1,"A":2}` {
		t.Errorf("Decode = %v, result %s; keys that differ in case inside a result are its own", err, in.Result)
	}
	var ve *tracker.ValidationError
	event = `{"lease":{"job_id":"j","task_id":"t","token":"0123456789abcdef0123456789abcdef"},"result":{"a":{"b":1,"b":2}}}`
	if err := lambdafn.Decode([]byte(event), &in); !errors.As(err, &ve) || ve.Field != "result.a.b" {
		t.Errorf("Decode of a result with a key twice = %v, want a ValidationError on result.a.b", err)
	}
	event = `{"lease":{"job_id":"j","Job_Id":"k","task_id":"t","token":"0123456789abcdef0123456789abcdef"}}`
	if err := lambdafn.Decode([]byte(event), &in); !errors.As(err, &ve) || ve.Field != "lease.Job_Id" {
		t.Errorf("Decode of a lease with job_id and Job_Id = %v, want a ValidationError on lease.Job_Id", err)
	}
}
