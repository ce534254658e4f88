package tracker_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// FuzzValidateID checks that every id pair ValidateID accepts makes a key that splits back,
// at its first separator, into the same job and task, as the seed's key.split does.
func FuzzValidateID(f *testing.F) {
	for _, s := range [][2]string{{"parse-json", "t-1"}, {"a_", "b"}, {"a", "_b"}, {"a", "b____"}, {"", "x"}, {"j", "\xff"}, {"j___", "_"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, job, task string) {
		err := tracker.ValidateID(job, task)
		if err != nil {
			if !errors.Is(err, tracker.ErrInvalidInput) {
				t.Fatalf("error %v is not ErrInvalidInput", err)
			}
			return
		}
		key := job + tracker.Separator + task
		parts := strings.SplitN(key, tracker.Separator, 2)
		if parts[0] != job || parts[1] != task || len(key) > tracker.MaxKeyBytes || !utf8.ValidString(key) ||
			strings.ContainsFunc(key, func(r rune) bool {
				return unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
			}) {
			t.Fatalf("accepted %q/%q, but the key %q reads back as %q", job, task, key, parts)
		}
		value := job + tracker.Separator + "06"
		if strings.SplitN(value, tracker.Separator, 2)[1] != "06" {
			t.Fatalf("index key %q does not read back its status code", value)
		}
	})
}

// FuzzNormalizeData checks that accepted data is always one compact JSON object within the
// size limit, equal in meaning to the input.
func FuzzNormalizeData(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": [1, 2, {"b": null}]}`, `[1]`, `"s"`, `null`, ``, `{"a":`, ` {"x": "\u00e9"} `, `{"a":1}{"b":2}`, "{\"a\": \"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := tracker.NormalizeData(in)
		if err != nil {
			if !errors.Is(err, tracker.ErrInvalidInput) {
				t.Fatalf("error %v is not ErrInvalidInput", err)
			}
			return
		}
		if out == nil {
			return
		}
		var obj, orig map[string]any
		if json.Unmarshal(out, &obj) != nil || obj == nil || len(out) > tracker.MaxDataBytes {
			t.Fatalf("accepted %q as %q, not a JSON object within the limit", in, out)
		}
		if json.Unmarshal(in, &orig) != nil || !utf8.Valid(in) {
			t.Fatalf("accepted %q that is not a single JSON object", in)
		}
	})
}
