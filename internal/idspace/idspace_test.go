package idspace

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"testing"
)

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
		got := Between(c.lo, c.hi, c.f)
		if got < c.from || got > c.to {
			t.Errorf("Between(%q, %q, %v) = %q, want within [%q, %q]", c.lo, c.hi, c.f, got, c.from, c.to)
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
		// A page of t-01000..t-01063 (prefix t-010): a third of a page on from t-01010 is
		// about t-01031 (decimal ids read as decimal digits); 3 pages on is past the prefix's
		// range, which ends the jump at its top.
		{"t-01010", "t-01000", "t-01063", 1.0 / 3, "t-01030", "t-01032"},
		{"t-01010", "t-01000", "t-01063", 3, "t-01099999999", "t-01099999999"},
		{"a0", "a0", "a8", 1, "a8", "a8"},
		{"t-01010", "t-01000", "t-01063", 0, "t-01010", "t-01010"},
		{"t-01010", "t-01010", "t-01010", 3, "t-01010", "t-01010"}, // a page of one id: no jump
		{"b", "a", "c", 1e30, "ffffffff", "ffffffff"},              // never past the prefix's range (a-c: hex digits)
		{"b", "a", "~", 1e30, "~~~~~~~~", "~~~~~~~~"},              // printable
		{"u-1", "t-0", "t-9", 1, "u-1", "u-1"},                     // from outside the page's prefix: no jump
	} {
		got := Ahead(c.from, c.lo, c.hi, c.k)
		if got < c.from2 || got > c.to {
			t.Errorf("Ahead(%q, %q, %q, %v) = %q, want within [%q, %q]", c.from, c.lo, c.hi, c.k, got, c.from2, c.to)
		}
	}
}

// TestEvenStretches: the points that split the span of common id shapes into n stretches
// split their ids evenly (each stretch holds about 1/n of them).
func TestEvenStretches(t *testing.T) {
	for _, c := range []struct {
		name string
		id   func(i int) string
	}{
		{"zero-padded decimal", func(i int) string { return fmt.Sprintf("t-%06d", i) }},
		{"hex digests", func(i int) string { return fmt.Sprintf("%08x", uint32(i)*2654435761) }},
		{"UUIDs", func(i int) string {
			h := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
			return fmt.Sprintf("%x-%x-%x", h[:4], h[4:6], h[6:8])
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			const ids, n = 30000, 10
			all := make([]string, ids)
			for i := range all {
				all[i] = c.id(i)
			}
			sort.Strings(all)
			lo, hi := all[0], all[len(all)-1]
			for k := 1; k < n; k++ {
				at := Between(lo, hi, float64(k)/n)
				below := sort.SearchStrings(all, at)
				if want := ids * k / n; below < want-ids/50 || below > want+ids/50 {
					t.Errorf("point %d/%d = %q has %d ids below it, want about %d", k, n, at, below, want)
				}
			}
		})
	}
}

func TestScaleDistance(t *testing.T) {
	s := NewScale("t-00000", "t-10000")
	for _, c := range []struct {
		w, x string
		want float64 // ids apart (of the 10,000 from lo to hi), within 0.01
	}{
		{"t-00000", "t-10000", 10000},
		{"t-01000", "t-02000", 1000}, // decimal ids read as decimal digits: evenly
		{"t-01000", "t-01001", 1},    // neighbours
		{"t-02000", "t-01000", 0},    // x before w
		{"t-05000", "t-05000", 0},    // the same id
		{"a", "t-00100", 100},        // before lo: lo
		{"t-09000", "z", 1000},       // past hi: hi
	} {
		if got := s.Distance(c.w, c.x) * 10000; got < c.want-0.01 || got > c.want+0.01 {
			t.Errorf("Distance(%q, %q) = %v ids, want %v", c.w, c.x, got, c.want)
		}
	}
	if got := NewScale("a", "a").Distance("a", "b"); got != 0 {
		t.Errorf("a point's Distance = %v, want 0", got)
	}
}

func TestScaleAhead(t *testing.T) {
	s := NewScale("t-00000", "t-10000")
	for _, c := range []struct {
		from  string
		share float64
		want  string
	}{
		{"t-01000", 0.0144, "t-01144"}, // 144 of the 10,000 ids on
		{"t-00000", 0.5, "t-05"},       // trailing zero digits dropped
		{"t-09990", 0.0144, "t-10134"}, // past hi, within the prefix's range
		{"t-01000", 10, "t-99999999"},  // never past the prefix's range (t-)
		{"t-01000", 0, "t-01000"},
		{"t-01000", -1, "t-01000"},
		{"u-1", 0.1, "u-1"}, // without the prefix: no jump
	} {
		if got := s.Ahead(c.from, c.share); got != c.want {
			t.Errorf("Ahead(%q, %v) = %q, want %q", c.from, c.share, got, c.want)
		}
		if c.want != c.from && c.want <= "t-10000" {
			// Distance measures the jump back (up to hi): Ahead and Distance agree.
			if d := s.Distance(c.from, c.want); d < c.share-1e-4 || d > c.share+1e-4 {
				t.Errorf("Distance(%q, Ahead) = %v, want %v", c.from, d, c.share)
			}
		}
	}
	if got := NewScale("a", "a").Ahead("a", 1); got != "a" {
		t.Errorf("a point's Ahead = %q, want a", got)
	}
}
