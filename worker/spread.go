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
	n := 0
	for n < len(lo) && n < len(hi) && lo[n] == hi[n] {
		n++
	}
	const width, base = 8, 95 // digits ' ' (0x20) .. '~' (0x7e)
	digits := func(s string) (v uint64) {
		for i := range width {
			d := uint64(0)
			if n+i < len(s) {
				d = uint64(min(max(s[n+i], ' '), '~') - ' ')
			}
			v = v*base + d
		}
		return v
	}
	a, b := digits(lo), digits(hi)
	if b <= a {
		return lo
	}
	v := a + uint64(f*float64(b-a))
	var tail [width]byte
	for i := width - 1; i >= 0; i-- {
		tail[i] = byte(v%base) + ' '
		v /= base
	}
	// Clamping can draw a point below lo (when lo holds a byte above '~'): never go back.
	return max(lo, lo[:n]+strings.TrimRight(string(tail[:]), " "))
}
