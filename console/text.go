package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/humanize"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/visible"
)

// show makes a text from the table fit to be read on one line: what a browser would not show
// as itself becomes a visible escape. Control characters (C0, DEL, C1: the ESC of terminal
// escape sequences, line breaks) read \x1b, \n; the bidirectional embedding, override,
// isolate and mark characters, which reorder the text around them so that an id reads as
// another, read \u202e; invalid UTF-8 reads \xff. html/template then escapes the result for
// HTML, and pages isolate it (<bdi>) from the text around it.
func show(s string) string { return visible.String(s) }

// showText is show for text over several lines (a traceback, JSON): line breaks and tabs stay.
func showText(s string) string { return visible.Lines(s) }

// clip shortens s to at most n runes, with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// num formats n with thousands separators: 1,000,000.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// percent formats a share of 1 as a percentage: 12.3%, with "<0.1%" for a share too small to
// show but not zero.
func percent(share float64) string {
	switch {
	case share <= 0:
		return "0%"
	case share < 0.001:
		return "<0.1%"
	case share >= 1:
		return "100%"
	case share > 0.999:
		return ">99.9%"
	}
	return strconv.FormatFloat(share*100, 'f', 1, 64) + "%"
}

// stamp formats a time for people: UTC, to the second, or "–" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long before now t is ("3m05s ago"), or after ("in 14m00s").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return humanize.Since(now, t)
}

// size formats a byte count: 512 B, 192.0 KiB, 1.5 MiB.
func size(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}

// plural returns "1 task" or "3 tasks", with the count's thousands separated.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return num(n) + " " + word + "s"
}
