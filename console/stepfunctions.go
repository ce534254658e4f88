package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// StepFunctions starts runs and bulk actions as executions of the tracker's state machine on
// AWS, with the inputs `trackerctl run` and `trackerctl retry --fingerprint` send.
type StepFunctions struct {
	// Client is a Step Functions client; StateMachineARN the tracker's state machine.
	Client          *sfn.Client
	StateMachineARN string
	// Tracker reads the job's run lease before a start, so that a run of a job that another
	// run holds is refused here rather than started to end at once.
	Tracker *tracker.Tracker
	// Now is the clock the lease is read with; nil means time.Now.
	Now func() time.Time
}

// StartRun starts an execution with input {"job_id": job} under a fresh name (chosen before
// the first try: a start the SDK retries after a lost answer starts nothing twice) and
// returns its ARN. A job whose run lease is live gets a *tracker.RunLiveError.
func (f StepFunctions) StartRun(ctx context.Context, job string) (string, error) {
	j, err := f.Tracker.Job(ctx, job)
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	switch {
	case err == nil && j.Run.Live(now()):
		return "", &tracker.RunLiveError{JobID: job, Holder: j.Run}
	case err != nil && !errors.Is(err, tracker.ErrJobNotRegistered):
		return "", err
	}
	return f.start(ctx, uuid.NewString(), contract.RunInput{JobID: job})
}

// StartBulk starts an execution that runs the bulk action b, named after its id, and returns
// its ARN.
func (f StepFunctions) StartBulk(ctx context.Context, b tracker.Bulk) (string, error) {
	in := contract.RunInput{JobID: b.JobID, Bulk: &contract.BulkInput{Action: b.Action,
		Fingerprint: b.Select.Fingerprint, Error: b.Select.ErrorContains, Statuses: b.Select.Statuses, ID: b.ID}}
	return f.start(ctx, b.ID, in)
}

func (f StepFunctions) start(ctx context.Context, name string, input contract.RunInput) (string, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return "", err
	}
	out, err := f.Client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(f.StateMachineARN),
		Name: aws.String(name), Input: aws.String(string(body))})
	if err != nil {
		return "", fmt.Errorf("start an execution of %s: %w", f.StateMachineARN, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}
