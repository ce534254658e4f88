package tracker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits enforced before any write.
const (
	// MaxKeyBytes bounds {job_id}____{task_id}: the key is also the index's range key, and
	// DynamoDB limits an index key attribute to 1,024 bytes.
	MaxKeyBytes = 1024
	// MaxJobBytes bounds a job id so that the longest key derived from it, a sharded index
	// value {job_id}____{code}____{shard}, stays within MaxKeyBytes too.
	MaxJobBytes = MaxKeyBytes - 3*len(Separator)
	// MaxDataBytes bounds a task's data (compact JSON). The state machine carries the data
	// to the worker (and the worker's result back) inside one state, and Step Functions fails
	// an execution whose state passes 262,144 bytes, uncatchably: 192 KiB leaves room for the
	// ids and the lease beside it, at their longest (see the budget test in
	// internal/localstack). It also keeps the item far under DynamoDB's 400 KB.
	MaxDataBytes = 192 * 1024
	// MaxErrorBytes and MaxTracebackBytes bound a failure record; longer text is cut with a
	// note rather than refused, since a failure must always be recorded.
	MaxErrorBytes     = 4 * 1024
	MaxTracebackBytes = 32 * 1024
)

// ValidateID checks a job id and a task id against the key scheme: neither empty nor
// holding the separator "____", valid UTF-8 without control characters (Unicode Cc) or
// bidirectional override and isolate characters (U+202A–U+202E, U+2066–U+2069, which make an
// id display as another), the job id not ending in '_' (else "a_"+"____"+"b" would read back
// as job "a", task "_b"), and the key within MaxKeyBytes.
func ValidateID(job, task string) error {
	for _, f := range []struct{ field, v string }{{"job_id", job}, {"task_id", task}} {
		switch {
		case f.v == "":
			return &ValidationError{Field: f.field, Reason: "must not be empty"}
		case !utf8.ValidString(f.v):
			return &ValidationError{Field: f.field, Reason: "must be valid UTF-8"}
		case strings.Contains(f.v, Separator):
			return &ValidationError{Field: f.field, Reason: fmt.Sprintf("%q contains the separator %q", clip(f.v), Separator)}
		}
		if i := strings.IndexFunc(f.v, forbiddenInID); i >= 0 {
			r, _ := utf8.DecodeRuneInString(f.v[i:])
			return &ValidationError{Field: f.field, Reason: fmt.Sprintf("%q holds %U at byte %d: control and bidirectional-override characters are not allowed", clip(f.v), r, i)}
		}
	}
	if len(job) > MaxJobBytes {
		return &ValidationError{Field: "job_id", Reason: fmt.Sprintf("is %d bytes, over %d: its sharded index key {job_id}____{code}____{shard} would pass DynamoDB's %d-byte key limit", len(job), MaxJobBytes, MaxKeyBytes)}
	}
	if strings.HasSuffix(job, "_") {
		return &ValidationError{Field: "job_id", Reason: fmt.Sprintf("%q ends with '_', which would blur into the separator", clip(job))}
	}
	if n := len(makeKey(job, task)); n > MaxKeyBytes {
		return &ValidationError{Field: "task_id", Reason: fmt.Sprintf("key is %d bytes, over DynamoDB's %d-byte key limit", n, MaxKeyBytes)}
	}
	return nil
}

// validateStoredID checks only what any stored key satisfies (ids non-empty, without the
// separator), for reads: a task another writer created with an id ValidateID refuses (a
// control character, say) can still be read.
func validateStoredID(job, task string) error {
	for _, f := range []struct{ field, v string }{{"job_id", job}, {"task_id", task}} {
		if f.v == "" || strings.Contains(f.v, Separator) {
			return &ValidationError{Field: f.field, Reason: "must be non-empty and hold no " + Separator}
		}
	}
	return nil
}

// forbiddenInID reports the runes an id must not hold: control characters, and the bidi
// embedding, override and isolate characters.
func forbiddenInID(r rune) bool {
	return unicode.Is(unicode.Cc, r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// ValidateJob checks a job id alone, for queries.
func ValidateJob(job string) error { return ValidateID(job, "x") }

// NormalizeData checks that data is nil (no data) or one JSON object in valid UTF-8 (invalid
// bytes are refused, never replaced) within MaxDataBytes,
// and returns it compacted, the form stored in the table.
func NormalizeData(data json.RawMessage) (json.RawMessage, error) {
	if data == nil {
		return nil, nil
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	if !utf8.Valid(trimmed) {
		// json.Compact would pass it through and encoding it would replace the bad bytes:
		// the stored data would not be what the caller sent.
		return nil, &ValidationError{Field: "data", Reason: "is not valid UTF-8"}
	}
	if trimmed[0] != '{' {
		return nil, &ValidationError{Field: "data", Reason: "must be a JSON object"}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, &ValidationError{Field: "data", Reason: "is not valid JSON: " + err.Error()}
	}
	if buf.Len() > MaxDataBytes {
		return nil, &ValidationError{Field: "data", Reason: fmt.Sprintf("is %d bytes, over the %d-byte limit that keeps the item under 400 KB", buf.Len(), MaxDataBytes)}
	}
	return buf.Bytes(), nil
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// truncate cuts s to at most n bytes on a rune boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const note = "\n…[truncated]"
	cut := n - len(note)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + note
}
