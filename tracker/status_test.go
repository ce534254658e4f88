package tracker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestParseStatusCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want tracker.StatusCodes
		ok   bool
	}{
		{"0,3,6,9,10", tracker.DefaultStatusCodes, true},
		{" 1, 2,4,5 ,99", tracker.StatusCodes{Todo: 1, InProgress: 2, Failed: 4, Succeeded: 5, Ignored: 99}, true},
		{"0,3,6,9", tracker.StatusCodes{}, false},
		{"0,3,6,9,x", tracker.StatusCodes{}, false},
		{"0,3,6,10,9", tracker.StatusCodes{}, false},  // ignored not the largest
		{"0,3,6,9,100", tracker.StatusCodes{}, false}, // beyond two digits
		{"-1,3,6,9,10", tracker.StatusCodes{}, false},
		{"0,3,3,9,10", tracker.StatusCodes{}, false}, // not distinct
	}
	for _, tc := range tests {
		got, err := tracker.ParseStatusCodes(tc.in)
		if tc.ok != (err == nil) || (tc.ok && got != tc.want) {
			t.Errorf("ParseStatusCodes(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, tracker.ErrInvalidInput) {
			t.Errorf("ParseStatusCodes(%q) error %v is not ErrInvalidInput", tc.in, err)
		}
		if tc.ok && got.String() != tracker.StatusCodes(got).String() {
			t.Errorf("round trip of %q", tc.in)
		}
	}
}

func TestStatusNames(t *testing.T) {
	t.Parallel()
	for _, s := range tracker.Statuses() {
		got, err := tracker.ParseStatus(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %v, %v", s, got, err)
		}
		text, _ := s.MarshalText()
		var back tracker.Status
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("text round trip of %v = %v, %v", s, back, err)
		}
	}
	if _, err := tracker.ParseStatus("done"); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Errorf("ParseStatus(done) = %v", err)
	}
	if got := tracker.DefaultStatusCodes.Status(7); got != tracker.Unknown || got.String() != "unknown" {
		t.Errorf("Status(7) = %v", got)
	}
}

func TestValidateID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, job, task, field string
	}{
		{"accepts plain ids", "parse-json", "t-1", ""},
		{"accepts a task id that starts with an underscore", "j", "_t", ""},
		{"rejects an empty job id", "", "t", "job_id"},
		{"rejects an empty task id", "j", "", "task_id"},
		{"rejects the separator in a job id", "a____b", "t", "job_id"},
		{"rejects the separator in a task id", "j", "x____y", "task_id"},
		{"rejects a job id ending in an underscore", "j_", "t", "job_id"},
		{"rejects invalid UTF-8", "j", "\xff", "task_id"},
		{"rejects a key of 1,025 bytes (the index's range key limit)", "j", strings.Repeat("x", 1025-5), "task_id"},
		{"accepts a key of exactly 1,024 bytes", "j", strings.Repeat("x", 1024-5), ""},
		{"accepts a 1,024-byte key of multi-byte runes", "j", strings.Repeat("é", (1024-5)/2) + "x", ""},
		{"rejects a NUL", "j", "a\x00b", "task_id"},
		{"rejects a newline in a job id", "j\n", "t", "job_id"},
		{"rejects DEL", "j", "a\x7f", "task_id"},
		{"rejects a C1 control", "j", "a\u0085", "task_id"},
		{"rejects a right-to-left override", "j", "invoice\u202Etxt.exe", "task_id"},
		{"rejects a left-to-right embedding", "j", "\u202Ax", "task_id"},
		{"rejects a first-strong isolate", "j\u2068", "t", "job_id"},
		{"rejects a pop directional isolate", "j", "x\u2069", "task_id"},
		{"accepts a right-to-left mark (not an override)", "j", "x\u200Fy", ""},
		{"accepts non-ASCII letters", "j", "tâche-日本", ""},
	}
	for _, tc := range tests {
		err := tracker.ValidateID(tc.job, tc.task)
		var ve *tracker.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &ve) || ve.Field != tc.field):
			t.Errorf("%s: got %v, want a ValidationError on %s", tc.name, err, tc.field)
		}
	}
}
