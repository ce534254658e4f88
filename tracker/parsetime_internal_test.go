package tracker

import (
	"testing"
	"time"
)

// TestParseUTCTime: the fast path reads what time.Parse reads in TimeLayout at +0000, the
// same instant, and leaves everything else (other offsets, RFC 3339, days a month lacks,
// malformed text) to time.Parse.
func TestParseUTCTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		fast bool
	}{
		{"2026-12-07T09:15:04.123456+0000", true},
		{"2024-02-29T23:59:59.999999+0000", true},
		{"0001-01-01T00:00:00.000000+0000", true},
		{"2023-02-29T00:00:00.000000+0000", false}, // no 29 February in 2023
		{"2026-04-31T00:00:00.000000+0000", false},
		{"2026-13-01T00:00:00.000000+0000", false},
		{"2026-12-07T24:00:00.000000+0000", false},
		{"2026-12-07T09:60:00.000000+0000", false},
		{"2026-12-07T09:15:60.000000+0000", false},
		{"2026-12-07T09:15:04.12345x+0000", false},
		{"2026-12-07T09:15:04.123456+0100", false},
		{"2026-12-07T09:15:04.123456Z", false},
		{"2026-12-07T09:15:04Z", false},
		{"", false},
	} {
		got, ok := parseUTCTime(tc.s)
		if ok != tc.fast {
			t.Errorf("parseUTCTime(%q): ok %v, want %v", tc.s, ok, tc.fast)
		}
		want, err := time.Parse(TimeLayout, tc.s)
		if ok && (err != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("parseUTCTime(%q) = %v, time.Parse gives %v, %v", tc.s, got, want, err)
		}
	}
}

// FuzzParseTime: parseTime with its fast path reads any text as time.Parse does.
func FuzzParseTime(f *testing.F) {
	f.Add("2026-12-07T09:15:04.123456+0000")
	f.Add("2023-02-29T00:00:00.000000+0000")
	f.Add("2026-12-07T09:15:04.123456+0130")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s)
		var want time.Time
		var werr error
		if want, werr = time.Parse(TimeLayout, s); werr != nil {
			want, werr = time.Parse(time.RFC3339Nano, s)
		}
		if (err == nil) != (werr == nil) || (err == nil && (!got.Equal(want) || got.Location() != time.UTC)) {
			t.Errorf("parseTime(%q) = %v, %v; time.Parse: %v, %v", s, got, err, want, werr)
		}
	})
}

// BenchmarkParseTime: parseTime beside time.Parse of the same text, its floor before the
// fast path.
func BenchmarkParseTime(b *testing.B) {
	const s = "2026-12-07T09:15:04.123456+0000"
	b.Run("parseTime", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseTime(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("time.Parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := time.Parse(TimeLayout, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
