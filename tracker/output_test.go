package tracker_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestCheckResult(t *testing.T) {
	t.Parallel()
	big := `{"a":"` + strings.Repeat("x", tracker.MaxDataBytes) + `"}`
	// Spaces that compacting removes do not count against the limit.
	fits := `{"a":"` + strings.Repeat("x", tracker.MaxDataBytes-8) + `"}` + strings.Repeat(" ", 100)
	long := `"` + strings.Repeat("é", 150) + `"`
	tests := []struct {
		name, result, want string // want: the error, "" for none
	}{
		{"empty keeps the data", "", ""},
		{"null keeps the data", " null ", ""},
		{"object", `{"n": 1}`, ""},
		{"object at the limit once compacted", fits, ""},
		{"string", `"done"`, `InvalidWorkerOutput: the worker returned a string ("done"), not a JSON object or null`},
		{"number", `42`, `InvalidWorkerOutput: the worker returned a number (42), not a JSON object or null`},
		{"array", `[1]`, `InvalidWorkerOutput: the worker returned an array ([1]), not a JSON object or null`},
		{"boolean", `true`, `InvalidWorkerOutput: the worker returned a boolean (true), not a JSON object or null`},
		{"invalid JSON", `{"n":`, `InvalidWorkerOutput: the worker returned invalid JSON ({"n":): unexpected end of JSON input`},
		{"invalid UTF-8", "{\"n\":\"\xff\"}", `InvalidWorkerOutput: the worker returned invalid JSON: not valid UTF-8`},
		{"too big", big, fmt.Sprintf("InvalidWorkerOutput: the worker returned a JSON object of %d bytes, 8 bytes over tracker.MaxDataBytes (%d)",
			tracker.MaxDataBytes+8, tracker.MaxDataBytes)},
		// 200 bytes are 100 two-byte runes: the quote and 99 of them, then the cut.
		{"long value quoted in part", long, `InvalidWorkerOutput: the worker returned a string ("` + strings.Repeat("é", 99) + `…), not a JSON object or null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tracker.CheckResult([]byte(tc.result))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckResult = %v, want nil", err)
				}
				return
			}
			var wo *tracker.WorkerOutputError
			if err == nil || err.Error() != tc.want || !errors.Is(err, tracker.ErrInvalidWorkerOutput) || !errors.As(err, &wo) ||
				tracker.InvalidWorkerOutput+": "+wo.Reason != tc.want {
				t.Errorf("CheckResult = %v, want %q matching ErrInvalidWorkerOutput", err, tc.want)
			}
			// What CheckResult lets through, Complete stores; what it refuses, Complete does too.
			if _, nerr := tracker.NormalizeData([]byte(tc.result)); nerr == nil {
				t.Errorf("NormalizeData took a result CheckResult refuses")
			}
		})
	}
}

func ExampleCheckResult() {
	err := tracker.CheckResult([]byte(`"done"`))
	fmt.Println(errors.Is(err, tracker.ErrInvalidWorkerOutput))
	fmt.Println(err)
	// Output:
	// true
	// InvalidWorkerOutput: the worker returned a string ("done"), not a JSON object or null
}
