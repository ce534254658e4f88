package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestAppendIndented holds appendIndented to json.Indent on values as encoding/json writes
// them: nested and empty objects and arrays, escapes and quotes in strings, numbers,
// literals, the task views list prints.
func TestAppendIndented(t *testing.T) {
	t.Parallel()
	msg := "IOError: <a & b> \"quoted\" \\ back\\slash\n\ttab é \u2028 {not: [json]}, \"x\":1"
	created := t0.Add(-time.Hour)
	values := []any{
		nil, true, 0, -1.5e300, "", `"`, `\`, "a\\\"b",
		[]int{}, map[string]any{}, []any{[]any{}, map[string]any{}, []any{nil}},
		map[string]any{"a": []any{1, "2", map[string]any{"b": nil, "c": []any{}}}, "d": map[string]any{"e": map[string]any{}}},
		listTask{taskView: taskView{JobID: "j", TaskID: "t-<2>", Status: "failed", Code: 6, Retry: 1, Attempts: 1, CreateTime: &created, UpdateTime: t0,
			LockOwner: "exec-1", Lease: &leaseView{Token: "tok", Taken: t0, Expires: t0.Add(time.Minute), Live: true}},
			LastError: &msg, Failure: &tracker.TaskFailure{Fingerprint: "v1:0123456789ab", Time: t0, Message: msg}},
		json.RawMessage(`{"data":[1,2,{"x":"}],{["}],"y":{}}`),
	}
	for _, v := range values {
		var compact bytes.Buffer
		enc := json.NewEncoder(&compact)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		src := bytes.TrimSuffix(compact.Bytes(), []byte("\n"))
		for _, layout := range [][2]string{{"", "  "}, {"    ", "  "}, {">", "\t"}} {
			var want bytes.Buffer
			if err := json.Indent(&want, src, layout[0], layout[1]); err != nil {
				t.Fatal(err)
			}
			if got := appendIndented([]byte("keep:"), src, layout[0], layout[1]); string(got) != "keep:"+want.String() {
				t.Errorf("appendIndented(%s, %q, %q) =\n%s\nwant\n%s", src, layout[0], layout[1], got, "keep:"+want.String())
			}
		}
	}
}

// FuzzAppendIndented: on any JSON value json.Compact accepts, appendIndented lays out its
// compact form as json.Indent does.
func FuzzAppendIndented(f *testing.F) {
	for _, s := range []string{`{"a":[1,{}],"b":"\"}"}`, `[]`, `"\\"`, `[[[]],{"":{}}]`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(s)); err != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "  ", "\t"); err != nil {
			t.Fatal(err)
		}
		if got := appendIndented(nil, compact.Bytes(), "  ", "\t"); string(got) != want.String() {
			t.Errorf("appendIndented(%s) =\n%s\nwant\n%s", compact.Bytes(), got, want.String())
		}
	})
}
