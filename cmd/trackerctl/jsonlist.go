package main

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// A listing by failure prints thousands of tasks; encoding/json spent about 4 µs on each (its
// reflection, a time's MarshalJSON), as much as the rest of the command's own work. The
// functions below write a listTask's JSON directly, the same bytes encoding/json writes
// (SetEscapeHTML(false), compact): TestAppendListTask holds them to it on every field,
// filled by reflection so that a field added to listTask, taskView, leaseView or
// tracker.TaskFailure and not here fails it.

// appendListTask appends t as encoding/json writes it, compact, without HTML escaping.
func appendListTask(dst []byte, t *listTask) ([]byte, error) {
	var err error
	dst = append(dst, `{"job_id":`...)
	dst = appendJSONString(dst, t.JobID)
	dst = append(dst, `,"task_id":`...)
	dst = appendJSONString(dst, t.TaskID)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, t.Status)
	dst = append(dst, `,"code":`...)
	dst = strconv.AppendInt(dst, int64(t.Code), 10)
	dst = append(dst, `,"retry":`...)
	dst = strconv.AppendInt(dst, int64(t.Retry), 10)
	dst = append(dst, `,"attempts":`...)
	dst = strconv.AppendInt(dst, int64(t.Attempts), 10)
	dst = append(dst, `,"create_time":`...)
	if t.CreateTime == nil {
		dst = append(dst, "null"...)
	} else if dst, err = appendJSONTime(dst, *t.CreateTime); err != nil {
		return nil, err
	}
	dst = append(dst, `,"update_time":`...)
	if dst, err = appendJSONTime(dst, t.UpdateTime); err != nil {
		return nil, err
	}
	if t.LockOwner != "" {
		dst = append(dst, `,"lock_owner":`...)
		dst = appendJSONString(dst, t.LockOwner)
	}
	dst = append(dst, `,"lease":`...)
	if dst, err = appendLease(dst, t.Lease); err != nil {
		return nil, err
	}
	dst = append(dst, `,"last_error":`...)
	if t.LastError == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, *t.LastError)
	}
	if f := t.Failure; f != nil {
		dst = append(dst, `,"failure":{"fingerprint":`...)
		dst = appendJSONString(dst, f.Fingerprint)
		dst = append(dst, `,"time":`...)
		if dst, err = appendJSONTime(dst, f.Time); err != nil {
			return nil, err
		}
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, f.Message)
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendLease appends l (null when nil) as encoding/json writes it.
func appendLease(dst []byte, l *leaseView) ([]byte, error) {
	if l == nil {
		return append(dst, "null"...), nil
	}
	var err error
	dst = append(dst, `{"token":`...)
	dst = appendJSONString(dst, l.Token)
	dst = append(dst, `,"taken":`...)
	if dst, err = appendJSONTime(dst, l.Taken); err != nil {
		return nil, err
	}
	dst = append(dst, `,"expires":`...)
	if dst, err = appendJSONTime(dst, l.Expires); err != nil {
		return nil, err
	}
	dst = append(dst, `,"live":`...)
	dst = strconv.AppendBool(dst, l.Live)
	return append(dst, '}'), nil
}

// appendJSONTime appends t as its MarshalJSON does: RFC 3339 with its fraction, quoted, and
// the same error for a year it cannot write.
func appendJSONTime(dst []byte, t time.Time) ([]byte, error) {
	dst = append(dst, '"')
	dst, err := t.AppendText(dst)
	if err != nil {
		return nil, err
	}
	return append(dst, '"'), nil
}

// appendJSONString appends s quoted as encoding/json quotes a string without HTML escaping:
// \" and \\, \b \f \n \r \t, \u00XX for the other control bytes, \ufffd for each byte that
// is not UTF-8, \u2028 and \u2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
