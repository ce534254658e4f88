package main

import (
	"math"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestThroughput follows a recorded watch refreshed with a one-minute window: the rate is
// the average from the oldest refresh within the window to the last, so a stall or a burst
// of one refresh moves it less than it did over the last refresh alone.
func TestThroughput(t *testing.T) {
	counts := func(todo, inProgress, failed, succeeded, ignored int) map[tracker.Status]int {
		return map[tracker.Status]int{tracker.Todo: todo, tracker.InProgress: inProgress, tracker.Failed: failed, tracker.Succeeded: succeeded, tracker.Ignored: ignored}
	}
	// 100 tasks, refreshed every 10s, then a stall, then a clock that did not move, then a
	// long refresh, then the rest.
	recorded := []sample{
		{t0, counts(100, 0, 0, 0, 0)},
		{t0.Add(10 * time.Second), counts(80, 4, 1, 14, 1)}, // 15 finished
		{t0.Add(20 * time.Second), counts(60, 4, 2, 32, 2)}, // 34
		{t0.Add(25 * time.Second), counts(60, 4, 2, 32, 2)}, // 34: none in 5s
		{t0.Add(25 * time.Second), counts(59, 4, 2, 33, 2)}, // 35: the clock stood still
		{t0.Add(65 * time.Second), counts(59, 2, 2, 34, 3)}, // 37: the window drops the first
		{t0.Add(75 * time.Second), counts(0, 0, 0, 90, 10)}, // 100: the window drops the second
	}
	want := []rate{
		{Pending: 100},
		{Known: true, Window: 10 * time.Second, Refreshes: 1, PerSecond: 1.5, Pending: 85, LeftKnown: true},
		{Known: true, Window: 20 * time.Second, Refreshes: 2, PerSecond: 1.7, Pending: 66, LeftKnown: true},
		{Known: true, Window: 25 * time.Second, Refreshes: 3, PerSecond: 1.36, Pending: 66, LeftKnown: true},
		{Known: true, Window: 25 * time.Second, Refreshes: 4, PerSecond: 1.4, Pending: 65, LeftKnown: true},
		{Known: true, Window: 55 * time.Second, Refreshes: 4, PerSecond: 0.4, Pending: 63, LeftKnown: true},
		{Known: true, Window: 55 * time.Second, Refreshes: 4, PerSecond: 1.2, Pending: 0, LeftKnown: true},
	}
	wantText := []string{
		"unknown until the next refresh",
		"1.500 tasks/s, the average over the last 10s (1 refresh); time left at that rate 57s (85 tasks pending)",
		"1.700 tasks/s, the average over the last 20s (2 refreshes); time left at that rate 39s (66 tasks pending)",
		"1.360 tasks/s, the average over the last 25s (3 refreshes); time left at that rate 49s (66 tasks pending)",
		"1.400 tasks/s, the average over the last 25s (4 refreshes); time left at that rate 46s (65 tasks pending)",
		"0.400 tasks/s, the average over the last 55s (4 refreshes); time left at that rate 2m38s (63 tasks pending)",
		"1.200 tasks/s, the average over the last 55s (4 refreshes); time left at that rate 0s (0 tasks pending)",
	}
	var kept []sample
	for i := range recorded {
		kept = keep(append(kept, recorded[i]), time.Minute)
		got := throughput(kept)
		w := want[i]
		if w.LeftKnown {
			w.Left = time.Duration(float64(w.Pending) / w.PerSecond * float64(time.Second))
		}
		if got.Known != w.Known || got.Window != w.Window || got.Refreshes != w.Refreshes || math.Abs(got.PerSecond-w.PerSecond) > 1e-9 ||
			got.Pending != w.Pending || got.LeftKnown != w.LeftKnown || (got.Left-w.Left).Abs() > time.Millisecond {
			t.Errorf("after refresh %d: throughput = %+v, want %+v", i+1, got, w)
		}
		if s := got.String(); s != wantText[i] {
			t.Errorf("after refresh %d: %q, want %q", i+1, s, wantText[i])
		}
	}
	if got := throughput(nil); got != (rate{}) {
		t.Errorf("throughput(nil) = %+v, want the zero rate", got)
	}
	if got := throughput(recorded[3:5]); got.Known {
		t.Errorf("two refreshes at the same time: %+v, want unknown", got)
	}
}
