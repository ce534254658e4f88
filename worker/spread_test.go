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

func TestAhead(t *testing.T) {
	for _, c := range []struct {
		from, lo, hi string
		k            float64
		// the point must lie within [from, to]
		from2, to string
	}{
		// A page of t-01000..t-01063: 3 pages on from t-01010 is at most about t-01202 (less:
		// the digits run in the 95 printable characters, which decimal ids leave mostly unused).
		{"t-01010", "t-01000", "t-01063", 3, "t-01011", "t-01202"},
		{"a0", "a0", "a8", 1, "a8", "a8"},
		{"t-01010", "t-01000", "t-01063", 0, "t-01010", "t-01010"},
		{"t-01010", "t-01010", "t-01010", 3, "t-01010", "t-01010"}, // a page of one id: no jump
		{"b", "a", "c", 1e30, "~~~~~~~~", "~~~~~~~~"},              // never past the prefix's range
		{"u-1", "t-0", "t-9", 1, "u-1", "u-1"},                     // from outside the page's prefix: no jump
	} {
		got := ahead(c.from, c.lo, c.hi, c.k)
		if got < c.from2 || got > c.to {
			t.Errorf("ahead(%q, %q, %q, %v) = %q, want within [%q, %q]", c.from, c.lo, c.hi, c.k, got, c.from2, c.to)
		}
	}
}
