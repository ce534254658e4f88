// Command go-worker is a worker for the tracker's state machine, as you would write your own:
// it counts the words of the task's "text". Its event is the claim's output
// (contract.ClaimOutput); what it returns, a JSON object, replaces the task's data; a task
// with no text fails with errorType NoText, a failed attempt that runs again after its
// backoff. See "Write your worker" in the README.
//
//	make demo WORKER=examples/go-worker
//	make run JOB=count-words WORKER=examples/go-worker
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
)

func main() { lambda.Start(handle) }

// result is the task's data once the worker succeeded.
type result struct {
	TaskID  string `json:"task_id"`
	Attempt int    `json:"attempt"`
	Words   int    `json:"words"`
}

func handle(ctx context.Context, in contract.ClaimOutput) (*result, error) {
	var data struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(in.Data, &data); err != nil {
		return nil, messages.InvokeResponse_Error{Type: "BadData", Message: fmt.Sprintf("task %s: %v", in.TaskID, err)}
	}
	words := len(strings.Fields(data.Text))
	if words == 0 {
		// The errorType is yours to name: it is stored with the task as "NoText: ...".
		return nil, messages.InvokeResponse_Error{Type: "NoText", Message: fmt.Sprintf("task %s has no text", in.TaskID)}
	}
	return &result{TaskID: in.TaskID, Attempt: in.Attempt, Words: words}, nil
}
