package tracker_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  tracker.Config
		want string // the error, "" for none
	}{
		{"zero values are the defaults", tracker.Config{}, ""},
		{"every limit itself", tracker.Config{MaxRetry: tracker.MaxMaxRetry, LeaseDuration: tracker.MaxLeaseDuration, Backoff: tracker.MaxBackoff}, ""},
		{"negative max retry", tracker.Config{MaxRetry: -1}, "invalid max_retry: must be between 0 (the default) and 1000"},
		{"max retry over its limit", tracker.Config{MaxRetry: tracker.MaxMaxRetry + 1}, "invalid max_retry: must be between 0 (the default) and 1000"},
		{"negative lease", tracker.Config{LeaseDuration: -time.Second}, "invalid lease_duration: must be between 0 (the default) and 24h0m0s"},
		{"lease over a day", tracker.Config{LeaseDuration: 25 * time.Hour}, "invalid lease_duration: must be between 0 (the default) and 24h0m0s"},
		{"backoff over its cap", tracker.Config{Backoff: tracker.MaxBackoff + time.Second}, "invalid backoff: must be between 0 (the default) and 5m0s"},
		{"bad codes", tracker.Config{Codes: tracker.StatusCodes{Todo: 1, InProgress: 1, Failed: 2, Succeeded: 3, Ignored: 4}}, "invalid status_codes: todo and in_progress share code 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, tracker.ErrInvalidInput) {
				t.Errorf("Validate = %v, want %q matching ErrInvalidInput", err, tc.want)
			}
			// New refuses what Validate refuses, before any call.
			cfg := tc.cfg
			cfg.Table = "t"
			if _, nerr := tracker.New(dynamotest.Client(t), cfg); nerr == nil || nerr.Error() != tc.want {
				t.Errorf("New = %v, want %q", nerr, tc.want)
			}
		})
	}
}
