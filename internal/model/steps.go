package model

// shape is what differs between the two definitions in a loop's steps: what a claim finds
// and does, what ends a loop, and the events of lanes, children and the parent.
type shape interface {
	// claimTime is the claim handler's time, deciding at its start what it will find.
	claimTime(id int32) float64
	// claimed ends a claim's handler: it takes a task, or ends the loop.
	claimed(id int32)
	// ended ends a loop (or a batch's task) at t.
	ended(id int32, t float64)
	// handle runs a shape's own event.
	handle(e event)
}

// onInvoke is a Task state invoking its function: throttled, it waits out the state's Retry
// rule or takes its Catch; otherwise the handler runs.
func (s *sim) onInvoke(id int32, sh shape) {
	a := &s.actors[id]
	spec := &s.steps[a.step]
	if !s.begin(spec.fn, a) {
		if s.retryStep(id, spec.throttle, s.p.throttle) {
			return
		}
		s.route(id, spec.onThrottl, s.now+s.p.throttle, sh)
		return
	}
	var d float64
	switch a.step {
	case stClaim:
		d = sh.claimTime(id)
	case stWork:
		if a.task.cutEnds > s.now {
			s.acct.overlaps++
		}
		a.work = s.workTime()
		d = min(a.work, s.timeout)
		if a.cut > 0 {
			d = min(d, a.cut)
		}
	default:
		d = s.p.cpu + s.p.write
	}
	s.at(s.now+s.startup(a.cold)+d, evDone, id)
}

// onDone ends a handler.
func (s *sim) onDone(id int32, sh shape) {
	switch s.actors[id].step {
	case stClaim:
		sh.claimed(id)
	case stWork:
		s.worked(id, sh)
	default:
		s.recorded(id, sh)
	}
}

// worked ends the worker's handler: a success goes on to Complete; an error or a timeout is
// caught into RecordFailure; an attempt a budget cut stopped goes to Release.
func (s *sim) worked(id int32, sh shape) {
	a := &s.actors[id]
	spec := &s.steps[stWork]
	t := s.now + s.p.invoke
	if a.cut > 0 && a.work > a.cut {
		s.cutOff(a)
		s.route(id, s.steps[stRelease].state, t, sh)
		return
	}
	s.acct.work += s.now - a.began
	s.end(fnWorker, a)
	if a.work > s.timeout || s.rng.Float64() < s.worker.FailRate {
		next, _ := s.def.CatchFor(spec.state, "States.Timeout")
		s.route(id, next, t, sh)
		return
	}
	s.route(id, spec.next, t, sh)
}

// cutOff is a budget cut: Step Functions stops waiting for the worker (States.Timeout), but
// the worker's invocation runs on to its end (at most its own timeout), holding its
// environment, and its work is wasted: the task is released and runs again.
func (s *sim) cutOff(a *actor) {
	end := a.began + s.startup(a.cold) + min(a.work, s.timeout)
	s.acct.cut += s.now - a.began
	s.acct.wasted += end - a.began
	s.acct.zombie += end - s.now
	s.acct.cuts++
	if a.task.cuts > 0 {
		s.acct.cutAgain++
	}
	a.task.cuts++
	a.task.cutEnds = end
	s.fns[fnWorker].bill(end - a.began)
	s.at(end, evFree, fnWorker)
}

// recorded ends Complete, RecordFailure or Release: one conditional write, retried by the
// SDK when throttled; past the SDK's attempts the handler fails with TrackerUnavailable and
// the state's Retry and Catch rules take over.
func (s *sim) recorded(id int32, sh shape) {
	a := &s.actors[id]
	spec := &s.steps[a.step]
	to := [nSteps]int{stComplete: pDone, stFail: pFailed, stRelease: pTodo}[a.step]
	if a.step == stRelease && a.task.failed {
		to = pFailed
	}
	if !s.write(3, int(a.part), pProgress, to) {
		if d, ok := s.sdkRetry(a); ok {
			a.wait += d
			s.at(s.now+d+s.p.write, evDone, id)
			return
		}
		s.end(spec.fn, a)
		if s.retryStep(id, spec.unavail, s.p.invoke) {
			return
		}
		s.route(id, spec.onUnavail, s.now+s.p.invoke, sh)
		return
	}
	s.end(spec.fn, a)
	switch a.step {
	case stComplete:
		s.pool.succeeded++
	case stFail:
		s.pool.fail(int(a.part), a.task, s.now, s.maxRetry, s.backoff)
	case stRelease:
		// The fail function holds a released task back for the first backoff, so that a loop
		// does not claim it again at once to meet the same throttle.
		s.pool.release(int(a.part), a.task, s.now+s.backoff(1))
	}
	a.holding, a.leased = false, false
	s.route(id, spec.next, s.now+s.p.invoke, sh)
}

// claimWrite is a claim's conditional write, with the SDK's retries; false when it was
// throttled and another attempt is scheduled, or the handler failed (and its rules took over).
func (s *sim) claimWrite(id int32, units float64, from int, sh shape) bool {
	a := &s.actors[id]
	if s.write(units, int(a.part), from, pProgress) {
		return true
	}
	if d, ok := s.sdkRetry(a); ok {
		a.wait += d
		s.at(s.now+d+s.p.write, evDone, id)
		return false
	}
	spec := &s.steps[stClaim]
	s.end(spec.fn, a)
	if !s.retryStep(id, spec.unavail, s.p.invoke) {
		s.route(id, spec.onUnavail, s.now+s.p.invoke, sh)
	}
	return false
}
