package tracker

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is the state of a task. Statuses are the API; the numbers stored in the table are
// the job's StatusCodes.
type Status int

// The statuses of a task.
const (
	// Unknown is the status of an item whose code is not one of its job's codes.
	Unknown Status = iota - 1
	// Todo is a task waiting to be claimed.
	Todo
	// InProgress is a task claimed by a worker; it is claimable again once its lease expires.
	InProgress
	// Failed is a task whose last attempt failed; it is claimable again.
	Failed
	// Succeeded is a finished task. It is never claimed again.
	Succeeded
	// Ignored is a task that failed MaxRetry times or that an operator ignored. It is never
	// claimed again unless an operator retries it.
	Ignored
)

// Statuses lists every known status in lifecycle order, in a slice of the caller's own.
func Statuses() []Status { return []Status{Todo, InProgress, Failed, Succeeded, Ignored} }

var statusNames = map[Status]string{
	Todo:       "todo",
	InProgress: "in_progress",
	Failed:     "failed",
	Succeeded:  "succeeded",
	Ignored:    "ignored",
}

// known reports whether s is one of Statuses.
func (s Status) known() bool {
	_, ok := statusNames[s]
	return ok
}

// String returns the status name used in JSON and on the command line: todo, in_progress,
// failed, succeeded or ignored.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "unknown"
}

// ParseStatus returns the status with the given name. It accepts the names String returns,
// and "in-progress" and "success" as aliases.
func ParseStatus(name string) (Status, error) {
	switch n := strings.ToLower(strings.TrimSpace(name)); n {
	case "in-progress", "inprogress":
		return InProgress, nil
	case "success":
		return Succeeded, nil
	default:
		for s, sn := range statusNames {
			if sn == n {
				return s, nil
			}
		}
	}
	return Unknown, &ValidationError{Field: "status", Reason: fmt.Sprintf("unknown status %q (want todo, in_progress, failed, succeeded or ignored)", name)}
}

// MarshalText encodes the status as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a status name.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// StatusCodes maps each status to the number stored in the table. Codes are compared as
// numbers and ordered as two-digit strings, so they lie within 0..99, are distinct, and
// Ignored is the largest.
type StatusCodes struct {
	Todo, InProgress, Failed, Succeeded, Ignored int
}

// DefaultStatusCodes are the seed's codes: 0 todo, 3 in progress, 6 failed, 9 succeeded,
// 10 ignored.
var DefaultStatusCodes = StatusCodes{Todo: 0, InProgress: 3, Failed: 6, Succeeded: 9, Ignored: 10}

// Code returns the number stored for status s.
func (c StatusCodes) Code(s Status) int {
	switch s {
	case Todo:
		return c.Todo
	case InProgress:
		return c.InProgress
	case Failed:
		return c.Failed
	case Succeeded:
		return c.Succeeded
	case Ignored:
		return c.Ignored
	}
	return -1
}

// Status returns the status stored as code, or Unknown.
func (c StatusCodes) Status(code int) Status {
	for _, s := range Statuses() {
		if c.Code(s) == code {
			return s
		}
	}
	return Unknown
}

// Validate reports whether the codes can be stored: all within 0..99, distinct, and Ignored
// the largest.
func (c StatusCodes) Validate() error {
	seen := map[int]Status{}
	for _, s := range Statuses() {
		code := c.Code(s)
		if code < 0 || code > 99 {
			return &ValidationError{Field: "status_codes", Reason: fmt.Sprintf("%s code %d is outside 0..99", s, code)}
		}
		if other, dup := seen[code]; dup {
			return &ValidationError{Field: "status_codes", Reason: fmt.Sprintf("%s and %s share code %d", other, s, code)}
		}
		seen[code] = s
		if s != Ignored && code > c.Ignored {
			return &ValidationError{Field: "status_codes", Reason: fmt.Sprintf("%s code %d is above the ignored code %d; ignored must be the largest", s, code, c.Ignored)}
		}
	}
	return nil
}

// String formats the codes as ParseStatusCodes reads them: "0,3,6,9,10".
func (c StatusCodes) String() string {
	parts := make([]string, len(Statuses()))
	for i, s := range Statuses() {
		parts[i] = strconv.Itoa(c.Code(s))
	}
	return strings.Join(parts, ",")
}

// ParseStatusCodes reads five comma-separated codes in the order todo, in progress, failed,
// succeeded, ignored, and validates them.
func ParseStatusCodes(text string) (StatusCodes, error) {
	parts := strings.Split(text, ",")
	if len(parts) != len(Statuses()) {
		return StatusCodes{}, &ValidationError{Field: "status_codes", Reason: fmt.Sprintf("want 5 comma-separated codes (todo,in_progress,failed,succeeded,ignored), got %q", text)}
	}
	var n [5]int
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return StatusCodes{}, &ValidationError{Field: "status_codes", Reason: fmt.Sprintf("%q is not a number", p)}
		}
		n[i] = v
	}
	c := StatusCodes{Todo: n[0], InProgress: n[1], Failed: n[2], Succeeded: n[3], Ignored: n[4]}
	return c, c.Validate()
}
