package worker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// ErrInvalidWorkerOutput is the error of an attempt whose handler returned a result that
// cannot be the task's data: not a JSON object (nor nil or null, which keep the data), not
// valid JSON, or over tracker.MaxDataBytes once compacted. The pool records such an attempt
// as failed at once, with an error that reads "InvalidWorkerOutput: " and what was wrong, as
// the state machine records a worker's bad output (tracker.InvalidWorkerOutput); Run
// returns it wrapped.
var ErrInvalidWorkerOutput = errors.New(tracker.InvalidWorkerOutput)

// shownBytes is how much of a bad result an error quotes.
const shownBytes = 200

// checkResult returns an error matching ErrInvalidWorkerOutput that says what is wrong with
// a handler's result, or nil when it can be the task's data.
func checkResult(result json.RawMessage) error {
	trimmed := bytes.TrimSpace(result)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	if !utf8.Valid(trimmed) {
		return invalidOutput("the worker returned invalid JSON: not valid UTF-8")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, trimmed); err != nil {
		return invalidOutput("the worker returned invalid JSON (%s): %v", shown(trimmed), err)
	}
	if trimmed[0] != '{' {
		return invalidOutput("the worker returned %s (%s), not a JSON object or null", kind(trimmed[0]), shown(trimmed))
	}
	if n := compact.Len(); n > tracker.MaxDataBytes {
		return invalidOutput("the worker returned a JSON object of %d bytes, %d bytes over tracker.MaxDataBytes (%d)",
			n, n-tracker.MaxDataBytes, tracker.MaxDataBytes)
	}
	return nil
}

func invalidOutput(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidWorkerOutput, fmt.Sprintf(format, args...))
}

// kind names the JSON value that starts with c, as the state machine's complete function
// does.
func kind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// shown is the start of a result, cut on a rune boundary, for an error message.
func shown(b []byte) string {
	if len(b) <= shownBytes {
		return string(b)
	}
	cut := shownBytes
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}
