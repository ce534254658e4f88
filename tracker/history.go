package tracker

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attempt is one failed attempt of a task, as kept in its history.
type Attempt struct {
	// Attempt is the attempt's number among the task's claims (Task.Attempts when claimed).
	Attempt int `json:"attempt"`
	// Time is when the failure was recorded.
	Time time.Time `json:"time"`
	// Holder is the owner that held the lease, as given to Claim.
	Holder string `json:"holder"`
	// Error and Traceback describe the failure, cut short.
	Error     string `json:"error"`
	Traceback string `json:"traceback"`
	// Fingerprint groups the failure with those of the same cause (package fingerprint,
	// computed from the whole error and traceback before they were cut); empty for an entry
	// written before failures were fingerprinted.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// History bounds: the attribute keeps the last MaxHistory failures, each entry (a JSON text
// in a list) within maxEntryBytes, so that the attribute stays within MaxHistoryBytes.
const (
	MaxHistory       = 10
	maxEntryBytes    = (MaxHistoryBytes-len(attrHistory)-3)/MaxHistory - 1
	maxHolderInEntry = 128
	maxErrorInEntry  = 256
)

// attrHistory is a list of JSON texts, one per failed attempt, at most MaxHistory of them.
// The seed's code ignores it.
const attrHistory = "history"

// encodeAttempt is one history entry as stored: a JSON text within maxEntryBytes. An
// attempt without a fingerprint gets the one of its error and traceback.
func encodeAttempt(a Attempt) string {
	if a.Fingerprint == "" {
		a.Fingerprint = fingerprintOf(a.Error, a.Traceback)
	}
	s := storedAttempt{Attempt: a.Attempt, Time: formatTime(a.Time), Fingerprint: a.Fingerprint,
		Holder: cutEncoded(a.Holder, maxHolderInEntry), Error: cutEncoded(a.Error, maxErrorInEntry)}
	s.Traceback = cutEncoded(a.Traceback, maxEntryBytes-len(encodeJSON(s)))
	return encodeJSON(s)
}

// storedAttempt is Attempt with the contract's time format.
type storedAttempt struct {
	Attempt     int    `json:"attempt"`
	Time        string `json:"time"`
	Holder      string `json:"holder"`
	Error       string `json:"error"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Traceback   string `json:"traceback"`
}

// decodeHistory reads the stored entries, oldest attempt first, skipping any it cannot read.
func decodeHistory(entries []string) []Attempt {
	var out []Attempt
	for _, e := range entries {
		var s storedAttempt
		if json.Unmarshal([]byte(e), &s) != nil {
			continue
		}
		at, _ := parseTime(s.Time)
		out = append(out, Attempt{Attempt: s.Attempt, Time: at, Holder: s.Holder, Error: s.Error, Traceback: s.Traceback, Fingerprint: s.Fingerprint})
	}
	slices.SortStableFunc(out, func(a, b Attempt) int { return a.Attempt - b.Attempt })
	return out
}

// emptyHistory is the history a claim makes sure exists, so that Fail can set an entry by
// its index in the same write that records the failure.
var emptyHistory = expression.Value(&types.AttributeValueMemberL{Value: []types.AttributeValue{}})

// historySlot is the list index Fail writes attempt n's entry to: the list is a ring of
// MaxHistory slots. While the list is shorter than the slot, DynamoDB appends the entry
// instead, so the list never holds more than MaxHistory entries.
func historySlot(n int) int { return ((n-1)%MaxHistory + MaxHistory) % MaxHistory }

// isMissingHistory reports whether err is DynamoDB refusing an indexed SET on a history
// attribute that does not exist (a task claimed before the tracker kept histories).
func isMissingHistory(err error) bool {
	var ve interface{ ErrorMessage() string }
	return errors.As(err, &ve) && strings.Contains(ve.ErrorMessage(), "document path provided in the update expression is invalid")
}
