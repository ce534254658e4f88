package tracker

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Item size budget. DynamoDB refuses an item over 400 KB (409,600 bytes), counting each
// attribute's name and value (a string's UTF-8 bytes). Every attribute is bounded here, and
// Fail cuts the failure record to what is left, so a write never makes the item too large.
const (
	// ItemLimit is DynamoDB's item size limit.
	ItemLimit = 400 * 1024
	// MaxOwnerBytes bounds the owner a claim records (lock_owner).
	MaxOwnerBytes = 1024
	// MaxHistoryBytes bounds the attempt history attribute (its name and value).
	MaxHistoryBytes = 16 * 1024
	// bookkeepingBytes bounds the names and values of every other attribute: update_time,
	// retry, lock, lock_time, create_time, attempts, lock_owner (MaxOwnerBytes), last_lock,
	// last_outcome and retry_at come to under 1,600 bytes.
	bookkeepingBytes = 2048
	// maxStoredDataBytes is the largest data the failure record makes room for: more than
	// this package accepts (MaxDataBytes, bounded by Step Functions' payload limit), since the
	// seed's set_data and earlier versions of this package stored up to 350 KiB.
	maxStoredDataBytes = 350 * 1024
)

// maxErrorsBytes is how long the errors attribute of job/task may be, once the key, the
// index key, data at its largest (maxStoredDataBytes), the history at its largest and the bookkeeping are counted.
func maxErrorsBytes(job, task string) int {
	return ItemLimit -
		(len(KeyAttribute) + len(makeKey(job, task))) -
		(len(StatusAttribute) + len(makeValue(job, 99))) -
		(len(attrData) + maxStoredDataBytes) -
		MaxHistoryBytes -
		bookkeepingBytes -
		len(attrErrors)
}

// encodeErrors is the `errors` attribute of a failure: the seed's {"error", "traceback"}
// object, within limit bytes as stored. The error is cut to MaxErrorBytes and the traceback
// to MaxTracebackBytes, and then both by their encoded size (JSON escaping grows a control
// character to six bytes), the traceback first, so the record always fits. Go's HTML
// escaping is off: it would grow a '<' to six bytes.
func encodeErrors(e TaskError, limit int) string {
	e.Error = truncate(e.Error, MaxErrorBytes)
	e.Traceback = truncate(e.Traceback, MaxTracebackBytes)
	empty := len(encodeJSON(TaskError{}))
	e.Error = cutEncoded(e.Error, min(encodedLen(e.Error), (limit-empty)/4))
	e.Traceback = cutEncoded(e.Traceback, limit-empty-encodedLen(e.Error))
	return encodeJSON(e)
}

// encodeJSON encodes v compactly without HTML escaping.
func encodeJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // only strings, numbers and structs of them: it cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

const truncatedNote = "\n…[truncated]"

// cutEncoded cuts s on a rune boundary so that its JSON encoding, quotes left out, is at most
// n bytes, ending it with a note when it cuts.
func cutEncoded(s string, n int) string {
	if encodedLen(s) <= n {
		return s
	}
	room := n - encodedLen(truncatedNote)
	used := 0
	for i, r := range s {
		w := runeEncodedLen(r, s[i:])
		if used+w > room {
			return s[:i] + truncatedNote
		}
		used += w
	}
	return s
}

// encodedLen is the length of s as a JSON string without HTML escaping, quotes left out.
func encodedLen(s string) int {
	n := 0
	for i, r := range s {
		n += runeEncodedLen(r, s[i:])
	}
	return n
}

// runeEncodedLen is how many bytes encoding/json writes for the rune r starting rest.
func runeEncodedLen(r rune, rest string) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t' || r == '\b' || r == '\f':
		return 2
	case r < 0x20 || r == '\u2028' || r == '\u2029':
		return 6
	case r == utf8.RuneError:
		if _, size := utf8.DecodeRuneInString(rest); size == 1 {
			return 6 // an invalid byte becomes \ufffd
		}
	}
	return utf8.RuneLen(r)
}
