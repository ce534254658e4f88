package model

import (
	"math"
	"time"
)

// Job is a job for the model: its tasks and its worker, on a platform.
type Job struct {
	// Tasks is how many tasks the job has, all todo at its start.
	Tasks int
	// Worker is the user's worker function.
	Worker Worker
	// Platform is what the model assumes of AWS; the zero value means AWS().
	Platform Platform
	// Seed makes a run repeatable: the same seed, the same run.
	Seed uint64
}

func (j Job) platform() Platform {
	if j.Platform == (Platform{}) {
		return AWS()
	}
	return j.Platform
}

// Sample is how many lanes (or batch children) were in flight from a time on.
type Sample struct {
	At    time.Duration // since the execution's start
	Lanes int
}

// Loss is where the loop slots of a run of the new definition went (C loops for the whole
// job), as shares of C × the job's time.
type Loss struct {
	// Work: the worker running. Own: our functions, their invokes and the transitions
	// between states. Waits: waiting out Retry rules and the SDK's retries (throttles).
	Work, Own, Waits float64
	// Cut: waiting in Work for attempts a budget cut stopped (Lanes.Cut).
	Cut float64
	// Tail: loops that ended, waiting for the slowest loop of their lane. Startup: a lane's
	// start (the child's start, LaneStart) before its loops run, and the loops a last lane
	// lacks. Empty: lanes that found nothing due. NoLane: slots with no lane (before the
	// first, between passes, after the last).
	Tail, Startup, Empty, NoLane float64
}

// Result is what the model saw of a run.
type Result struct {
	// Shape is "lanes" (the new definition) or "pages" (the previous one).
	Shape string
	// Tasks is the job's tasks.
	Tasks int
	// Time is the job's time, from the execution's start to its end.
	Time time.Duration
	// Succeeded and Ignored count the tasks at the end; Pending those left.
	Succeeded, Ignored, Pending int
	// Passes counts RunLanes runs (the new shape); Pages and Rounds the old shape's.
	Passes, Pages, Rounds int
	// Sizing is the new shape's lanes, loops and slots.
	Sizing Sizing
	// Children counts the child executions (lanes or batches), EmptyChildren the lanes that
	// found nothing due, TimedOut those that outlived the Express budget; LongestLane is the
	// longest lane's life.
	Children, EmptyChildren, TimedOut int
	LongestLane                       time.Duration
	// LanesInFlight is the lanes (or batch children) in flight over time.
	LanesInFlight []Sample
	// Entered counts the states entered, by name; StandardTransitions and
	// ExpressTransitions add them up by the kind of execution they ran in.
	Entered                                 map[string]int64
	StandardTransitions, ExpressTransitions int64
	// Requests, Throttles and Peak are per function (FunctionNames): requests served,
	// invokes throttled and the most environments busy at once.
	Requests, Throttles, Peak map[string]int64
	// PeakOurs is the most environments of our four functions busy at once, together.
	PeakOurs int
	// ExpressSeconds is the Express duration billed (each child rounded up to 100 ms);
	// OurGBSeconds our functions' billed GB-seconds and OurSeconds their billed seconds.
	ExpressSeconds, OurGBSeconds, OurSeconds float64
	// PeakProgressWCU is the most write units one in-progress index partition took in one
	// second; PeakProgressTotal all in-progress partitions together.
	PeakProgressWCU, PeakProgressTotal float64
	// TableThrottles and PartitionThrottles count throttled writes; WriteRetries the SDK's
	// retries; RetryWaits the waits of the states' Retry rules.
	TableThrottles, PartitionThrottles, WriteRetries, RetryWaits int64
	// Loss is where the new shape's loop slots went.
	Loss Loss
	// WriteUnits is the write units the table took, index writes included.
	WriteUnits float64
	// WorkerSeconds is the worker's billed seconds; WastedSeconds those of attempts a budget
	// cut stopped, whose work runs again, and ZombieSeconds the part of them after the cut.
	WorkerSeconds, WastedSeconds, ZombieSeconds float64
	// Cuts counts the attempts a budget cut stopped, CutAgain those of tasks cut before,
	// HandedBack the claims that gave a task released before straight back, and Overlaps the
	// attempts that began while the worker of a cut attempt of the same task still ran.
	Cuts, CutAgain, HandedBack, Overlaps int64
}

// PerTask is n per task of the run.
func (r *Result) PerTask(n float64) float64 { return n / float64(r.Tasks) }

// ExtraUnitsPerTask is the write units per task beyond a task's own claim and completion
// (UnitsPerTask): lanes' starts, refused claims, failures, releases and hand-backs.
func (r *Result) ExtraUnitsPerTask() float64 { return r.PerTask(r.WriteUnits) - UnitsPerTask }

// WastedShare is the worker's seconds in cut attempts over its seconds in the others.
func (r *Result) WastedShare() float64 {
	return r.WastedSeconds / (r.WorkerSeconds - r.WastedSeconds)
}

// TasksPerSecond is the job's tasks over its time.
func (r *Result) TasksPerSecond() float64 { return float64(r.Tasks) / r.Time.Seconds() }

// StepsPerTask is the states entered per task, Standard and Express together.
func (r *Result) StepsPerTask() float64 {
	return float64(r.StandardTransitions+r.ExpressTransitions) / float64(r.Tasks)
}

// OurRequestsPerTask is our four functions' requests per task.
func (r *Result) OurRequestsPerTask() float64 {
	var n int64
	for _, name := range FunctionNames[:fnWorker] {
		n += r.Requests[name]
	}
	return float64(n) / float64(r.Tasks)
}

