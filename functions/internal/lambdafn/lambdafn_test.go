package lambdafn_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
		{"a duplicate key in a payload", `{"job_id":"j","task_id":"t","data":{"a":1,"a":2}}`, "data.a"},
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
		err  error
		want string
	}{
		{&tracker.ValidationError{Field: "job_id", Reason: "empty"}, "InvalidInput"},
		{conflict(tracker.ErrTaskNotFound), "TaskNotFound"},
		{conflict(tracker.ErrTaskLocked), "TaskLocked"},
		{conflict(tracker.ErrTaskSucceeded), "TaskAlreadySucceeded"},
		{conflict(tracker.ErrTaskIgnored), "TaskIgnored"},
		{conflict(tracker.ErrLeaseLost), "StaleLease"},
		{conflict(tracker.ErrWrongStatus), "TaskWrongStatus"},
		{fmt.Errorf("claim: %w", &types.ProvisionedThroughputExceededException{Message: new(string)}), "TrackerUnavailable"},
		{fmt.Errorf("claim: %w", &retry.MaxAttemptsError{Attempt: 3, Err: errors.New("timeout")}), "TrackerUnavailable"},
		{context.DeadlineExceeded, "TrackerUnavailable"},
		{fmt.Errorf("claim: %w", &types.ResourceNotFoundException{Message: new(string)}), "InternalError"},
		{errors.New("bug"), "InternalError"},
	}
	for _, tc := range tests {
		if got := lambdafn.ErrorName(tc.err); got != tc.want {
			t.Errorf("ErrorName(%v) = %s, want %s", tc.err, got, tc.want)
		}
		var ie messages.InvokeResponse_Error
		if err := lambdafn.Error(tc.err); !errors.As(err, &ie) || ie.Type != tc.want || ie.Message != tc.err.Error() {
			t.Errorf("Error(%v) = %#v", tc.err, err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := lambdafn.ConfigFromEnv(env("TRACKER_TABLE", "tasks", "TRACKER_STATUS_CODES", "1,2,4,5,7",
		"TRACKER_MAX_RETRY", "5", "TRACKER_LEASE_SECONDS", "60", "LOG_LEVEL", "debug",
		"TRACKER_BACKOFF_SECONDS", "2", "TRACKER_PAGE_SIZE", "50", "TRACKER_BATCH_SIZE", "7", "TRACKER_CONCURRENCY", "3",
		"TRACKER_WORKER_TIMEOUT_SECONDS", "120"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MetricsNamespace != "dynamodb-tracker" {
		t.Errorf("metrics namespace = %q, want the default", cfg.MetricsNamespace)
	}
	if c, err := lambdafn.ConfigFromEnv(env("TRACKER_TABLE", "t", "TRACKER_METRICS_NAMESPACE", "team/tracker")); err != nil || c.MetricsNamespace != "team/tracker" {
		t.Errorf("TRACKER_METRICS_NAMESPACE: %q, %v", c.MetricsNamespace, err)
	}
	if cfg.Backoff != 2*time.Second || cfg.PageSize != 50 || cfg.BatchSize != 7 || cfg.Concurrency != 3 || cfg.WorkTimeout != 120 {
		t.Errorf("run settings = %+v", cfg)
	}
	if def, err := lambdafn.ConfigFromEnv(env("TRACKER_TABLE", "t")); err != nil || def.PageSize != 500 || def.BatchSize != 20 ||
		def.Concurrency != 10 || def.WorkTimeout != 60 || def.Backoff != 0 {
		t.Errorf("defaults = %+v, %v", def, err)
	}
	want := tracker.StatusCodes{Todo: 1, InProgress: 2, Failed: 4, Succeeded: 5, Ignored: 7}
	if cfg.Table != "tasks" || cfg.Codes != want || cfg.MaxRetry != 5 || cfg.LeaseDuration != time.Minute || cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("config = %+v", cfg)
	}
	for name, bad := range map[string]func(string) string{
		"TRACKER_TABLE":         env(),
		"TRACKER_STATUS_CODES":  env("TRACKER_TABLE", "t", "TRACKER_STATUS_CODES", "0,3,6,12,10"),
		"TRACKER_MAX_RETRY":     env("TRACKER_TABLE", "t", "TRACKER_MAX_RETRY", "zero"),
		"TRACKER_LEASE_SECONDS": env("TRACKER_TABLE", "t", "TRACKER_LEASE_SECONDS", "-1"),
		"LOG_LEVEL":             env("TRACKER_TABLE", "t", "LOG_LEVEL", "loud"),
		"TRACKER_BATCH_SIZE":    env("TRACKER_TABLE", "t", "TRACKER_BATCH_SIZE", "101"),
		"TRACKER_PAGE_SIZE":     env("TRACKER_TABLE", "t", "TRACKER_PAGE_SIZE", "0"),
		"TRACKER_CONCURRENCY":   env("TRACKER_TABLE", "t", "TRACKER_CONCURRENCY", "1001"),
	} {
		if _, err := lambdafn.ConfigFromEnv(bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: error %v does not name it", name, err)
		}
	}
}

func TestDecodeLeavesPayloadKeysAlone(t *testing.T) {
	var in contract.CompleteInput
	event := `{"lease":{"job_id":"j","task_id":"t","token":"0123456789abcdef0123456789abcdef","retry":0,"expires":"2026-11-29T00:58:51Z"},"result":{"a":1,"A":2}}`
	if err := lambdafn.Decode([]byte(event), &in); err != nil || string(in.Result) != `{"a":1,"A":2}` {
		t.Errorf("Decode = %v, result %s; keys that differ in case inside a result are its own", err, in.Result)
	}
	var ve *tracker.ValidationError
	event = `{"lease":{"job_id":"j","Job_Id":"k","task_id":"t","token":"0123456789abcdef0123456789abcdef"}}`
	if err := lambdafn.Decode([]byte(event), &in); !errors.As(err, &ve) || ve.Field != "lease.Job_Id" {
		t.Errorf("Decode of a lease with job_id and Job_Id = %v, want a ValidationError on lease.Job_Id", err)
	}
}
