package handler

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Events that set every field of every function's event type (each mode of claim and
// list-pending at once: Decode checks keys and types, the handler the modes), with payloads
// whose keys differ only in case.
const (
	lease    = `{"job_id":"j","task_id":"t","token":"0123456789abcdef0123456789abcdef","retry":1,"attempt":2,"owner":"exec","expires":"2026-11-29T00:58:51Z"}`
	runLease = `{"job_id":"j","token":"5eed5eed5eed5eed5eed5eed5eed5eed","owner":"exec","expires":"2026-11-29T01:00:00Z"}`
	progress = `{"rounds":1,"waits":2,"executions":3,"steps":4,"lease":` + runLease + `}`
	bulk     = `{"id":"b-1","job_id":"j","action":"retry","select":{"fingerprint":"v1:0123456789ab","error":"boom","statuses":["failed"]},` +
		`"before":"2026-11-29T00:00:00Z","cursor":"c","listed":3,"changed":2,"refused":1,"refused_by":{"running":1},` +
		`"refusals":[{"task_id":"t","reason":"running"}],"steps":1,"done":true,"started":"2026-11-29T00:00:00Z","updated":"2026-11-29T00:00:01Z"}`
	runInput = `{"job_id":"j","job_ids":["a"],"all_jobs":true,"task_ids":["t"],"concurrency":3,"max_rounds":4,"max_steps":5,` +
		`"resume":` + progress + `,"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID":"parent",` +
		`"bulk":{"action":"retry","fingerprint":"v1:0123456789ab","error":"boom","statuses":["failed"],"id":"b-1","step_tasks":10,"resume":` + bulk + `}}`
	bulkState = `{"progress":` + bulk + `,"step_tasks":10,"max_steps":5,"steps":1,"next":"step","handover":{"name":"n","arn":"a","input":` + runInput + `}}`
	run       = `{"job_id":"j","sweep":true,"starts":[{"job_id":"k","name":"k-1"}],"live":["l"],"task_ids":["t"],` +
		`"concurrency":50,"lanes":2,"loops":25,"max_rounds":25,"max_steps":400,"work_timeout":60,"lease":` + runLease + `,"holder":"h","bulk":` + bulkState + `}`
	claimEventJSON = `{"job_id":"j","task_id":"t","execution_id":"exec",` +
		`"lane":{"job_id":"j","slot":1,"run":{"owner":"exec","token":"tok","pass":1,"lanes":2,"loops":3,"task_ids":["t"],"work_timeout":60,"budget":300,"max_tasks":9}},` +
		`"next":{"job_id":"j","item":{"loop":1,"task_id":"t"},` +
		`"at":{"loop":1,"of":2,"part":3,"parts":4,"from":"a","until":"b","after":"c","helping":true,"wrapped":true,"stragglers":true,"claimed":5,"refused":6,"done":true},` +
		`"lane":{"slot":1,"lanes":2,"loops":3,"started":"2026-11-29T00:00:00Z","budget":300,"max_tasks":9,"work_timeout":60},"execution_id":"exec"},` +
		`"bulk":{"state":` + bulkState + `,"execution":"exec","machine":"sm"}}`
	completeEventJSON = `{"lease":` + lease + `,"result":{"Lease":1,"lease":{"TOKEN":1,"token":2},"Job_ID":"x"}}`
	failEventJSON     = `{"lease":` + lease + `,"error":{"Error":"WorkerError","Cause":"{\"errorMessage\":\"boom\",\"ErrorMessage\":\"x\"}"},"release":true}`
	listPendingJSON   = `{"run":` + runInput + `,"execution":"exec",` +
		`"plan":{"run":` + run + `,"n":` + progress + `,"execution":"exec","machine":"sm"},"end":{"run":` + run + `}}`
)

