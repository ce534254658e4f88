package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dynamodb-tracker/dynamodb-tracker/infra/construct"
)

// DefaultStackName is the stack's name (and its id in the app: `cdk deploy dynamodb-tracker`).
const DefaultStackName = "dynamodb-tracker"

// Names of the stack's outputs.
const (
	OutputTableName               = "TableName"
	OutputStateMachineArn         = "StateMachineArn"
	OutputClaimFunctionName       = "ClaimFunctionName"
	OutputCompleteFunctionName    = "CompleteFunctionName"
	OutputFailFunctionName        = "FailFunctionName"
	OutputListPendingFunctionName = "ListPendingFunctionName"
	OutputWorkerFunctionName      = "WorkerFunctionName"
)

// StackProps configures the stack.
type StackProps struct {
	awscdk.StackProps
	// Tracker configures the tracker the stack deploys.
	Tracker construct.Props
	// AlarmTopicArn is an SNS topic every alarm notifies, imported as Tracker.AlarmTopic; ""
	// leaves Tracker.AlarmTopic as it is.
	AlarmTopicArn string
}

// NewStack adds the stack to scope: one tracker and the outputs an operator needs (the table
// name for trackerctl, the state machine to start runs, the function names).
func NewStack(scope constructs.Construct, id string, props *StackProps) (awscdk.Stack, error) {
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("dynamodb-tracker: task table, tracker functions, state machine, sweep schedule and alarms")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	tp := props.Tracker
	if props.AlarmTopicArn != "" {
		tp.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("AlarmTopic"), jsii.String(props.AlarmTopicArn))
	}
	t, err := construct.New(stack, "Tracker", &tp)
	if err != nil {
		return nil, err
	}
	for _, o := range []struct{ id, value, description string }{
		{OutputTableName, *t.Table.TableName(), "Task table (TRACKER_TABLE for trackerctl)"},
		{OutputStateMachineArn, *t.StateMachine.StateMachineArn(), "State machine running a job's tasks"},
		{OutputClaimFunctionName, *t.Claim.FunctionName(), "claim function"},
		{OutputCompleteFunctionName, *t.Complete.FunctionName(), "complete function"},
		{OutputFailFunctionName, *t.Fail.FunctionName(), "fail function"},
		{OutputListPendingFunctionName, *t.ListPending.FunctionName(), "list-pending function"},
		{OutputWorkerFunctionName, *t.Worker.FunctionName(), "worker function"},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(o.id), &awscdk.CfnOutputProps{
			Value:       jsii.String(o.value),
			Description: jsii.String(o.description),
		})
	}
	return stack, nil
}
