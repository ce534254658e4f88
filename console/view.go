package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/humanize"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// statusCount is one status of a job's counts, as a page shows it.
type statusCount struct {
	Status tracker.Status
	N      int
	Share  float64 // of the job's tasks
}

// Name is the status's name: its CSS class and pattern too.
func (c statusCount) Name() string { return c.Status.String() }

// Label is the status as people read it.
func (c statusCount) Label() string { return statusLabel(c.Status) }

func statusLabel(s tracker.Status) string {
	if s == tracker.InProgress {
		return "in progress"
	}
	return s.String()
}

// countsView is a job's counts as a page shows them: the latest Snapshot, its age, the bar
// of the shares and the pace.
type countsView struct {
	Job string
	// Known says a count was read: the fields below are set.
	Known    bool
	Statuses []statusCount
	Total    int
	Done     int // succeeded + ignored
	Moved    int // tasks that moved while they were counted
	At       time.Time
	Age      string // how long ago At was, when the page was made
	Took     time.Duration
	Rate     rate
	// Reading says a count is being read now; Err says why the last one failed.
	Reading bool
	Err     string
}

// DoneShare is the share of the job's tasks that no run takes again.
func (v countsView) DoneShare() float64 { return share(v.Done, v.Total) }

// Count returns the count of the status of that name.
func (v countsView) Count(name string) int {
	for _, c := range v.Statuses {
		if c.Status.String() == name {
			return c.N
		}
	}
	return 0
}

// RateText says the pace, and over what window, for people.
func (v countsView) RateText() string {
	r := v.Rate
	switch {
	case !v.Known:
		return ""
	case r.Pending == 0:
		return "nothing pending"
	case !r.Known:
		return "measuring: the pace needs two counts"
	}
	return fmt.Sprintf("%s tasks/s over the last %s", strconv.FormatFloat(r.PerSecond, 'f', 1, 64), humanize.Duration(r.Window))
}

// ETAText says when the pending tasks would be done at the pace.
func (v countsView) ETAText() string {
	r := v.Rate
	switch {
	case !v.Known:
		return ""
	case r.Pending == 0:
		return "done"
	case !r.Known:
		return "unknown yet"
	case !r.LeftKnown:
		return "unknown: no task finished over the last " + humanize.Duration(r.Window)
	}
	return "about " + humanize.Duration(r.Left)
}

func share(n, total int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// newCountsView builds the view of a job's counts from what the cache holds and the history.
func newCountsView(job string, res result[*tracker.Snapshot], samples []sample, now time.Time) countsView {
	v := countsView{Job: job, Reading: res.Reading, Took: res.Took}
	if res.Err != nil {
		v.Err = res.Err.Error()
	}
	if !res.Has {
		return v
	}
	snap := res.Val
	v.Known, v.Total, v.Moved, v.At, v.Age = true, snap.Total, snap.Moved, res.At, ago(now, res.At)
	for _, s := range tracker.Statuses() {
		n := snap.Counts[s]
		v.Statuses = append(v.Statuses, statusCount{Status: s, N: n, Share: share(n, snap.Total)})
	}
	v.Done = finished(snap.Counts)
	v.Rate = throughput(samples)
	return v
}

// BarLabel says what the bar shows, for those who do not see it.
func (v countsView) BarLabel() string {
	parts := make([]string, len(v.Statuses))
	for i, c := range v.Statuses {
		parts[i] = fmt.Sprintf("%s %s (%s)", c.Label(), num(c.N), percent(c.Share))
	}
	return "of " + plural(v.Total, "task") + ": " + strings.Join(parts, ", ")
}

// segment is one status's part of a bar, in percent of its width.
type segment struct {
	statusCount
	X, W string // percentages, as SVG attributes
}

// Bar is the job's counts as a bar of shares, one segment a status with tasks, in the order of
// tracker.Statuses().
func (v countsView) Bar() []segment {
	var out []segment
	x := 0.0
	for _, c := range v.Statuses {
		if c.N == 0 {
			continue
		}
		w := c.Share * 100
		out = append(out, segment{statusCount: c, X: pct(x), W: pct(w)})
		x += w
	}
	return out
}

func pct(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) + "%" }

// chartStack is the order the statuses stack in, bottom up: finished work at the bottom, so
// that it grows as a run goes on.
var chartStack = []tracker.Status{tracker.Succeeded, tracker.Ignored, tracker.Failed, tracker.InProgress, tracker.Todo}

// chartColumns bounds the columns of a chart: samples are bucketed in time.
const chartColumns = 120

// column is one time bucket of a chart: the last sample in it, as stacked shares.
type column struct {
	X, W  string // percentages of the chart's width
	Parts []chartPart
	Title string
}

// chartPart is one status of a column.
type chartPart struct {
	statusCount
	Y, H string // percentages of the chart's height, from the top
}

// chartView is a job's status mix over time, from the counts the console read.
type chartView struct {
	Columns  []column
	From, To time.Time
	Samples  int
}

// Span is how long the chart covers.
func (c chartView) Span() time.Duration { return c.To.Sub(c.From) }

// newChart buckets samples in time: chartColumns buckets from the first sample to the last,
// each showing the last sample in it; a bucket with no sample (nobody watched) stays empty.
func newChart(samples []sample) chartView {
	c := chartView{Samples: len(samples)}
	if len(samples) == 0 {
		return c
	}
	c.From, c.To = samples[0].At, samples[len(samples)-1].At
	span := c.To.Sub(c.From)
	if span <= 0 {
		c.Columns = []column{newColumn(samples[len(samples)-1], 0, 100)}
		return c
	}
	buckets := min(chartColumns, len(samples))
	width := 100.0 / float64(buckets)
	last := make([]int, buckets)
	for i := range last {
		last[i] = -1
	}
	for i, s := range samples {
		b := min(int(float64(s.At.Sub(c.From))/float64(span)*float64(buckets)), buckets-1)
		last[b] = i
	}
	for b, i := range last {
		if i >= 0 {
			c.Columns = append(c.Columns, newColumn(samples[i], float64(b)*width, width))
		}
	}
	return c
}

func newColumn(s sample, x, w float64) column {
	col := column{X: pct(x), W: pct(w), Title: stamp(s.At) + ": "}
	y := 100.0
	for i, st := range chartStack {
		n := s.Counts[st]
		sh := share(n, s.Total)
		if i > 0 {
			col.Title += ", "
		}
		col.Title += fmt.Sprintf("%s %s (%s)", statusLabel(st), num(n), percent(sh))
		if n == 0 {
			continue
		}
		h := sh * 100
		y -= h
		col.Parts = append(col.Parts, chartPart{statusCount: statusCount{Status: st, N: n, Share: sh}, Y: pct(max(y, 0)), H: pct(h)})
	}
	return col
}
