// Command cdk-app is a Go CDK app that adds dynamodb-tracker to an account whose task table
// exists already, with a worker of its own written in Python (../python/handler.py): the
// smallest app a user of the construct writes, and the one its README shows. The construct
// builds the tracker's functions itself; nothing else of the module is needed
// (`go get github.com/dynamodb-tracker/dynamodb-tracker/infra/construct@vX.Y.Z`).
//
// From this directory (cdk.json runs `go run .`), with the existing table's name:
//
//	npx aws-cdk@2 synth -c table=tasks
//	npx aws-cdk@2 deploy -c table=tasks
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/infra/construct"
)

// workerTimeout is the Python worker's timeout, which the tracker must know (WorkerTimeout).
const workerTimeout = 30 * time.Second

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	table, _ := app.Node().TryGetContext(jsii.String("table")).(string)
	if table == "" {
		table = "tasks"
	}
	if _, err := NewStack(app, "tracker-example", table, "../python"); err != nil {
		fmt.Fprintln(os.Stderr, "cdk-app:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}

// NewStack adds the stack to scope: the Python worker whose handler is in the directory
// worker, and a tracker on the existing table that runs it.
func NewStack(scope constructs.Construct, id, table, worker string) (awscdk.Stack, error) {
	stack := awscdk.NewStack(scope, jsii.String(id), nil)
	// A role that may write the worker's own logs and nothing else (the managed
	// AWSLambdaBasicExecutionRole lets it create any log group); the worker makes no AWS
	// call of its own.
	logs := awslogs.NewLogGroup(stack, jsii.String("WorkerLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	role := awsiam.NewRole(stack, jsii.String("WorkerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	logs.GrantWrite(role)
	fn := awslambda.NewFunction(stack, jsii.String("Worker"), &awslambda.FunctionProps{
		Description:  jsii.String("Counts the words of a task's text"),
		Runtime:      awslambda.Runtime_PYTHON_3_12(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("handler.handler"),
		Code:         awslambda.Code_FromAsset(jsii.String(worker), nil),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(workerTimeout.Seconds())),
		LogGroup:     logs,
		Role:         role,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-L1"),
		Reason: jsii.String("The worker's runtime is the Python version its handler is written for (python3.12, handler.py says so), pinned so that a CDK upgrade does not move it unreviewed."),
	}}, jsii.Bool(false))
	if _, err := construct.New(stack, "Tracker", &construct.Props{
		Table:    construct.TableOptions{Existing: table},
		Worker:   fn,
		Settings: contract.Settings{WorkerTimeout: workerTimeout},
	}); err != nil {
		return nil, err
	}
	return stack, nil
}
