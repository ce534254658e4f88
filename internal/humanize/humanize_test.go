package humanize_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/humanize"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Microsecond, "0ms"},
		{450 * time.Millisecond, "450ms"},
		{999 * time.Millisecond, "999ms"},
		{time.Second, "1s"},
		{1500 * time.Millisecond, "2s"},
		{3 * time.Second, "3s"},
		{59*time.Second + 600*time.Millisecond, "1m00s"},
		{3*time.Minute + 5*time.Second, "3m05s"},
		{59*time.Minute + 59*time.Second, "59m59s"},
		{2*time.Hour + 7*time.Minute, "2h07m"},
		{76*time.Hour + 30*time.Minute, "3d04h"},
		{-90 * time.Second, "-1m30s"},
		{-20 * time.Millisecond, "-20ms"},
	} {
		if got := humanize.Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{now.Add(-3*time.Minute - 5*time.Second), "3m05s ago"},
		{now.Add(14 * time.Minute), "in 14m00s"},
		{now, "0s ago"},
		{now.Add(-300 * time.Millisecond), "300ms ago"},
	} {
		if got := humanize.Since(now, tc.t); got != tc.want {
			t.Errorf("Since(now, %v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func ExampleDuration() {
	fmt.Println(humanize.Duration(45 * time.Second))
	fmt.Println(humanize.Duration(2*time.Hour + 7*time.Minute))
	fmt.Println(humanize.Duration(450 * time.Millisecond))
	// Output:
	// 45s
	// 2h07m
	// 450ms
}

func ExampleSince() {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	fmt.Println(humanize.Since(now, now.Add(-185*time.Second)))
	fmt.Println(humanize.Since(now, now.Add(14*time.Minute)))
	// Output:
	// 3m05s ago
	// in 14m00s
}
