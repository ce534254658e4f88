package console

import (
	"sync"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// sample is one count of a job: when it was read, and its tasks per status.
type sample struct {
	At     time.Time
	Counts map[tracker.Status]int
	Total  int
}

// history keeps the latest counts of each job the console read, in memory: a job's status
// mix over time, and its throughput.
type history struct {
	limit int
	mu    sync.Mutex
	jobs  map[string][]sample
}

func newHistory(limit int) *history { return &history{limit: limit, jobs: map[string][]sample{}} }

// add records a snapshot of job.
func (h *history) add(job string, snap *tracker.Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := sample{At: snap.Ended, Counts: snap.Counts, Total: snap.Total}
	list := h.jobs[job]
	if n := len(list); n > 0 && !s.At.After(list[n-1].At) {
		return // out of order (two reads that ended together): keep time increasing
	}
	list = append(list, s)
	if len(list) > h.limit {
		list = append(list[:0:0], list[len(list)-h.limit:]...)
	}
	h.jobs[job] = list
}

// get returns job's samples, oldest first.
func (h *history) get(job string) []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.jobs[job]
}

// rateWindow is the span throughput is smoothed over.
const rateWindow = 5 * time.Minute

// rate is a job's throughput: tasks finished (succeeded or ignored) per second over the
// samples of the last rateWindow, and the time its pending tasks would take at that pace.
type rate struct {
	// Known says two samples at least span the window: PerSecond and Window are set.
	Known     bool
	PerSecond float64
	Window    time.Duration
	// Pending is todo + in progress + failed at the last sample; Left the time they would
	// take at PerSecond (LeftKnown false when the pace is zero or less).
	Pending   int
	Left      time.Duration
	LeftKnown bool
}

// finished counts the tasks no run takes again.
func finished(c map[tracker.Status]int) int { return c[tracker.Succeeded] + c[tracker.Ignored] }

// pending counts the tasks a run may still take.
func pending(c map[tracker.Status]int) int {
	return c[tracker.Todo] + c[tracker.InProgress] + c[tracker.Failed]
}

// throughput computes the rate from samples, oldest first.
func throughput(samples []sample) rate {
	if len(samples) == 0 {
		return rate{}
	}
	last := samples[len(samples)-1]
	r := rate{Pending: pending(last.Counts)}
	first := last
	for i := len(samples) - 2; i >= 0 && last.At.Sub(samples[i].At) <= rateWindow; i-- {
		first = samples[i]
	}
	r.Window = last.At.Sub(first.At)
	if r.Window <= 0 {
		return r
	}
	r.Known = true
	r.PerSecond = float64(finished(last.Counts)-finished(first.Counts)) / r.Window.Seconds()
	if r.PerSecond > 0 {
		r.LeftKnown = true
		r.Left = time.Duration(float64(r.Pending) / r.PerSecond * float64(time.Second))
	}
	return r
}
