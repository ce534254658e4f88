package tracker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// WorkerOutputError is a worker's result that cannot be the task's data: not a JSON object
// (nor null, which keeps the data), not valid JSON or UTF-8, or over MaxDataBytes once
// compacted. It matches ErrInvalidWorkerOutput; its Error reads "InvalidWorkerOutput: " and
// Reason, the error the attempt is recorded with by the state machine and by package worker.
type WorkerOutputError struct {
	// Reason says what the worker returned, quoting at most its first 200 bytes.
	Reason string
}

func (e *WorkerOutputError) Error() string { return InvalidWorkerOutput + ": " + e.Reason }

// Is reports whether target is ErrInvalidWorkerOutput.
func (e *WorkerOutputError) Is(target error) bool { return target == ErrInvalidWorkerOutput }

// shownBytes is how much of a bad result a WorkerOutputError quotes.
const shownBytes = 200

// CheckResult returns a *WorkerOutputError that says what is wrong with a worker's result,
// or nil when it can be the task's data (Complete would store it). Empty input and null are
// results that keep the data.
func CheckResult(result json.RawMessage) error {
	trimmed := bytes.TrimSpace(result)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil
	}
	if !utf8.Valid(trimmed) {
		return badOutput("the worker returned invalid JSON: not valid UTF-8")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, trimmed); err != nil {
		return badOutput("the worker returned invalid JSON (%s): %v", shown(trimmed), err)
	}
	if trimmed[0] != '{' {
		return badOutput("the worker returned %s (%s), not a JSON object or null", kind(trimmed[0]), shown(trimmed))
	}
	if n := compact.Len(); n > MaxDataBytes {
		return badOutput("the worker returned a JSON object of %d bytes, %d bytes over tracker.MaxDataBytes (%d)",
			n, n-MaxDataBytes, MaxDataBytes)
	}
	return nil
}

func badOutput(format string, args ...any) error {
	return &WorkerOutputError{Reason: fmt.Sprintf(format, args...)}
}

// kind names the JSON value that starts with c.
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
