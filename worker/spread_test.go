package worker

import "testing"

func TestBetween(t *testing.T) {
	for _, c := range []struct {
		lo, hi string
		f      float64
		// the point must lie within [from, to]
		from, to string
	}{
		{"t-00000", "t-09999", 0, "t-00000", "t-00000"},
		{"t-00000", "t-09999", 0.5, "t-04999", "t-05000"},
		{"t-00000", "t-09999", 1, "t-09999", "t-09999"},
		{"a", "c", 0.5, "b", "b"},
		{"a", "a", 0.5, "a", "a"},
		{"b", "a", 0.5, "b", "b"},                 // hi below lo: lo
		{"a", "ab", 0, "a", "a"},                  // a prefix: the point is lo itself
		{"é1", "é9", 0.5, "é5", "é5"},             // the common prefix is kept as it is
		{"a\u00ff", "b", 0, "a\u00ff", "a\u00ff"}, // a clamped byte never draws a point below lo
	} {
		got := between(c.lo, c.hi, c.f)
		if got < c.from || got > c.to {
			t.Errorf("between(%q, %q, %v) = %q, want within [%q, %q]", c.lo, c.hi, c.f, got, c.from, c.to)
		}
	}
}
