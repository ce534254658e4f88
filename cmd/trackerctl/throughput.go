package main

import (
	"fmt"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// sample is what one refresh of status --watch saw: when (the injected clock) and the counts.
type sample struct {
	Time   time.Time
	Counts map[tracker.Status]int
}

// rate is the progress between the last two refreshes of status --watch.
type rate struct {
	// Known is false before the second refresh, or when the clock did not move forward.
	Known bool
	// Window is the time between the last two refreshes.
	Window time.Duration
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

// throughput computes the rate from the recorded samples, oldest first: tasks finished per
// second between the last two, and the time the pending tasks would take at that rate.
func throughput(samples []sample) rate {
	if len(samples) == 0 {
		return rate{}
	}
	last := samples[len(samples)-1]
	r := rate{Pending: pending(last.Counts)}
	if len(samples) < 2 {
		return r
	}
	prev := samples[len(samples)-2]
	r.Window = last.Time.Sub(prev.Time)
	if r.Window <= 0 {
		return r
	}
	r.Known = true
	r.PerSecond = float64(finished(last.Counts)-finished(prev.Counts)) / r.Window.Seconds()
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
		left = human(r.Left)
	}
	return fmt.Sprintf("%.3f tasks/s over the last %s; time left %s (%s pending)", r.PerSecond, human(r.Window), left, plural(r.Pending, "task"))
}
