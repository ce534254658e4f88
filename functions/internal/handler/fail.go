package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Fail is the fail function (tracker.Fail): it records a failed attempt of a leased task
// from the error a Step Functions Catch hands over, fingerprinted, and says whether the task
// will be retried (and when) or is now ignored. A permanent errorType (Settings.IsPermanent:
// ending with PermanentError, or listed in TRACKER_PERMANENT_ERRORS) ignores the task at
// once. With "release": true it hands the task back without counting
// a failure instead (tracker.ReleaseFor, held back for the first backoff), for work a throttle
// kept from running. Replaying it with the same lease counts nothing twice. A Lambda error
// whose Cause Step Functions cut at 32,768 characters is recorded as far as it goes.
//
// Event: contract.FailInput. Result: contract.FailOutput. Errors: InvalidInput, LeaseLost,
// TaskNotFound, TaskAlreadySucceeded, TaskIgnored, TrackerUnavailable. Metrics (EMF lines on
// stdout, per job): failed or ignored, refused, duration (a release records only its duration).
type Fail struct{ lambdafn.Deps }

// Handle records the event's error against the leased task.
func (h Fail) Handle(ctx context.Context, event json.RawMessage) (*contract.FailOutput, error) {
	var in contract.FailInput
	if err := lambdafn.Decode(event, &in); err != nil {
		return nil, lambdafn.Fail(ctx, h.Log, "fail", err)
	}
	switch {
	case in.Lease == nil:
		return nil, lambdafn.Fail(ctx, h.Log, "fail", lambdafn.Missing("lease"))
	case in.Error == nil:
		return nil, lambdafn.Fail(ctx, h.Log, "fail", lambdafn.Missing("error"))
	}
	log := lambdafn.With(ctx, h.Log, in.Lease.JobID, in.Lease.TaskID, "")
	defer h.Time(ctx, in.Lease.JobID)()
	if in.Release {
		// Held back for the first backoff, so that a loop does not claim it again at once, to
		// meet the same throttle.
		task, err := h.Tracker.ReleaseFor(ctx, *in.Lease, min(h.Tracker.BackoffAfter(1), tracker.MaxBackoff))
		if err != nil {
			return nil, h.Fail(ctx, log, "release", in.Lease.JobID, err)
		}
		log.InfoContext(ctx, "released", "status", task.Status, "retry", task.Retry, "error_name", in.Error.Error)
		return &contract.FailOutput{JobID: task.JobID, TaskID: task.TaskID, Status: task.Status, Retry: task.Retry,
			WillRetry: true, Released: true, RetryAt: task.RetryAt}, nil
	}
	failure, errorType := failureOf(*in.Error)
	failure.Permanent = h.Settings.IsPermanent(errorType)
	task, err := h.Tracker.Fail(ctx, *in.Lease, failure)
	if err != nil {
		return nil, h.Fail(ctx, log, "fail", in.Lease.JobID, err)
	}
	h.Count(ctx, task.JobID, outcome(task.Status))
	fp := ""
	if task.Failure != nil {
		fp = task.Failure.Fingerprint
	}
	// A task ignored after its last attempt (or at once, by a permanent error) is a warning,
	// logged at the default level: the construct's IgnoredTasks alarm counts these lines.
	level := slog.LevelInfo
	if task.Status == tracker.Ignored {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "failed", "status", task.Status, "retry", task.Retry, "error_name", in.Error.Error, "permanent", failure.Permanent, "fingerprint", fp)
	return &contract.FailOutput{
		JobID: task.JobID, TaskID: task.TaskID, Status: task.Status, Retry: task.Retry,
		WillRetry: task.Status == tracker.Failed, Ignored: task.Status == tracker.Ignored, Permanent: failure.Permanent,
		BackoffSeconds: int(h.Tracker.BackoffAfter(task.Retry) / time.Second), RetryAt: task.RetryAt,
	}, nil
}

