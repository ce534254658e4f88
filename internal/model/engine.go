package model

import "math"

// event is something that happens at a time to one actor (a loop, a lane, the parent).
type event struct {
	t    float64
	kind uint8
	id   int32
}

// queue is a 4-ary min-heap of events by time: shallower than a binary heap, so fewer moves
// per event with the tens of thousands of loops in flight.
type queue []event

func (q *queue) push(e event) {
	*q = append(*q, e)
	h := *q
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if h[p].t <= e.t {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

func (q *queue) pop() event {
	h := *q
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < min(c+4, n); j++ {
			if h[j].t < h[m].t {
				m = j
			}
		}
		if h[m].t >= last.t {
			break
		}
		h[i] = h[m]
		i = m
	}
	if n > 0 {
		h[i] = last
	}
	*q = h
	return top
}

// function is one Lambda function: its execution environments, busy or idle, its
// concurrency limit and its scaling bucket.
type function struct {
	limit      int // 0: no limit of its own
	busy, idle int
	tokens     float64 // new environments it may create now
	last       float64
	burst      float64
	rate       float64
	peak       int
	requests   int64
	throttles  int64
	colds      int64
	billed     float64 // handler seconds, init included
}

func newFunction(limit int, burst, rate float64) function {
	return function{limit: limit, tokens: burst, burst: burst, rate: rate}
}

// invoke takes an execution environment at now: a warm one, or a new one when the scaling
// bucket allows; ok is false when the invoke is throttled.
func (f *function) invoke(now float64) (ok, cold bool) {
	if f.limit > 0 && f.busy >= f.limit {
		f.throttles++
		return false, false
	}
	if f.idle > 0 {
		f.idle--
	} else {
		f.tokens = min(f.burst, f.tokens+(now-f.last)*f.rate)
		f.last = now
		if f.tokens < 1 {
			f.throttles++
			return false, false
		}
		f.tokens--
		cold = true
		f.colds++
	}
	f.busy++
	f.requests++
	f.peak = max(f.peak, f.busy)
	return true, cold
}

// done gives an environment back after a handler that ran for d seconds.
func (f *function) done(d float64) {
	f.bill(d)
	f.free()
}

// bill counts a handler's d seconds, rounded up to the millisecond as Lambda bills them.
func (f *function) bill(d float64) { f.billed += math.Ceil(d*1000) / 1000 }

// free gives an environment back.
func (f *function) free() {
	f.busy--
	f.idle++
}

// bucket is a token bucket refilled continuously: a partition's or the table's write units.
// It holds one second of units (assumed: DynamoDB documents its limits per second, not its
// burst), so a fixed one-second window may see up to twice the rate; it keeps the most units
// taken within one such window.
type bucket struct {
	rate, tokens, last float64
	window             float64 // start of the current second
	inWindow           float64
	peak               float64
	taken              float64 // every unit taken
	throttles          int64
}

func newBucket(rate float64) bucket { return bucket{rate: rate, tokens: rate} }

func (b *bucket) has(now, n float64) bool {
	b.tokens = min(b.rate, b.tokens+(now-b.last)*b.rate)
	b.last = now
	return b.tokens >= n
}

func (b *bucket) take(now, n float64) {
	b.tokens -= n
	b.taken += n
	if now >= b.window+1 {
		b.window, b.inWindow = math.Floor(now), 0
	}
	b.inWindow += n
	b.peak = max(b.peak, b.inWindow)
}
