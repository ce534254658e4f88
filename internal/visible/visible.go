// Package visible makes text from the table safe to show: on a terminal (trackerctl) and in
// a page (the console). What a terminal would act on, or what would make a text read as
// another, becomes a visible escape.
package visible

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s with every character MustEscape names written as an escape: control
// characters (C0, including the ESC that starts every ANSI escape sequence, DEL and C1) as
// \n, \r, \t, \x1b, \u009b; the bidirectional embedding, override, isolate and mark
// characters as \u202e; invalid UTF-8 as \xff. Everything else, other non-ASCII text
// included, is left as it is.
func String(s string) string { return escape(s, false) }

// Lines is String for text shown over several lines (a traceback, JSON): its line breaks
// and tabs stay.
func Lines(s string) string { return escape(s, true) }

func escape(s string, lines bool) string {
	must := func(r rune) bool { return MustEscape(r) && !(lines && (r == '\n' || r == '\t')) }
	if strings.IndexFunc(s, must) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case !must(r):
			b.WriteString(s[:size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		s = s[size:]
	}
	return b.String()
}

// MustEscape reports whether r is shown as an escape: a control character, or a character
// that changes the direction of the text around it.
func MustEscape(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // embeddings, overrides, isolates
		return true
	case r == 0x200e || r == 0x200f || r == 0x061c: // direction marks
		return true
	}
	return false
}
