package main

import (
	"fmt"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/humanize"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// sample is what one refresh of status --watch saw: when (the injected clock) and the counts.
type sample struct {
	Time   time.Time
	Counts map[tracker.Status]int
}

// rate is the progress over the last refreshes of status --watch, within a window.
type rate struct {
	// Known is false before the second refresh, or when the clock did not move forward.
	Known bool
	// Window is the time the rate is measured over: from the oldest refresh kept to the
	// last, at most the window asked for (or the last refresh, when it is longer); Refreshes
	// counts the refreshes in it.
	Window    time.Duration
	Refreshes int
	// PerSecond is the change of succeeded+ignored over Window, per second.
	PerSecond float64
	// Pending is todo+in_progress+failed at the last refresh.
	Pending int
	// Left is Pending divided by PerSecond; LeftKnown is false when PerSecond is 0 or less.
	Left      time.Duration
	LeftKnown bool
}

// finished counts the tasks that no run takes again.
func finished(c map[tracker.Status]int) int { return c[tracker.Succeeded] + c[tracker.Ignored] }

// pending counts the tasks a run may still take.
func pending(c map[tracker.Status]int) int {
	return c[tracker.Todo] + c[tracker.InProgress] + c[tracker.Failed]
}

// keep returns the samples a rate over window needs, oldest first: those within window of the
// last one, and at least the one before the last.
func keep(samples []sample, window time.Duration) []sample {
	if len(samples) < 3 {
		return samples
	}
	last := samples[len(samples)-1].Time
	i := 0
	for i < len(samples)-2 && last.Sub(samples[i].Time) > window {
		i++
	}
	return samples[i:]
}

// throughput computes the rate from the samples kept (keep), oldest first: tasks finished per
// second from the oldest to the last, and the time the pending tasks would take at that
// rate. Over a window of several refreshes one slow or fast refresh moves it little.
func throughput(samples []sample) rate {
	if len(samples) == 0 {
		return rate{}
	}
	last := samples[len(samples)-1]
	r := rate{Pending: pending(last.Counts)}
	if len(samples) < 2 {
		return r
	}
	first := samples[0]
	r.Window = last.Time.Sub(first.Time)
	if r.Window <= 0 {
		return r
	}
	r.Known, r.Refreshes = true, len(samples)-1
	r.PerSecond = float64(finished(last.Counts)-finished(first.Counts)) / r.Window.Seconds()
	if r.PerSecond > 0 {
		r.LeftKnown = true
		r.Left = time.Duration(float64(r.Pending) / r.PerSecond * float64(time.Second))
	}
	return r
}

// String is the rate as status --watch prints it.
func (r rate) String() string {
	if !r.Known {
		return "unknown until the next refresh"
	}
	left := "unknown"
	if r.LeftKnown {
		left = humanize.Duration(r.Left)
	}
	return fmt.Sprintf("%.3f tasks/s, the average over the last %s (%s); time left at that rate %s (%s pending)",
		r.PerSecond, humanize.Duration(r.Window), plural(r.Refreshes, "refresh"), left, plural(r.Pending, "task"))
}
