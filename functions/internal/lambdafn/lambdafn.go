// Package lambdafn holds what the tracker's Lambda mains share: the settings read from the
// environment (contract.FromEnv), the client built once at cold start, strict event
// decoding, structured logs, and the one place where tracker errors become stable errorType
// names.
package lambdafn

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/version"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// NewTracker builds the DynamoDB client from the default AWS configuration (which honours
// AWS_ENDPOINT_URL_DYNAMODB for local runs) and a Tracker over it.
func NewTracker(ctx context.Context, s contract.Settings) (*tracker.Tracker, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return tracker.New(dynamodb.NewFromConfig(awsCfg), s.TrackerConfig())
}

// NewLogger returns a JSON logger on stdout, where Lambda collects it.
func NewLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}

// Deps are what a handler holds: built once at cold start, shared by every invocation.
type Deps struct {
	Tracker *tracker.Tracker
	Log     *slog.Logger
	Metrics *emf.Writer // nil records nothing
	// Settings are the function's settings; a handler takes the default of a zero one.
	Settings contract.Settings
}

// Setup does a main's cold start: configuration, client, logger. It exits the process on a
// bad configuration, so a misconfigured function fails at once rather than on each event.
func Setup() Deps {
	s, err := contract.FromEnv(os.Getenv)
	if err == nil {
		var tr *tracker.Tracker
		if tr, err = NewTracker(context.Background(), s); err == nil {
			log := NewLogger(s.LogLevel.Slog())
			log.Info("cold start", "version", version.Get())
			var metrics *emf.Writer // nil records nothing
			if s.Metrics {
				metrics = &emf.Writer{Out: os.Stdout, Namespace: s.MetricsNamespace}
			}
			return Deps{Tracker: tr, Log: log, Metrics: metrics, Settings: s}
		}
	}
	NewLogger(slog.LevelInfo).Error("cold start failed", "error", err.Error())
	os.Exit(1)
	return Deps{}
}

// With returns log with the ids every line of a step carries, and the Lambda request id
// when there is one.
func With(ctx context.Context, log *slog.Logger, jobID, taskID, executionID string) *slog.Logger {
	log = log.With("job_id", jobID, "task_id", taskID)
	if executionID != "" {
		log = log.With("execution_id", executionID)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("request_id", lc.AwsRequestID)
	}
	return log
}

// Start runs handler as the Lambda function. Responses are encoded without HTML escaping, so
// that a '<' in task data stays one byte and payload sizes are what Step Functions counts.
func Start(handler any) {
	lambda.StartWithOptions(handler, lambda.WithSetEscapeHTML(false))
}