// TestEventKeysMatchExactly: every function's event takes each key of its own objects
// exactly as the field's JSON name, at every level (encoding/json alone would match "Job_ID"
// or "tasK_id" with a Kelvin sign to job_id and task_id); a key that differs from a field's
// only in case is refused with InvalidInput naming the key and the field. Inside a payload
// (complete's result) keys are the user's and stay as they are.
func TestEventKeysMatchExactly(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		into     func() any
		payloads []string // paths of the payload objects whose keys are free
	}{
		{"claim: a named task, a lane's start, a loop's next task and a bulk step", claimEventJSON, func() any { return new(claimEvent) },
			[]string{"bulk.state.progress.refused_by", "bulk.state.handover.input.bulk.resume.refused_by"}}, // counts by reason: a map
		{"complete", completeEventJSON, func() any { return new(contract.CompleteInput) }, []string{"result"}},
		{"fail", failEventJSON, func() any { return new(contract.FailInput) }, nil},
		{"list-pending: run, plan and end", listPendingJSON, func() any { return new(contract.ListPendingInput) }, []string{"run.bulk.resume.refused_by",
			"plan.run.bulk.progress.refused_by", "plan.run.bulk.handover.input.bulk.resume.refused_by",
			"end.run.bulk.progress.refused_by", "end.run.bulk.handover.input.bulk.resume.refused_by"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.into()
			if err := lambdafn.Decode([]byte(tc.event), v); err != nil {
				t.Fatalf("the exact event is refused: %v", err)
			}
			everyFieldSet(t, reflect.ValueOf(v).Elem(), "event")
			variants := keyVariants(t, tc.event, tc.payloads)
			for _, vr := range variants {
				err := lambdafn.Decode([]byte(vr.event), tc.into())
				var ve *tracker.ValidationError
				want := fmt.Sprintf("is not a field of this event, but differs only in case from the field %q: keys must match exactly", vr.like)
				if !errors.As(err, &ve) || ve.Field != vr.field || ve.Reason != want || lambdafn.ErrorName(err) != contract.ErrInvalidInput {
					t.Errorf("key %s: Decode = %v, want InvalidInput on %s: %s", vr.field, err, vr.field, want)
				}
			}
			if len(variants) < strings.Count(tc.event, `":`)/2 {
				t.Errorf("only %d keys varied", len(variants))
			}
		})
	}

	var in contract.CompleteInput
	if err := lambdafn.Decode([]byte(completeEventJSON), &in); err != nil {
		t.Fatal(err)
	}
	if want := `{"Lease":1,"lease":{"TOKEN":1,"token":2},"Job_ID":"x"}`; string(in.Result) != want {
		t.Errorf("a payload's keys are not kept as they are: result = %s, want %s", in.Result, want)
	}
}

// TestDecodeRefusesKeys: the keys Decode refuses beside those that differ only in case.
func TestDecodeRefusesKeys(t *testing.T) {
	tests := []struct {
		name, event   string
		into          any
		field, reason string
	}{
		{"a Kelvin sign for k, which encoding/json folds to k", "{\"job_id\":\"j\",\"tas\u212a_id\":\"t\"}", new(claimEvent),
			"tas\u212a_id", `is not a field of this event, but differs only in case from the field "task_id": keys must match exactly`},
		{"a key that resembles no field, with its path", `{"lease":{"job_id":"j","task_id":"t","tokn":"x"}}`, new(contract.CompleteInput),
			"lease.tokn", "is not a field of this event"},
		{"a key twice in a payload's object", `{"lease":` + lease + `,"result":{"a":{"b":1,"b":2}}}`, new(contract.CompleteInput),
			"result.a.b", "appears twice in one object"},
		{"a key twice in an event's object", `{"lease":{"job_id":"j","job_id":"k"}}`, new(contract.FailInput),
			"lease.job_id", "appears twice in one object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := lambdafn.Decode([]byte(tc.event), tc.into)
			var ve *tracker.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || ve.Reason != tc.reason {
				t.Errorf("Decode = %v, want invalid %s: %s", err, tc.field, tc.reason)
			}
		})
	}
}

// variant is an event with one key changed in case: the key's path, and the path of the
// field it resembles.
type variant struct{ event, field, like string }

// keyVariants returns, for every key of event outside the payloads, the event with that
// key's first letter in the other case.
func keyVariants(t *testing.T, event string, payloads []string) []variant {
	t.Helper()
	free := map[string]bool{}
	for _, p := range payloads {
		free[p] = true
	}
	dec := json.NewDecoder(strings.NewReader(event))
	var out []variant
	var walk func(path string, inPayload bool)
	walk = func(path string, inPayload bool) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				k := kt.(string)
				field := join(path, k)
				if !inPayload {
					end := int(dec.InputOffset())
					start := end - len(strconv.Quote(k))
					out = append(out, variant{event: event[:start] + strconv.Quote(flipFirst(k)) + event[end:], field: join(path, flipFirst(k)), like: field})
				}
				walk(field, inPayload || free[field])
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for dec.More() {
				walk(path+"[]", inPayload)
			}
			_, _ = dec.Token()
		}
	}
	walk("", false)
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// flipFirst changes the case of the first letter of k.
func flipFirst(k string) string {
	r, n := utf8.DecodeRuneInString(k)
	if unicode.IsUpper(r) {
		return string(unicode.ToLower(r)) + k[n:]
	}
	return string(unicode.ToUpper(r)) + k[n:]
}

// everyFieldSet fails the test for a field of v, at any depth, left at its zero value: the
// event must hold every key of its type for keyVariants to vary them all.
func everyFieldSet(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch {
	case v.Kind() == reflect.Pointer && !v.IsNil():
		everyFieldSet(t, v.Elem(), path)
	case v.IsZero():
		t.Errorf("the event leaves %s unset: give it a value", path)
	case v.Type().Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(v.Type()).Implements(reflect.TypeFor[json.Unmarshaler]()),
		reflect.PointerTo(v.Type()).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if f.Anonymous && f.Tag.Get("json") == "" {
				everyFieldSet(t, v.Field(i), path)
				continue
			}
			everyFieldSet(t, v.Field(i), path+"."+name)
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			everyFieldSet(t, v.Index(i), path+"[]")
		}
	}
}
