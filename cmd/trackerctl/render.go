package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/humanize"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/visible"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// printJSON writes v as indented JSON and a newline.
func printJSON(w io.Writer, v any) error {
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(appendIndented(nil, compact.Bytes(), "", "  "))
	return err
}

// newTable returns a tabwriter for aligned columns.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// stamp formats a time for people: UTC, to the second, or "-" when zero.
func stamp(t time.Time) string {
	if t.IsZero() || t.Equal(time.Unix(0, 0)) {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// age says how long ago (or in how long) t is from now: "3m ago", "in 14m".
func age(now, t time.Time) string { return humanize.Since(now, t) }

// width is the terminal width from COLUMNS, else 80.
func (a *app) width() int {
	if n, err := strconv.Atoi(a.getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	return 80
}

// colorOn reports whether to color stdout: a terminal, NO_COLOR unset, TERM not dumb.
func (a *app) colorOn() bool {
	return a.stdoutTTY && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"
}

var statusColors = map[tracker.Status]string{
	tracker.Todo:       "34", // blue
	tracker.InProgress: "33", // yellow
	tracker.Failed:     "31", // red
	tracker.Succeeded:  "32", // green
	tracker.Ignored:    "90", // grey
}

// paint wraps s in the status's color when colors are on.
func (a *app) paint(s string, st tracker.Status) string {
	if !a.colorOn() {
		return s
	}
	return "\x1b[" + statusColors[st] + "m" + s + "\x1b[0m"
}

// bold wraps s in bold when colors are on, with an escape code as long as paint's.
func (a *app) bold(s string) string {
	if !a.colorOn() {
		return s
	}
	return "\x1b[01m" + s + "\x1b[0m"
}

// bar draws value/full as a bar of at most width cells, in eighths of a cell; a non-zero
// value always shows at least a sliver.
func bar(value, full, width int) string {
	if value <= 0 || full <= 0 || width <= 0 {
		return ""
	}
	eighths := int(math.Round(float64(value) / float64(full) * float64(width*8)))
	eighths = min(max(eighths, 1), width*8)
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}

// padRight pads s with spaces to n runes.
func padRight(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// progress draws a progress bar on stderr when it is a terminal, and nothing otherwise.
type progress struct {
	w     io.Writer
	on    bool
	label string
	total int
	width int
}

func (a *app) progress(label string, total int) *progress {
	return &progress{w: a.stderr, on: a.stderrTTY && total > 0, label: escape(label), total: total, width: a.width()}
}

// set draws the bar at done of total.
func (p *progress) set(done int) {
	if !p.on {
		return
	}
	counts := fmt.Sprintf(" %d/%d %3d%%", done, p.total, done*100/p.total)
	cells := min(40, p.width-len(p.label)-len(counts)-4)
	b := padRight(bar(done, p.total, cells), cells)
	fmt.Fprintf(p.w, "\r%s [%s]%s", p.label, b, counts)
}

// done ends the bar's line.
func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// idList joins up to n ids, escaped for the terminal, saying how many more there are.
func idList(ids []string, n int) string {
	shown := make([]string, min(n, len(ids)))
	for i := range shown {
		shown[i] = escape(ids[i])
	}
	if len(ids) <= n {
		return strings.Join(shown, ", ")
	}
	return strings.Join(shown, ", ") + fmt.Sprintf(", … (%d more)", len(ids)-n)
}

// plural returns "1 task" or "3 tasks".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	for _, suffix := range []string{"s", "sh", "ch", "x"} {
		if strings.HasSuffix(word, suffix) {
			return fmt.Sprintf("%d %ses", n, word)
		}
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// escape makes s safe to print on a terminal (visible.String): what a terminal would act on
// instead of showing, or what reorders the text around it, becomes a visible escape. Every
// text renderer passes ids, owners, errors and data through it; JSON output carries the
// values as they are.
func escape(s string) string { return visible.String(s) }

// escapeLines is escape for text printed over several lines (visible.Lines): the line breaks
// and tabs are kept.
func escapeLines(s string) string { return visible.Lines(s) }
