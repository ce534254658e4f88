package worker

import (
	"strings"
)

// between returns a string s with lo ≤ s ≤ hi (as DynamoDB orders strings, by bytes), at
// about fraction f of the way from lo to hi, so that a pool can jump to a point of the id
// space without reading it. It reads the 8 bytes after lo's and hi's common prefix as
// digits of printable ASCII (a byte above '~' counts as '~'), so the point it returns is
// printable ASCII after the prefix and, for ids spread evenly over their alphabet, lands
// evenly. It returns lo when hi ≤ lo.
func between(lo, hi string, f float64) string {
	if hi <= lo {
		return lo
	}
	s := newScale(lo, hi)
	a, b := s.digits(lo), s.digits(hi)
	if b <= a {
		return lo
	}
	return max(lo, s.point(a+uint64(f*float64(b-a))))
}

// ahead returns a point k times the distance from lo to hi past from (lo ≤ from ≤ hi, all
// sharing lo's and hi's common prefix), in between's digits: k = 3 skips up to about three
// times as many ids as lie between lo and hi, if the ids go on as densely (fewer where they
// leave most of the printable characters unused, as decimal ids do). It never returns a
// point before from, nor past the common prefix's range.
func ahead(from, lo, hi string, k float64) string {
	s := newScale(lo, hi)
	if hi <= lo || !strings.HasPrefix(from, s.pre) {
		return from
	}
	a, b := s.digits(lo), s.digits(hi)
	if b <= a {
		return from
	}
	v := s.digits(from)
	step := k * float64(b-a)
	if step >= float64(s.top()-v) {
		v = s.top()
	} else {
		v += uint64(step)
	}
	return max(from, s.point(v))
}

// scale reads the 8 bytes after a common prefix as base-95 digits of printable ASCII.
type scale struct {
	pre string // the common prefix
}

const scaleWidth, scaleBase = 8, 95 // digits ' ' (0x20) .. '~' (0x7e)

func newScale(lo, hi string) scale {
	n := 0
	for n < len(lo) && n < len(hi) && lo[n] == hi[n] {
		n++
	}
	return scale{pre: lo[:n]}
}

// digits is the value of s's bytes after the prefix (a byte above '~' counts as '~').
func (c scale) digits(s string) (v uint64) {
	for i := range scaleWidth {
		d := uint64(0)
		if len(c.pre)+i < len(s) {
			d = uint64(min(max(s[len(c.pre)+i], ' '), '~') - ' ')
		}
		v = v*scaleBase + d
	}
	return v
}

// top is the largest value of digits.
func (c scale) top() uint64 {
	v := uint64(1)
	for range scaleWidth {
		v *= scaleBase
	}
	return v - 1
}

// point is the string of the prefix and the digits of v, without trailing spaces.
func (c scale) point(v uint64) string {
	var tail [scaleWidth]byte
	for i := scaleWidth - 1; i >= 0; i-- {
		tail[i] = byte(v%scaleBase) + ' '
		v /= scaleBase
	}
	// Clamping can draw a point below the string it started from (when that holds a byte
	// above '~'): the callers never go back.
	return c.pre + strings.TrimRight(string(tail[:]), " ")
}
