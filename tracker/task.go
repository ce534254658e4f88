package tracker

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Task is one task as stored in the table.
type Task struct {
	JobID  string `json:"job_id"`
	TaskID string `json:"task_id"`
	Status Status `json:"status"`
	// Code is the stored status code.
	Code int `json:"code"`
	// Retry counts failed attempts since the last success.
	Retry int `json:"retry"`
	// Attempts counts claims over the task's life.
	Attempts int `json:"attempts"`
	// Data is the task's JSON object (its payload, or the result Complete stored); nil when
	// never set. Queries over the index leave it nil: use Get for the whole task.
	Data json.RawMessage `json:"data,omitempty"`
	// Error is the `errors` attribute: the last failure as the seed stores it, kept after
	// the task moves on (the seed never clears it); nil before the first failure. Queries
	// leave it nil. It is the task's current error only while the task is failed or
	// ignored: see CurrentError.
	Error *TaskError `json:"error,omitempty"`
	// Failure is the task's current failure as the failure index holds it (its fingerprint,
	// when it happened, the start of its message): set while the task is failed, or ignored
	// after a failure, for a failure recorded by this package; nil otherwise.
	Failure *TaskFailure `json:"failure,omitempty"`
	// Lock is the lease token while a worker holds the task, else empty.
	Lock string `json:"lock,omitempty"`
	// LockOwner names who holds (or last held) the lease, as given to Claim.
	LockOwner string `json:"lock_owner,omitempty"`
	// LockTime is when the lease was taken or last extended.
	LockTime time.Time `json:"lock_time"`
	// UpdateTime is when the status last changed.
	UpdateTime time.Time `json:"update_time"`
	// CreateTime is when CreateTask wrote the task; zero for tasks written by other code.
	CreateTime time.Time `json:"create_time"`
	// RetryAt is when a failed task may run again (Fail sets it from the backoff); zero when
	// it may run at once. Claim refuses a failed task before then, and a Pending listing
	// leaves it out.
	RetryAt time.Time `json:"retry_at,omitzero"`

	// History lists recent failed attempts (a lost lease included), oldest first, at most
	// MaxHistory of them; queries leave it nil. Entries fill a ring of MaxHistory slots by
	// attempt number, so once a task has also had attempts that did not fail, a new entry
	// may replace one that is not quite the oldest.
	History []Attempt `json:"history,omitempty"`

	// lastLock and lastOutcome say which lease last finished the task, and how.
	lastLock, lastOutcome string
}

// TaskError is the last failure of a task, stored as the `errors` attribute.
type TaskError struct {
	Error     string `json:"error"`
	Traceback string `json:"traceback"`
}

// CurrentError returns the task's current error: its last failure while it is failed or
// ignored, nil otherwise. A task that succeeded, or that was put back to todo, keeps its last
// failure in Error and History, but it is history, not the task's state.
func (task *Task) CurrentError() *TaskError {
	if task.Status != Failed && task.Status != Ignored {
		return nil
	}
	return task.Error
}

// LeaseExpires returns when the task's current lease runs out given the lease duration, or
// the zero time when it holds no lock.
func (task *Task) LeaseExpires(lease time.Duration) time.Time {
	if task.Lock == "" {
		return time.Time{}
	}
	return task.LockTime.Add(lease)
}

// Locked reports whether a worker holds a live lease on the task at now, by the seed's rule:
// a lock is set and now - lock_time is under the lease duration.
func (task *Task) Locked(now time.Time, lease time.Duration) bool {
	return task.Lock != "" && now.Sub(task.LockTime) < lease
}

// Names of the table's attributes and index; docs/table-layout.md is the contract.
const (
	// Separator joins job id and task id in the key, and job id and status code in the index key.
	Separator = "____"
	// KeyAttribute is the table's hash key: {job_id}____{task_id}.
	KeyAttribute = "key"
	// StatusAttribute is the index hash key: {job_id}____{two-digit status code}.
	StatusAttribute = "value"
	// IndexName is the global secondary index on job and status.
	IndexName = "status_and_task_id-index"

	attrUpdateTime  = "update_time"
	attrRetry       = "retry"
	attrLock        = "lock"
	attrLockTime    = "lock_time"
	attrData        = "data"
	attrErrors      = "errors"
	attrCreateTime  = "create_time"
	attrAttempts    = "attempts"
	attrLockOwner   = "lock_owner"
	attrLastLock    = "last_lock"
	attrLastOutcome = "last_outcome"
	attrRetryAt     = "retry_at"
)

// IndexProjection lists the non-key attributes the index carries: enough to list tasks and
// to tell an expired lease, never the task's data or errors.
func IndexProjection() []string {
	return []string{attrUpdateTime, attrRetry, attrLock, attrLockTime, attrLockOwner, attrAttempts, attrCreateTime, attrRetryAt, attrLastRun}
}

// TimeLayout is the contract's time format: six fraction digits and a literal +0000.
const TimeLayout = "2006-01-02T15:04:05.000000-0700"

// epoch is lock_time before the first claim.
var epoch = time.Unix(0, 0).UTC()

func formatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// item is the stored form of a task.
type item struct {
	Key         string   `dynamodbav:"key"`
	Value       string   `dynamodbav:"value"`
	UpdateTime  string   `dynamodbav:"update_time"`
	Retry       int      `dynamodbav:"retry"`
	Lock        *string  `dynamodbav:"lock,omitempty"`
	LockTime    string   `dynamodbav:"lock_time"`
	Data        *string  `dynamodbav:"data,omitempty"`
	Errors      *string  `dynamodbav:"errors,omitempty"`
	CreateTime  string   `dynamodbav:"create_time,omitempty"`
	Attempts    int      `dynamodbav:"attempts"`
	LockOwner   string   `dynamodbav:"lock_owner,omitempty"`
	LastLock    string   `dynamodbav:"last_lock,omitempty"`
	LastOutcome string   `dynamodbav:"last_outcome,omitempty"`
	RetryAt     string   `dynamodbav:"retry_at,omitempty"`
	History     []string `dynamodbav:"history,omitempty"`
	// The task's current failure, in the failure index while FailurePart is set.
	FailurePart    string `dynamodbav:"failure_part,omitempty"`
	FailureKey     string `dynamodbav:"failure_key,omitempty"`
	FailureMessage string `dynamodbav:"failure_message,omitempty"`
}

func makeKey(job, task string) string { return job + Separator + task }

func makeValue(job string, code int) string { return fmt.Sprintf("%s%s%02d", job, Separator, code) }

func keyAV(job, task string) map[string]types.AttributeValue { return keyAVRaw(makeKey(job, task)) }

func keyAVRaw(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: key}}
}

// splitKey splits a key at its first separator; validation guarantees job ids never end in
// '_', so the first separator is the one that joined them.
func splitKey(key string) (job, task string, err error) {
	i := strings.Index(key, Separator)
	if i < 0 {
		return "", "", fmt.Errorf("malformed key %q: no %q separator", key, Separator)
	}
	return key[:i], key[i+len(Separator):], nil
}

// decodeTask turns a raw item into a Task, with job's codes mapping the status.
func (t *Tracker) decodeTask(av map[string]types.AttributeValue) (*Task, error) {
	it, err := decodeItem(av)
	if err != nil {
		return nil, fmt.Errorf("decode task item: %w", err)
	}
	job, id, err := splitKey(it.Key)
	if err != nil {
		return nil, err
	}
	task := &Task{JobID: job, TaskID: id, Retry: it.Retry, Attempts: it.Attempts, LockOwner: it.LockOwner, Code: -1,
		lastLock: it.LastLock, lastOutcome: it.LastOutcome}
	value := it.Value
	if value == "" {
		value = it.FailurePart // an entry of the failure index, which has the status there
	}
	if code, _, ok := parseValue(job, value); ok {
		task.Code = code
	}
	task.Status = t.Codes(job).Status(task.Code)
	if it.Lock != nil {
		task.Lock = *it.Lock
	}
	for _, f := range []struct {
		text string
		dst  *time.Time
	}{{it.UpdateTime, &task.UpdateTime}, {it.LockTime, &task.LockTime}, {it.CreateTime, &task.CreateTime}, {it.RetryAt, &task.RetryAt}} {
		if f.text == "" {
			continue
		}
		if *f.dst, err = parseTime(f.text); err != nil {
			return nil, fmt.Errorf("decode task %s: %w", it.Key, err)
		}
	}
	if it.Data != nil {
		task.Data = json.RawMessage(*it.Data)
	}
	task.History = decodeHistory(it.History)
	task.Failure = decodeFailure(&it, task.Status)
	if it.Errors != nil {
		var te TaskError
		if err := json.Unmarshal([]byte(*it.Errors), &te); err != nil {
			return nil, fmt.Errorf("decode errors of task %s: %w", it.Key, err)
		}
		task.Error = &te
	}
	return task, nil
}

// parseTime reads the contract's format and, leniently, RFC 3339.
func parseTime(s string) (time.Time, error) {
	if v, ok := parseUTCTime(s); ok {
		return v, nil
	}
	if v, err := time.Parse(TimeLayout, s); err == nil {
		return v.UTC(), nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not in the %s format", s, TimeLayout)
	}
	return v.UTC(), nil
}

// parseUTCTime reads a time in TimeLayout at offset +0000, as this package writes every time,
// without time.Parse's general machinery (a listing decodes several times a task); ok is
// false for anything else, which parseTime then reads as time.Parse does.
func parseUTCTime(s string) (v time.Time, ok bool) {
	const layout = "dddd-dd-ddTdd:dd:dd.dddddd+0000" // d: a decimal digit
	if len(s) != len(layout) {
		return time.Time{}, false
	}
	for i := range len(layout) {
		if c := s[i]; layout[i] == 'd' && (c < '0' || c > '9') || layout[i] != 'd' && c != layout[i] {
			return time.Time{}, false
		}
	}
	num := func(from, to int) int {
		n := 0
		for _, c := range []byte(s[from:to]) {
			n = n*10 + int(c-'0')
		}
		return n
	}
	// Each field within its range, [lo, hi]; the day within its month below.
	fields := [...]struct{ v, lo, hi int }{
		{num(0, 4), 0, 9999}, {num(5, 7), 1, 12}, {num(8, 10), 1, 31},
		{num(11, 13), 0, 23}, {num(14, 16), 0, 59}, {num(17, 19), 0, 59}, {num(20, 26), 0, 999999},
	}
	for _, f := range fields {
		if f.v < f.lo || f.v > f.hi {
			return time.Time{}, false
		}
	}
	year, month, day := fields[0].v, time.Month(fields[1].v), fields[2].v
	if day > time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false // no such day in that month
	}
	return time.Date(year, month, day, fields[3].v, fields[4].v, fields[5].v, fields[6].v*1000, time.UTC), true
}
