package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// MaxEventBytes bounds an event: the largest data a task may hold plus room for the rest.
const MaxEventBytes = tracker.MaxDataBytes + 16*1024

// ErrorName returns the stable errorType of err (see package contract).
func ErrorName(err error) string {
	switch {
	case errors.Is(err, tracker.ErrInvalidInput):
		return contract.ErrInvalidInput
	case errors.Is(err, tracker.ErrTaskNotFound):
		return contract.ErrTaskNotFound
	case errors.Is(err, tracker.ErrJobNotFound):
		return contract.ErrJobNotFound
	case errors.Is(err, tracker.ErrTaskLocked):
		return contract.ErrTaskLocked
	case errors.Is(err, tracker.ErrTaskNotDue):
		return contract.ErrTaskNotDue
	case errors.Is(err, tracker.ErrTaskAlreadySucceeded):
		return contract.ErrTaskAlreadySucceeded
	case errors.Is(err, tracker.ErrTaskIgnored):
		return contract.ErrTaskIgnored
	case errors.Is(err, tracker.ErrLeaseLost):
		return contract.ErrLeaseLost
	case errors.Is(err, tracker.ErrTaskWrongStatus):
		return contract.ErrTaskWrongStatus
	case errors.Is(err, tracker.ErrInvalidWorkerOutput):
		return contract.ErrInvalidWorkerOutput
	case tracker.IsTransient(err), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return contract.ErrTrackerUnavailable
	}
	return contract.ErrInternal
}

// Error turns err into the error a handler returns, so that aws-lambda-go reports
// ErrorName(err) as the errorType instead of the Go type of the outermost wrapper.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	// The state machine records Error and Cause as "Error: Cause": the cause of a bad
	// output is its reason alone, so that the record reads as package worker's does.
	if wo := (*tracker.WorkerOutputError)(nil); errors.As(err, &wo) {
		msg = wo.Reason
	}
	return messages.InvokeResponse_Error{Type: ErrorName(err), Message: msg}
}

// Decode reads an event strictly into v: one JSON object, no unknown fields, no key twice in
// an object, no two keys of the event's own objects that differ only in case (encoding/json
// would match both to one field, the last one winning), every value of the right type, at
// most MaxEventBytes. Its errors are *tracker.ValidationError naming the field, so they map
// to InvalidInput.
func Decode(event []byte, v any) error {
	if len(event) > MaxEventBytes {
		return &tracker.ValidationError{Field: "event", Reason: fmt.Sprintf("is %d bytes, over the %d-byte limit", len(event), MaxEventBytes)}
	}
	if err := checkKeys(event); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &tracker.ValidationError{Field: "event", Reason: "must be a single JSON object"}
	}
	return nil
}

// payloadKeys name the event fields that hold a task's own JSON (data, a result, a stack
// trace): inside them keys that differ only in case are the payload's business.
var payloadKeys = map[string]bool{"data": true, "result": true, "stackTrace": true}

// checkKeys refuses an object holding a key twice, anywhere in the event, and two keys that
// differ only in case outside the payloads. Malformed JSON is left to the decoder to explain.
func checkKeys(event []byte) error {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var walk func(path string, folding bool) error
	walk = func(path string, folding bool) error {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]string{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil
				}
				k, _ := kt.(string)
				field := k
				if path != "" {
					field = path + "." + k
				}
				id := k
				if folding {
					id = strings.ToLower(k)
				}
				if prev, dup := seen[id]; dup {
					if prev == k {
						return &tracker.ValidationError{Field: field, Reason: "appears twice in one object"}
					}
					return &tracker.ValidationError{Field: field, Reason: fmt.Sprintf("differs from the key %q only in case", prev)}
				}
				seen[id] = k
				if err := walk(field, folding && !payloadKeys[k]); err != nil {
					return err
				}
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for dec.More() {
				if err := walk(path+"[]", folding); err != nil {
					return err
				}
			}
			_, _ = dec.Token()
		}
		return nil
	}
	return walk("", true)
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var ve *tracker.ValidationError
	switch {
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "event"
		}
		return &tracker.ValidationError{Field: field, Reason: fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &syntaxErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &tracker.ValidationError{Field: "event", Reason: "is not valid JSON: " + err.Error()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &tracker.ValidationError{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Reason: "is not a field of this event"}
	}
	return &tracker.ValidationError{Field: "event", Reason: err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "map", "ptr":
		return "an object"
	}
	return goKind
}

// Missing returns the InvalidInput error of a required field the event lacks.
func Missing(field string) error {
	return &tracker.ValidationError{Field: field, Reason: "is required"}
}

// Fail logs a refused or failed step, with the errorType it will carry, and returns the
// error the handler returns (see Error). Refusals log at info: they are expected outcomes
// the state machine branches on; invalid input warns; anything else is an error.
func Fail(ctx context.Context, log *slog.Logger, step string, err error) error {
	name := ErrorName(err)
	level := slog.LevelInfo
	switch {
	case name == contract.ErrInvalidInput:
		level = slog.LevelWarn
	case !IsRefusal(err):
		level = slog.LevelError
	}
	log.Log(ctx, level, step+" refused", "error_type", name, "error", err.Error())
	return Error(err)
}

// IsRefusal reports whether err is the tracker refusing a transition the task's state does
// not allow (TaskLocked, TaskNotDue, LeaseLost, ...): an expected outcome the state machine
// branches on, not bad input, an unavailable table or a bug.
func IsRefusal(err error) bool {
	switch ErrorName(err) {
	case contract.ErrInvalidInput, contract.ErrInvalidWorkerOutput, contract.ErrTrackerUnavailable, contract.ErrInternal:
		return false
	}
	return true
}
