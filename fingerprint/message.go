package fingerprint

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what is read and kept. Past them a failure's text says nothing more about its
// cause, and they keep the work per failure bounded whatever a worker wrote.
const (
	// maxInput is how much of an error text is read.
	maxInput = 64 << 10
	// maxMessage is the longest normalised message, in runes.
	maxMessage = 256
)

// A replacement turns the variable parts a pattern matches into a typed placeholder. keep,
// when set, says whether a match really is such a part (what Go's regexp, which has no
// lookaround, cannot say): a match it refuses stays as it is. A pattern that starts with
// notWord has it as its only capturing group; the others have none.
type replacement struct {
	placeholder string
	pattern     *regexp.Regexp
	keep        func(match string) bool
}

// notWord is what may stand before a quoted value or a path: a start, or a character that
// is not part of a word (so "can't" opens no quote and "and/or" is no path). It stays in
// front of the placeholder.
const notWord = `(^|[^\w])`

// replacements are applied in order, each to what the ones before it left. The kinds and
// their patterns follow Sentry's message parameterization (getsentry/sentry,
// src/sentry/grouping/parameterization.py: emails, URLs, IP addresses, UUIDs, dates in
// their RFC 3339 and other forms, durations, hex (0x-prefixed, or a run of 8 or more hex
// digits with a digit in one case), floats, ints, quoted values), with these differences:
//   - every quoted value is replaced, not only the value of a key=value pair: our messages
//     quote the ids and values they carry, as Python's KeyError and Go's strconv do; and
//     quoted values come first, so that what a quote holds, however it looks, is one <str>;
//   - local paths are replaced as URLs are: they vary with the machine and the task;
//   - a run of digits alone is a <num> however long (Sentry makes 8 digits or more a hex);
//     a hex run needs a letter too.
//
// No placeholder holds a digit, a quote, a slash, an at sign or a colon, so no later
// pattern matches one.
var replacements = []replacement{
	// '…', "…" and `…` on one line, the opening quote not inside a word.
	{"<str>", regexp.MustCompile(notWord + `(?:'[^'\n]*'|"[^"\n]*"|` + "`[^`\\n]*`" + `)`), nil},
	// URLs of any scheme (https://, s3://, file://), up to a space, quote or bracket, and not
	// ending in punctuation.
	{"<path>", regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>()\[\]{},;]*[^\s'"<>()\[\]{},;:.!?]`), nil},
	{"<email>", regexp.MustCompile(`[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`), nil},
	// Absolute, home and relative paths (/a/b, ~/a, ./a, ../a), Windows paths (C:\a\b).
	{"<path>", regexp.MustCompile(notWord + `(?:(?:~|\.{1,2})?(?:/[\w@%+=~.-]+)+/?|[A-Za-z]:\\[^\s'"<>|:*?]*)`), nil},
	// RFC 3339 and ISO 8601 date-times (T or space, fraction, Z or an offset with or without
	// a colon, Go's " +0000 UTC"), the tracker's 2026-11-29T00:43:51.185247+0000, dates,
	// clock times.
	{"<time>", regexp.MustCompile(`\b\d{4}-[01]\d-[0-3]\d(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?(?:Z|\s?[+-][0-2]\d:?[0-5]\d(?:\s[A-Z]{2,5}\b)?)?)?` +
		`|\b[0-2]\d:[0-5]\d:[0-5]\d(?:[.,]\d+)?\b`), nil},
	// UUIDs with dashes, and 32 hex digits without (the tracker's lease tokens).
	{"<uuid>", regexp.MustCompile(`\b[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\b|\b[0-9A-Fa-f]{32}\b`), hasDigit},
	// IPv4 addresses, and what may be an IPv6 address, which isIP decides.
	{"<ip>", regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f]*`), isIP},
	{"<hex>", regexp.MustCompile(`\b0[xX][0-9A-Fa-f]+\b|\b[0-9A-Fa-f]{8,}\b`), isHex},
	// Go's durations: 1.5s, 300ms, 2h45m0s.
	{"<duration>", regexp.MustCompile(`\b(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+\b`), nil},
	// Integers, decimals and versions (1.2.3, v1.2.3), not inside a word: t-4 is t-<num>, but
	// s3 and x86_64 stay.
	{"<num>", regexp.MustCompile(`\b(?:v\d+(?:\.\d+)+|\d+(?:\.\d+)*)\b`), nil},
}

// hasDigit says whether s holds a digit: a UUID-shaped run of letters is a word.
func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// isIP says whether s is an IPv4 or IPv6 address with a digit in it: "12:34:56" is not an
// address, and "::" alone (as in C++'s Type::method) says nothing.
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil && hasDigit(s)
}

// isHex says whether s is a hexadecimal value: 0x-prefixed, or (as Sentry's hex pattern
// asks) a run with a digit and a letter in one case. A run of digits alone is a number, a
// run of letters alone ("deadbeef", "accede") a word.
func isHex(s string) bool {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return true
	}
	lower, upper := strings.ContainsAny(s, "abcdef"), strings.ContainsAny(s, "ABCDEF")
	return hasDigit(s) && lower != upper
}

// Normalize returns message with its variable parts replaced by typed placeholders, so that
// two messages that differ only in ids, counts, times or places read the same:
//
//   - quoted values ('…', "…", `…`, on one line, the opening quote not inside a word): <str>
//   - URLs of any scheme (https://, s3://, file://) and paths (/a/b, ./a, ~/a, C:\a): <path>
//   - email addresses: <email>
//   - timestamps (RFC 3339, the tracker's 2026-11-29T00:43:51.185247+0000, Go's
//     2026-11-29 00:43:51 +0000 UTC), dates and clock times: <time>
//   - UUIDs, with or without dashes (the tracker's 32-hex lease tokens): <uuid>
//   - IPv4 and IPv6 addresses: <ip>
//   - 0x-prefixed hex, and runs of 8 or more hex digits with a digit and a letter: <hex>
//   - durations (1.5s, 300ms, 2h45m0s): <duration>
//   - numbers (integers, decimals, versions such as 1.2.3 and v1.2.3) not inside a word: <num>
//
// Control characters, terminal escape sequences and bidirectional-text controls are removed
// first, whitespace is collapsed to single spaces, and the result is trimmed and cut to 256
// runes. Only the first 64 KiB of message are read, so Normalize takes time linear in at most
// that much whatever message's length. A word that is variable but carries no digit (a
// task id like "photo-abc") cannot be told from the message's own words: quote it in the
// message and it becomes <str>.
func Normalize(message string) string {
	s := sanitize(truncate(message, maxInput))
	for _, r := range replacements {
		s = r.apply(s)
	}
	return cut(strings.Join(strings.Fields(s), " "), maxMessage)
}

// apply replaces each match of r in s that keep accepts, leaving in place the character
// before it when the pattern captured one (notWord).
func (r replacement) apply(s string) string {
	matches := r.pattern.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range matches {
		start := m[0]
		if len(m) > 2 && m[3] >= 0 {
			start = m[3]
		}
		b.WriteString(s[last:start])
		if r.keep != nil && !r.keep(s[start:m[1]]) {
			b.WriteString(s[start:m[1]])
		} else {
			b.WriteString(r.placeholder)
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// ansiEscape matches terminal escape sequences: CSI (ESC [ … final byte), OSC (ESC ] … BEL
// or ESC \) and two-character escapes.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|\x1b[@-Z\\\\-_]")

// sanitize makes s safe to show on a terminal: it removes terminal escape sequences, makes
// every whitespace character a space, removes the other control characters and the
// bidirectional-text controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that can
// make a text read differently from what it holds, and replaces invalid UTF-8.
func sanitize(s string) string {
	s = ansiEscape.ReplaceAllString(strings.ToValidUTF8(s, "\uFFFD"), "")
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), isBidiControl(r):
			return -1
		}
		return r
	}, s)
}

// isBidiControl says whether r is one of Unicode's bidirectional formatting characters.
func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}

// truncate returns the first n bytes of s at most, not splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cut returns the first n runes of s at most.
func cut(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
