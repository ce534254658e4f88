package main

import (
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestThroughput(t *testing.T) {
	counts := func(todo, inProgress, failed, succeeded, ignored int) map[tracker.Status]int {
		return map[tracker.Status]int{tracker.Todo: todo, tracker.InProgress: inProgress, tracker.Failed: failed, tracker.Succeeded: succeeded, tracker.Ignored: ignored}
	}
	// A recorded watch: 100 tasks, refreshed every 10s, then a stall, then a clock that
	// did not move.
	recorded := []sample{
		{t0, counts(100, 0, 0, 0, 0)},
		{t0.Add(10 * time.Second), counts(80, 4, 1, 14, 1)}, // 15 finished in 10s
		{t0.Add(20 * time.Second), counts(60, 4, 2, 32, 2)}, // 19 more in 10s
		{t0.Add(25 * time.Second), counts(60, 4, 2, 32, 2)}, // none in 5s
		{t0.Add(25 * time.Second), counts(59, 4, 2, 33, 2)}, // the clock stood still
		{t0.Add(65 * time.Second), counts(59, 2, 2, 34, 3)}, // 2 in 40s
		{t0.Add(75 * time.Second), counts(0, 0, 0, 90, 10)}, // the rest in 10s
	}
	want := []rate{
		{Pending: 100},
		{Known: true, Window: 10 * time.Second, PerSecond: 1.5, Pending: 85, Left: 56666666666, LeftKnown: true},
		{Known: true, Window: 10 * time.Second, PerSecond: 1.9, Pending: 66, Left: 34736842105, LeftKnown: true},
		{Known: true, Window: 5 * time.Second, PerSecond: 0, Pending: 66},
		{Pending: 65},
		{Known: true, Window: 40 * time.Second, PerSecond: 0.05, Pending: 63, Left: 1260 * time.Second, LeftKnown: true},
		{Known: true, Window: 10 * time.Second, PerSecond: 6.3, Pending: 0, Left: 0, LeftKnown: true},
	}
	wantText := []string{
		"unknown until the next refresh",
		"1.500 tasks/s over the last 10s; time left 57s (85 tasks pending)",
		"1.900 tasks/s over the last 10s; time left 35s (66 tasks pending)",
		"0.000 tasks/s over the last 5s; time left unknown (66 tasks pending)",
		"unknown until the next refresh",
		"0.050 tasks/s over the last 40s; time left 21m00s (63 tasks pending)",
		"6.300 tasks/s over the last 10s; time left 0s (0 tasks pending)",
	}
	for i := range recorded {
		got := throughput(recorded[:i+1])
		if got != want[i] {
			t.Errorf("after refresh %d: throughput = %+v, want %+v", i+1, got, want[i])
		}
		if s := got.String(); s != wantText[i] {
			t.Errorf("after refresh %d: %q, want %q", i+1, s, wantText[i])
		}
	}
	if got := throughput(nil); got != (rate{}) {
		t.Errorf("throughput(nil) = %+v, want the zero rate", got)
	}
}
