package lambdafn

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"

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

// Decode reads an event strictly into v: one JSON object, no unknown fields, every key of
// the event's own objects exactly a field's JSON name (encoding/json alone would take "Job_ID"
// for job_id), no key twice in an object, every value of the right type, at most
// MaxEventBytes. Inside a payload (a json.RawMessage field such as data or result, a map, an
// interface) keys are the payload's own: any key goes but a repeated one. Its errors are
// *tracker.ValidationError naming the field, so they map to InvalidInput.
func Decode(event []byte, v any) error {
	if len(event) > MaxEventBytes {
		return &tracker.ValidationError{Field: "event", Reason: fmt.Sprintf("is %d bytes, over the %d-byte limit", len(event), MaxEventBytes)}
	}
	if err := checkKeys(event, reflect.TypeOf(v)); err != nil {
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

// checkKeys walks the event beside t, the type it decodes into, and refuses a key of a
// struct's object that is not exactly one of its fields' JSON names, and a key twice in any
// object. Malformed JSON is left to the decoder to explain.
func checkKeys(event []byte, t reflect.Type) error {
	w := keyWalker{dec: json.NewDecoder(bytes.NewReader(event))}
	w.dec.UseNumber()
	err := w.value("", t)
	if errors.Is(err, errMalformed) {
		return nil
	}
	return err
}

// errMalformed stops a keyWalker at JSON it cannot read.
var errMalformed = errors.New("malformed JSON")

// keyWalker reads an event's tokens beside the Go types they decode into.
type keyWalker struct{ dec *json.Decoder }

// value reads the value at path, which decodes into t (nil: a payload, any keys).
func (w keyWalker) value(path string, t reflect.Type) error {
	tok, err := w.dec.Token()
	if err != nil {
		return errMalformed
	}
	t = decodedType(t)
	switch tok {
	case json.Delim('{'):
		return w.object(path, t)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for w.dec.More() {
			if err := w.value(path+"[]", elem); err != nil {
				return err
			}
		}
		return w.end()
	}
	return nil
}

// object reads the members of an object at path that decodes into t.
func (w keyWalker) object(path string, t reflect.Type) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t != nil && t.Kind() == reflect.Struct:
		fields = jsonFields(t)
	case t != nil && t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for w.dec.More() {
		kt, err := w.dec.Token()
		if err != nil {
			return errMalformed
		}
		k, _ := kt.(string)
		field := joinPath(path, k)
		if seen[k] {
			return &tracker.ValidationError{Field: field, Reason: "appears twice in one object"}
		}
		seen[k] = true
		next := elem
		if fields != nil {
			var ok bool
			if next, ok = fields[k]; !ok {
				return unknownKey(path, k, fields)
			}
		}
		if err := w.value(field, next); err != nil {
			return err
		}
	}
	return w.end()
}

// end reads the delimiter that closes an object or an array.
func (w keyWalker) end() error {
	if _, err := w.dec.Token(); err != nil {
		return errMalformed
	}
	return nil
}

// unknownKey is the error of key, in the object at path, that is none of fields: it names
// the field the key differs from only in case, if any.
func unknownKey(path, key string, fields map[string]reflect.Type) error {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return &tracker.ValidationError{Field: joinPath(path, key),
				Reason: fmt.Sprintf("is not a field of this event, but differs only in case from the field %q: keys must match exactly", joinPath(path, name))}
		}
	}
	return &tracker.ValidationError{Field: joinPath(path, key), Reason: "is not a field of this event"}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodedType is the type whose keys the value decoding into t must match: t without its
// pointers, or nil when the keys are free (a payload: json.RawMessage, an interface, a type
// that decodes itself such as time.Time).
func decodedType(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	if p := reflect.PointerTo(t); p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType) {
		return nil
	}
	return t
}

// fieldCache holds jsonFields by struct type.
var fieldCache sync.Map

// jsonFields returns the JSON names of struct type t's fields, as encoding/json sees them
// (the fields of an embedded struct without a tag promoted, a shallower name winning), each
// with the field's type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	level := []reflect.Type{t}
	for len(level) > 0 {
		var next []reflect.Type
		found := map[string]reflect.Type{}
		for _, st := range level {
			next = append(next, addFields(st, found)...)
		}
		for name, ft := range found {
			if _, shallower := fields[name]; !shallower {
				fields[name] = ft
			}
		}
		level = next
	}
	fieldCache.Store(t, fields)
	return fields
}

// addFields adds the JSON names of st's own fields to found, and returns the embedded
// structs whose fields are promoted.
func addFields(st reflect.Type, found map[string]reflect.Type) []reflect.Type {
	var embedded []reflect.Type
	for i := range st.NumField() {
		f := st.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			embedded = append(embedded, ft)
		case !f.IsExported():
		case name == "":
			found[f.Name] = f.Type
		default:
			found[name] = f.Type
		}
	}
	return embedded
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
