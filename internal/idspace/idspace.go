// Package idspace picks points in the space of task ids (strings ordered by bytes) without
// reading them, so that listings can start anywhere.
package idspace

import (
	"strings"
)

// Between returns a string s with lo ≤ s ≤ hi (as DynamoDB orders strings, by bytes), at
// about fraction f of the way from lo to hi, so that a listing can start at a point of the id
// space without reading it. It reads the 8 bytes after lo's and hi's common prefix as digits
// of the narrowest alphabet that holds them (decimal, hex, alphanumeric, printable ASCII), so
// the point it returns is made of that alphabet after the prefix and, for ids spread evenly
// over it, lands evenly. It returns lo when hi ≤ lo.
func Between(lo, hi string, f float64) string {
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

// Ahead returns a point k times the distance from lo to hi past from (lo ≤ from ≤ hi, all
// sharing lo's and hi's common prefix), in between's digits: k = 3 skips up to about three
// times as many ids as lie between lo and hi, if the ids go on as densely (fewer where they
// leave most of the printable characters unused, as decimal ids do). It never returns a
// point before from, nor past the common prefix's range.
func Ahead(from, lo, hi string, k float64) string {
	s := newScale(lo, hi)
	if hi <= lo || !strings.HasPrefix(from, s.pre) {
		return from
	}
	a, b := s.digits(lo), s.digits(hi)
	if b <= a {
		return from
	}
	return s.advance(from, k*float64(b-a))
}

// advance returns the point step digits past from (which has the prefix), at most the top.
func (c scale) advance(from string, step float64) string {
	v, top := c.digits(from), c.top()
	if step >= float64(top-v) {
		v = top
	} else {
		v += uint64(step)
	}
	return max(from, c.point(v))
}

// Scale places ids on the line from lo to hi by the digits Between reads, to tell how far
// apart two ids lie without reading the ids between them.
type Scale struct {
	lo, hi string
	s      scale
	a, b   uint64 // the digits of lo and hi
}

// NewScale returns the scale from lo to hi.
func NewScale(lo, hi string) Scale {
	s := newScale(lo, hi)
	return Scale{lo: lo, hi: hi, s: s, a: s.digits(lo), b: s.digits(hi)}
}

// Distance returns how far x lies past w, as a share of the way from lo to hi: 0 when x is
// not past w, or when the scale is a point (hi ≤ lo). An id before lo counts as lo, one past
// hi as hi.
func (c Scale) Distance(w, x string) float64 {
	if c.b <= c.a || x <= w {
		return 0
	}
	return float64(c.at(x)-c.at(w)) / float64(c.b-c.a)
}

// Ahead returns the point that lies share of the way from lo to hi past from (Distance's
// measure: share × n skips about n ids where n ids lie between lo and hi evenly), so that a
// listing can resume past ids it need not read. It never returns a point before from, nor
// past the common prefix's range; from itself when the scale is a point or from lacks the
// prefix.
func (c Scale) Ahead(from string, share float64) string {
	if c.b <= c.a || share <= 0 || !strings.HasPrefix(from, c.s.pre) {
		return from
	}
	return c.s.advance(from, share*float64(c.b-c.a))
}

// at is s's digits, s clamped to [lo, hi] (so it has their common prefix).
func (c Scale) at(s string) uint64 {
	switch {
	case s <= c.lo:
		return c.a
	case s >= c.hi:
		return c.b
	}
	return max(c.a, min(c.b, c.s.digits(s)))
}

// scale reads the 8 bytes after a common prefix as digits of an alphabet: the narrowest of
// decimal, lower-case hex, upper-case hex, alphanumeric and printable ASCII that holds the
// bytes of both ends after their prefix. Ids that use few characters (decimal counters,
// UUIDs) then spread evenly over the points, where printable ASCII would leave most of the
// points between two ids.
type scale struct {
	pre      string // the common prefix
	alphabet string // the digits, in byte order
}

const scaleWidth = 8

// Alphabets, each in byte order, from the narrowest.
var alphabets = []string{
	"0123456789",
	"0123456789abcdef",
	"0123456789ABCDEF",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	printable,
}

// printable is every printable ASCII byte, ' ' to '~'.
var printable = func() string {
	b := make([]byte, 0, 95)
	for c := byte(' '); c <= '~'; c++ {
		b = append(b, c)
	}
	return string(b)
}()

func newScale(lo, hi string) scale {
	n := 0
	for n < len(lo) && n < len(hi) && lo[n] == hi[n] {
		n++
	}
	rest := lo[n:min(len(lo), n+scaleWidth)] + hi[n:min(len(hi), n+scaleWidth)]
	for _, a := range alphabets {
		if strings.Trim(rest, a) == "" {
			return scale{pre: lo[:n], alphabet: a}
		}
	}
	return scale{pre: lo[:n], alphabet: printable}
}

// digit is the value of byte b: its index in the alphabet, or, for a byte the alphabet
// lacks, the index of the largest digit below it (0 below them all).
func (c scale) digit(b byte) uint64 {
	i := strings.IndexByte(c.alphabet, b)
	if i >= 0 {
		return uint64(i)
	}
	d := uint64(0)
	for j := range len(c.alphabet) {
		if c.alphabet[j] < b {
			d = uint64(j)
		}
	}
	return d
}

// digits is the value of s's bytes after the prefix.
func (c scale) digits(s string) (v uint64) {
	base := uint64(len(c.alphabet))
	for i := range scaleWidth {
		d := uint64(0)
		if len(c.pre)+i < len(s) {
			d = c.digit(s[len(c.pre)+i])
		}
		v = v*base + d
	}
	return v
}

// top is the largest value of digits.
func (c scale) top() uint64 {
	v := uint64(1)
	for range scaleWidth {
		v *= uint64(len(c.alphabet))
	}
	return v - 1
}

// point is the string of the prefix and the digits of v, without trailing zero digits.
func (c scale) point(v uint64) string {
	base := uint64(len(c.alphabet))
	var tail [scaleWidth]byte
	for i := scaleWidth - 1; i >= 0; i-- {
		tail[i] = c.alphabet[v%base]
		v /= base
	}
	// Clamping can draw a point below the string it started from (when that holds a byte
	// the alphabet lacks): the callers never go back.
	return c.pre + strings.TrimRight(string(tail[:]), c.alphabet[:1])
}