// outcome is the metric of a recorded failure: failed while the task will be retried,
// ignored once it will not.
func outcome(s tracker.Status) emf.Metric {
	if s == tracker.Ignored {
		return lambdafn.Ignored
	}
	return lambdafn.Failed
}

// failureOf turns a Step Functions error into the task's error record, and names its
// errorType. When Cause is the JSON of a Lambda error, the record reads "errorType:
// errorMessage" with its stack trace; otherwise "Error: Cause", and the errorType is Error. A
// Lambda error that Step Functions cut (it keeps 32,768 characters of a Cause) is read as far
// as it goes, its stack up to the last whole frame and then causeCut.
func failureOf(e contract.StepError) (tracker.Failure, string) {
	if le, cut, ok := lambdaError(e.Cause); ok {
		name := le.ErrorType
		if name == "" {
			name = e.Error
		}
		stack := le.StackTrace
		if len(stack) == 0 {
			stack = le.Trace
		}
		traceback := stackText(stack)
		if cut {
			traceback = strings.TrimPrefix(traceback+"\n"+causeCut, "\n")
		}
		return tracker.Failure{Error: name + ": " + le.ErrorMessage, Traceback: traceback}, name
	}
	if e.Cause == "" {
		return tracker.Failure{Error: e.Error}, e.Error
	}
	return tracker.Failure{Error: e.Error + ": " + e.Cause}, e.Error
}

// causeCut ends the traceback of a Lambda error whose Cause was cut short.
const causeCut = "…[cut: Step Functions keeps 32,768 characters of an error's Cause]"

// lambdaError reads cause as the JSON of a Lambda error: ok when it has a message or a type.
// A cause that is not whole JSON (cut true) is read as far as it goes: its message and type
// when they are whole, its stack up to the last whole frame.
func lambdaError(cause string) (le contract.LambdaError, cut, ok bool) {
	if json.Unmarshal([]byte(cause), &le) == nil {
		return le, false, le.ErrorMessage != "" || le.ErrorType != ""
	}
	le = readCutError(cause)
	return le, true, le.ErrorMessage != "" || le.ErrorType != ""
}

// readCutError reads the members of a Lambda error's JSON object until the text ends.
func readCutError(cause string) contract.LambdaError {
	var le contract.LambdaError
	dec := json.NewDecoder(strings.NewReader(cause))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return le
	}
	for {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			return le
		}
		switch key {
		case "errorMessage":
			err = dec.Decode(&le.ErrorMessage)
		case "errorType":
			err = dec.Decode(&le.ErrorType)
		case "stackTrace":
			le.StackTrace, err = wholeFrames(dec)
		case "trace":
			le.Trace, err = wholeFrames(dec)
		default:
			err = dec.Decode(new(json.RawMessage))
		}
		if err != nil {
			return le
		}
	}
}

// wholeFrames reads a stack's JSON list and returns its whole elements as a list, with an
// error when the text ends before the list does.
func wholeFrames(dec *json.Decoder) (json.RawMessage, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, errors.New("a stack is not a list")
	}
	var frames [][]byte
	var err error
	for err == nil && dec.More() {
		var f json.RawMessage
		if err = dec.Decode(&f); err == nil {
			frames = append(frames, f)
		}
	}
	if err == nil {
		_, err = dec.Token() // the closing bracket, unless the text ended
	}
	return json.RawMessage("[" + string(bytes.Join(frames, []byte(","))) + "]"), err
}

// stackText renders a Lambda stackTrace or trace: a list of strings (Python, Node.js) or of
// frames {path, line, label} (Go).
func stackText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return strings.Join(lines, "\n")
	}
	var frames []struct {
		Path  string `json:"path"`
		Line  int    `json:"line"`
		Label string `json:"label"`
	}
	if json.Unmarshal(raw, &frames) == nil {
		var b strings.Builder
		for _, f := range frames {
			fmt.Fprintf(&b, "%s:%d %s\n", f.Path, f.Line, f.Label)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	return string(raw)
}