// AverageOurs is our four functions' environments busy on average over the job.
func (r *Result) AverageOurs() float64 { return r.OurSeconds / r.Time.Seconds() }

// Cost is what a run costs at prices, per task, the worker's own requests and duration left
// out: Express requests and GB-seconds, our functions' requests and GB-seconds, the Standard
// parent's transitions and the state machine's log of throttled calls.
func (r *Result) Cost(p Prices, plat Platform) float64 { return r.Costs(p, plat).Total() }

// Costs is what a run costs at prices, per task, by item; the worker's own requests and
// duration are left out.
func (r *Result) Costs(p Prices, plat Platform) Costs {
	return Costs{
		ExpressRequests:  r.PerTask(float64(r.Children) * p.ExpressRequest),
		ExpressGBSeconds: r.PerTask(r.ExpressSeconds * plat.ExpressMemoryMB / 1024 * p.ExpressGBSecond),
		LambdaRequests:   r.OurRequestsPerTask() * p.LambdaRequest,
		LambdaGBSeconds:  r.PerTask(r.OurGBSeconds * p.LambdaGBSecond),
		Standard:         r.PerTask(float64(r.StandardTransitions) * p.StandardTransition),
		ThrottleLogs:     r.PerTask(float64(r.ThrottledCalls()) * plat.ThrottleEventBytes / 1e9 * p.LogGB),
	}
}

// ThrottledCalls is how many Lambda calls were throttled, every function's.
func (r *Result) ThrottledCalls() int64 {
	var n int64
	for _, k := range r.Throttles {
		n += k
	}
	return n
}

// Costs is what our part of a run costs per task, in US dollars: the Express lanes'
// executions and duration, our functions' requests and duration, the Standard parent's
// transitions, and the ERROR events the state machine logs for throttled calls (each retried
// throttle is one; the other failures' events are measured on the local stack, see
// BenchmarkCost).
type Costs struct {
	ExpressRequests, ExpressGBSeconds, LambdaRequests, LambdaGBSeconds, Standard, ThrottleLogs float64
}

// Total adds the items up.
func (c Costs) Total() float64 {
	return c.ExpressRequests + c.ExpressGBSeconds + c.LambdaRequests + c.LambdaGBSeconds + c.Standard + c.ThrottleLogs
}

// lanesAt records the lanes in flight from t on.
func (r *Result) lanesAt(t float64, n int) {
	at := time.Duration(t * float64(time.Second))
	if k := len(r.LanesInFlight); k > 0 && r.LanesInFlight[k-1].At == at {
		r.LanesInFlight[k-1].Lanes = n
		return
	}
	r.LanesInFlight = append(r.LanesInFlight, Sample{At: at, Lanes: n})
}

// fill copies the figures every shape has from a finished sim.
func (r *Result) fill(s *sim, end float64) {
	r.Time = time.Duration(end * float64(time.Second))
	r.Succeeded, r.Ignored = s.pool.succeeded, s.pool.ignored
	r.Pending = r.Tasks - r.Succeeded - r.Ignored
	r.Entered = map[string]int64{}
	for i, n := range s.entered {
		name := s.def.names[i]
		r.Entered[name] = n
		if s.def.In[name] == "" {
			r.StandardTransitions += n
		} else {
			r.ExpressTransitions += n
		}
	}
	r.Requests, r.Throttles, r.Peak = map[string]int64{}, map[string]int64{}, map[string]int64{}
	for i, f := range s.fns {
		name := FunctionNames[i]
		r.Requests[name], r.Throttles[name], r.Peak[name] = f.requests, f.throttles, int64(f.peak)
		if i != fnWorker {
			r.OurGBSeconds += f.billed * s.p.FunctionMemoryMB / 1024
			r.OurSeconds += f.billed
		}
	}
	r.PeakOurs = s.oursPeak
	r.TableThrottles = s.table.throttles
	for _, b := range s.parts {
		r.PeakProgressWCU = max(r.PeakProgressWCU, b[pProgress].peak)
		r.PeakProgressTotal += b[pProgress].peak
		for _, st := range b {
			r.PartitionThrottles += st.throttles
		}
	}
	r.WriteRetries, r.RetryWaits = s.acct.writeRetries, s.acct.lambdaWaits
	r.WriteUnits = s.table.taken
	r.WorkerSeconds, r.WastedSeconds, r.ZombieSeconds = s.fns[fnWorker].billed, s.acct.wasted, s.acct.zombie
	r.Cuts, r.CutAgain, r.HandedBack, r.Overlaps = s.acct.cuts, s.acct.cutAgain, s.acct.handbacks, s.acct.overlaps
}

func (l *laneSim) result() *Result {
	r := l.res
	r.fill(l.sim, l.done)
	r.Passes, r.Sizing = l.passes, l.size
	r.Children, r.EmptyChildren, r.TimedOut = l.acctL.lanes, l.acctL.emptyLanes, l.acctL.timedOut
	r.ExpressSeconds, r.LongestLane = l.acctL.billed, dur(l.acctL.longest)
	total := float64(l.size.Lanes*l.size.Loops) * l.done
	a := l.acct
	r.Loss = Loss{
		Work: a.work / total, Waits: a.wait / total, Own: (a.active - a.work - a.cut - a.wait) / total, Cut: a.cut / total,
		Tail: l.acctL.tail / total, Startup: l.acctL.startup / total, Empty: l.acctL.empty / total,
		NoLane: math.Max(0, total-l.acctL.slotTime) / total,
	}
	return r
}
