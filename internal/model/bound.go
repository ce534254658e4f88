package model

import (
	"math"
	"time"
)

// UnitsPerTask is what one task writes when it succeeds at once: the claim and the completion,
// each one table item and an index entry moved (a delete and a put), 3 write units each.
const UnitsPerTask = 6

// Bound is the shortest time a job could take with no overhead at all, under the limits the
// model applies together: the worker's concurrency W, Lambda's scaling (from no environment,
// ScaleBurst at once, then ScaleRate a second) and the table's write units (TableWRU /
// UnitsPerTask tasks a second). Tasks take their mean time each (a fluid bound: no task's
// tail is waited for, so it is below what any run can reach).
type Bound struct {
	// Time is the job's least time.
	Time time.Duration
	// Concurrency is the worker environments the bound keeps busy once ramped up: W, or
	// fewer when the table binds.
	Concurrency float64
	// Binds says which limit sets the rate: "W" or "table".
	Binds string
	// Ramp is how long the scaling rate holds the bound below Concurrency.
	Ramp time.Duration
}

// BoundOf is the bound of a job.
func BoundOf(job Job) Bound {
	p := job.platform()
	m := seconds(job.Worker.Mean)
	n := float64(job.Tasks)
	w := float64(job.Worker.Concurrency)
	if w == 0 {
		w = math.Inf(1)
	}
	table := p.TableWRU / UnitsPerTask * m // the concurrency the table sustains
	c, binds := w, "W"
	if table < w {
		c, binds = table, "table"
	}
	b := Bound{Concurrency: c, Binds: binds}
	if p.ScaleBurst >= c {
		b.Time = dur(n * m / c)
		return b
	}
	ramp := (c - p.ScaleBurst) / p.ScaleRate
	inRamp := (p.ScaleBurst*ramp + p.ScaleRate*ramp*ramp/2) / m
	b.Ramp = dur(ramp)
	if n <= inRamp {
		// p.ScaleBurst t + p.ScaleRate t²/2 = n m
		t := (-p.ScaleBurst + math.Sqrt(p.ScaleBurst*p.ScaleBurst+2*p.ScaleRate*n*m)) / p.ScaleRate
		b.Time = dur(t)
		return b
	}
	b.Time = dur(ramp + (n-inRamp)*m/c)
	return b
}

func dur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
