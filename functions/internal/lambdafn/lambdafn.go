// Package lambdafn holds what the tracker's Lambda mains share: configuration from the
// environment, the client built once at cold start, strict event decoding, structured logs,
// and the one place where tracker errors become stable errorType names.
package lambdafn

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/version"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Config is a function's configuration, read from the environment.
type Config struct {
	Table         string              // TRACKER_TABLE, required
	Codes         tracker.StatusCodes // TRACKER_STATUS_CODES, "0,3,6,9,10" by default
	MaxRetry      int                 // TRACKER_MAX_RETRY, 3 by default
	LeaseDuration time.Duration       // TRACKER_LEASE_SECONDS, 900 by default
	Backoff       time.Duration       // TRACKER_BACKOFF_SECONDS, 5 by default
	LogLevel      slog.Level          // LOG_LEVEL: debug, info, warn, error
	// The defaults of a run (list-pending answers them to the state machine).
	PageSize    int // TRACKER_PAGE_SIZE, contract.DefaultPageSize by default
	BatchSize   int // TRACKER_BATCH_SIZE, contract.DefaultBatchSize by default
	Concurrency int // TRACKER_CONCURRENCY, contract.DefaultConcurrency by default
	WorkTimeout int // TRACKER_WORKER_TIMEOUT_SECONDS: the worker's timeout, 60 by default
	// MetricsNamespace is TRACKER_METRICS_NAMESPACE: the CloudWatch namespace of the
	// functions' metrics, emf.DefaultNamespace by default.
	MetricsNamespace string
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv in a main) and reports
// the first missing or malformed variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Table: getenv("TRACKER_TABLE"), Codes: tracker.DefaultStatusCodes,
		MetricsNamespace: cmp.Or(getenv("TRACKER_METRICS_NAMESPACE"), emf.DefaultNamespace)}
	if cfg.Table == "" {
		return cfg, fmt.Errorf("TRACKER_TABLE is not set")
	}
	var err error
	if v := getenv("TRACKER_STATUS_CODES"); v != "" {
		if cfg.Codes, err = tracker.ParseStatusCodes(v); err != nil {
			return cfg, fmt.Errorf("TRACKER_STATUS_CODES: %w", err)
		}
	}
	if v := getenv("TRACKER_MAX_RETRY"); v != "" {
		if cfg.MaxRetry, err = strconv.Atoi(v); err != nil || cfg.MaxRetry < 1 {
			return cfg, fmt.Errorf("TRACKER_MAX_RETRY=%q is not a positive whole number", v)
		}
	}
	cfg = cfg.WithDefaults()
	var lease, backoff int
	for _, v := range []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"TRACKER_LEASE_SECONDS", &lease, 1, 1 << 30},
		{"TRACKER_BACKOFF_SECONDS", &backoff, 1, 86400},
		{"TRACKER_PAGE_SIZE", &cfg.PageSize, 1, tracker.MaxPageLimit},
		{"TRACKER_BATCH_SIZE", &cfg.BatchSize, 1, contract.MaxBatchSize},
		{"TRACKER_CONCURRENCY", &cfg.Concurrency, 1, contract.MaxConcurrency},
		{"TRACKER_WORKER_TIMEOUT_SECONDS", &cfg.WorkTimeout, 1, 86400},
	} {
		text := getenv(v.name)
		if text == "" {
			continue
		}
		n, err := strconv.Atoi(text)
		if err != nil || n < v.min || n > v.max {
			return cfg, fmt.Errorf("%s=%q is not a whole number within %d..%d", v.name, text, v.min, v.max)
		}
		*v.dst = n
	}
	cfg.LeaseDuration = time.Duration(lease) * time.Second
	cfg.Backoff = time.Duration(backoff) * time.Second
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return cfg, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", v)
		}
	}
	return cfg, nil
}

// WithDefaults returns c with the run defaults filled in where they are zero.
func (c Config) WithDefaults() Config {
	for _, f := range []struct {
		v   *int
		def int
	}{
		{&c.PageSize, contract.DefaultPageSize}, {&c.BatchSize, contract.DefaultBatchSize},
		{&c.Concurrency, contract.DefaultConcurrency}, {&c.WorkTimeout, DefaultWorkTimeout},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return c
}

// DefaultWorkTimeout is the worker's timeout in seconds when TRACKER_WORKER_TIMEOUT_SECONDS
// is unset: the example worker's.
const DefaultWorkTimeout = 60

// NewTracker builds the DynamoDB client from the default AWS configuration (which honours
// AWS_ENDPOINT_URL_DYNAMODB for local runs) and a Tracker over it.
func NewTracker(ctx context.Context, cfg Config) (*tracker.Tracker, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return tracker.New(dynamodb.NewFromConfig(awsCfg), tracker.Config{
		Table: cfg.Table, Codes: cfg.Codes, MaxRetry: cfg.MaxRetry, LeaseDuration: cfg.LeaseDuration, Backoff: cfg.Backoff,
	})
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
	Config  Config
}

// Setup does a main's cold start: configuration, client, logger. It exits the process on a
// bad configuration, so a misconfigured function fails at once rather than on each event.
func Setup() Deps {
	cfg, err := ConfigFromEnv(os.Getenv)
	if err == nil {
		var tr *tracker.Tracker
		if tr, err = NewTracker(context.Background(), cfg); err == nil {
			log := NewLogger(cfg.LogLevel)
			log.Info("cold start", "version", version.Get())
			metrics := &emf.Writer{Out: os.Stdout, Namespace: cfg.MetricsNamespace}
			return Deps{Tracker: tr, Log: log, Metrics: metrics, Config: cfg}
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
