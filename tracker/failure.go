package tracker

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

// The failure index. Every failure this package records (Fail, a lost lease) is
// fingerprinted (package fingerprint) and, while the task stays failed or ignored, carries
// three attributes beside the seed's:
//
//	failure_part     {job}____{status code}____{shard}    the index's hash key
//	failure_key      {fingerprint}____{failed at}         its range key: v1:3fa9c2d41b7e____2026-11-29T00:43:51.185247+0000
//	failure_message  the error's first MaxFailureMessageBytes bytes
//
// The index (FailureIndexName) is sparse: it holds an entry only for an item that has both
// keys. A claim removes failure_part, so a task leaves the index when it runs again, and
// Retry removes all three; a release back to failed puts failure_part back, and Ignore moves
// it to the ignored code. A task that succeeds keeps failure_key and failure_message (a
// claim's write cannot know them) but never failure_part again, so the index only ever holds
// tasks that are failed, or ignored after a failure, now.
//
// A job's failures are spread over FailureShards(job's shards) keys per status, the shard
// chosen by ShardOf from the task id, so that a whole job failing one way at once writes to
// several index keys, as many as its own status index is spread over or MinFailureShards,
// whichever is more: the failure index is never hotter than the status index beside it.
// Within a key, entries sort by fingerprint and then by the time of the failure: a group's
// tasks are one key range, oldest failure first.
//
// What it costs: a failure writes one index entry (about 250 to 600 bytes: one write unit)
// and the next claim of the task, or its retry, deletes it (one more); the attributes add up
// to about 350 bytes to the item while it carries them. The seed's code ignores all three.
const (
	// FailureIndexName is the sparse index of the tasks that fail now, by job, status and
	// fingerprint.
	FailureIndexName = "failure-index"
	// FailurePartAttribute is the failure index's hash key: {job}____{code}____{shard}.
	FailurePartAttribute = "failure_part"
	// FailureKeyAttribute is its range key: {fingerprint}____{time of the failure}.
	FailureKeyAttribute = "failure_key"
	attrFailureMessage  = "failure_message"
	// MinFailureShards is the fewest index keys each status of a job's failures is spread
	// over.
	MinFailureShards = 4
	// MaxFailureMessageBytes bounds the start of a failure's error text that the failure
	// index carries: what ListOptions.ErrorContains matches, and the message a listing shows.
	MaxFailureMessageBytes = 256
)

// FailureIndexProjection lists the non-key attributes the failure index carries: what a
// listing of failed tasks shows, and the failure's message. A claim takes a task out of the
// index, so no write of a running task updates an entry.
func FailureIndexProjection() []string {
	return []string{attrUpdateTime, attrRetry, attrAttempts, attrCreateTime, attrRetryAt, attrLockOwner, attrFailureMessage}
}

// failureStatuses are the statuses a task has while it is in the failure index, in the order
// the index's partitions are listed.
var failureStatuses = []Status{Failed, Ignored}

// TaskFailure is a task's current failure, as the failure index holds it.
type TaskFailure struct {
	// Fingerprint groups the failure with those of the same cause (fingerprint.Compute):
	// "v1:3fa9c2d41b7e".
	Fingerprint string `json:"fingerprint"`
	// Time is when the failure was recorded.
	Time time.Time `json:"time"`
	// Message is the start of the failure's error text, at most MaxFailureMessageBytes.
	Message string `json:"message"`
}

// FailureShards is how many index keys each status of the failures of a job of jobShards
// shards is spread over: jobShards, and at least MinFailureShards.
func FailureShards(jobShards int) int { return max(jobShards, MinFailureShards) }

// fingerprintText matches a fingerprint as fingerprint.Fingerprint.String writes it.
var fingerprintText = regexp.MustCompile(`^v[1-9][0-9]{0,3}:[0-9a-f]{` + fmt.Sprint(fingerprint.HashLen) + `}$`)

// ValidateFingerprint refuses a text that is not a fingerprint ("v1:3fa9c2d41b7e") with a
// *ValidationError, before it reaches a query or a terminal.
func ValidateFingerprint(fp string) error {
	if !fingerprintText.MatchString(fp) {
		return &ValidationError{Field: "fingerprint", Reason: fmt.Sprintf("%q is not a fingerprint (v1: and %d hexadecimal digits)", clip(fp), fingerprint.HashLen)}
	}
	return nil
}

// failurePart is the failure index's hash key of a task of job in code, in shard.
func failurePart(job string, code, shard int) string {
	return fmt.Sprintf("%s%s%02d%s%02d", job, Separator, code, Separator, shard)
}

// failurePart is the failure index's hash key of the task in status s.
func (r ref) failurePart(s Status) string { return failurePart(r.job, r.codes.Code(s), r.fshard) }

// failureKey is the failure index's range key of a failure with fingerprint fp at at.
func failureKey(fp string, at time.Time) string { return fp + Separator + formatTime(at) }

// failureMessage is the start of a failure's error text that the index carries: valid UTF-8,
// cut on a rune boundary to MaxFailureMessageBytes.
func failureMessage(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if len(text) <= MaxFailureMessageBytes {
		return text
	}
	cut := MaxFailureMessageBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// setFailure records the task's current failure (fingerprint fp at at, with error text msg)
// in status s: it enters the failure index.
func setFailure(u expression.UpdateBuilder, r ref, s Status, fp string, at time.Time, msg string) expression.UpdateBuilder {
	return u.Set(expression.Name(FailurePartAttribute), expression.Value(r.failurePart(s))).
		Set(expression.Name(FailureKeyAttribute), expression.Value(failureKey(fp, at))).
		Set(expression.Name(attrFailureMessage), expression.Value(failureMessage(msg)))
}

// clearFailure drops the task's current failure: it leaves the failure index, and its
// failure is history (Error, History).
func clearFailure(u expression.UpdateBuilder) expression.UpdateBuilder {
	return u.Remove(expression.Name(FailurePartAttribute)).
		Remove(expression.Name(FailureKeyAttribute)).
		Remove(expression.Name(attrFailureMessage))
}

// fingerprintOf is the fingerprint of a failure, as its text.
func fingerprintOf(errorText, traceback string) string {
	return fingerprint.Compute(errorText, traceback).String()
}

// splitFailureKey reads a failure index range key.
func splitFailureKey(key string) (fp string, at time.Time, ok bool) {
	fp, stamp, found := strings.Cut(key, Separator)
	if !found || ValidateFingerprint(fp) != nil {
		return "", time.Time{}, false
	}
	at, err := parseTime(stamp)
	return fp, at, err == nil
}

// decodeFailure is the current failure an item records: only while it is in the failure
// index (failure_part set) and failed or ignored.
func decodeFailure(it *item, s Status) *TaskFailure {
	if it.FailurePart == "" || (s != Failed && s != Ignored) {
		return nil
	}
	fp, at, ok := splitFailureKey(it.FailureKey)
	if !ok {
		return nil
	}
	return &TaskFailure{Fingerprint: fp, Time: at, Message: it.FailureMessage}
}
