package model

import (
	"fmt"
	"math"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
)

// Lanes is a run of the new definition (issue 18): its input and the settings it derives
// lanes and slots from. Zero values take the defaults noted.
type Lanes struct {
	// Concurrency is C, the loops in flight: L = ceil(C / loops a lane runs at once) lanes of
	// k = ceil(C / L) loops each.
	Concurrency int
	// Shards is how many index partitions each status of the job spreads over (its parts);
	// 0 means 1. Loops take parts round-robin.
	Shards int
	// LoopsPerLane caps the loops a lane runs (k); 0 means as many as the Loops Map runs at
	// once. Fewer loops a lane means more lanes for the same C.
	LoopsPerLane int
	// SlotsPerLane is how many lane slots a pass has per lane (S = min(MaxSlots, L × it));
	// 0 means 32 (contract.SlotsPerLane). A pass opens no more than L + ⌈(todo + failed) / k⌉
	// of them, as list-pending does.
	SlotsPerLane int
	// MaxSlots caps a pass's slots; 0 means 10,000 (a Distributed Map's children at most).
	MaxSlots int
	// Margin and Budget: a loop claims only when now + the worker's timeout + Margin is at most
	// the lane's start + Budget. 0 means 30 s (contract.LaneMargin) and 300 s (an Express
	// execution's longest life, contract.ExpressBudget).
	Margin, Budget time.Duration
	// Cut is the budget cut, a variant of the rule above that the definition does not have
	// yet; 0 keeps the rule. With Cut in (0, 1], a loop claims when now + Cut × the worker's
	// timeout + Margin is at most the lane's start + Budget, and Work's timeout is the
	// worker's or what is left until the lane's start + Budget − Margin, whichever is less
	// (whole seconds). A cut attempt is released (the model routes Work's States.Timeout to
	// Release, which the definition would have to do), and its worker runs on to its end,
	// holding its environment. A claim that takes a task released before when less than the
	// worker's timeout is left hands it straight back (a second write) and claims the next.
	Cut float64
	// MaxSteps is how many passes an execution runs before it continues as a new one; 0 means
	// contract.DefaultMaxSteps.
	MaxSteps int
}

// Sizing is what a run of the new definition derives from its Concurrency.
type Sizing struct {
	Lanes, Loops, Slots int // L, k and S
}

// Size derives the lanes (L), loops per lane (k) and slots per pass (S) from Concurrency, a
// lane running at most perLane loops at once (the Loops Map's MaxConcurrency). L is at most
// MaxSlots: a pass has no more slots, nor a Distributed Map more children at once.
func (l Lanes) Size(perLane int) Sizing {
	if l.LoopsPerLane > 0 {
		perLane = min(perLane, l.LoopsPerLane)
	}
	c := max(1, l.Concurrency)
	lanes := min((c+perLane-1)/perLane, l.maxSlots())
	loops := (c + lanes - 1) / lanes
	return Sizing{Lanes: lanes, Loops: loops, Slots: min(l.maxSlots(), lanes*l.slotsPerLane())}
}

func (l Lanes) slotsPerLane() int { return orDefault(l.SlotsPerLane, 32) }
func (l Lanes) maxSlots() int     { return orDefault(l.MaxSlots, 10000) }
func (l Lanes) shards() int       { return orDefault(l.Shards, 1) }
func (l Lanes) maxSteps() int     { return orDefault(l.MaxSteps, contract.DefaultMaxSteps) }
func (l Lanes) margin() float64   { return orDefaultSeconds(l.Margin, 30) }
func (l Lanes) budget() float64   { return orDefaultSeconds(l.Budget, 300) }

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func orDefaultSeconds(v time.Duration, d float64) float64 {
	if v == 0 {
		return d
	}
	return seconds(v)
}

// lanesShape is what the model reads of the new definition.
type lanesShape struct {
	perLane int // loops a lane runs at once: the Groups Map's MaxConcurrency × the Loops Map's
	perMap  int // the Loops Map's MaxConcurrency
	steps   stepSpecs
	claimed int     // the index of the Claimed Choice
	lane    Retrier // LaneStart's rule for throttles
}

// The model's paths through the new definition: the parent's, a lane's and a loop's.
var lanesPaths = [][]string{
	{"CheckInput", "SweepOrJob", "Plan", "WhatNext", "RunLanes", "Plan"},
	{"WhatNext", "WaitUntilDue", "Plan"},
	{"WhatNext", "Handover", "HandedOver"},
	{"WhatNext", "Summary", "Done"},
	{"LaneStart", "LaneGo", "Groups", "LaneDone"},
	{"LaneStart", "LaneDone"},
	{"LaneGo", "LaneDone"},
	{"ClaimNext", "Claimed", "Work", "Complete", "ClaimNext"},
	{"ClaimNext", "Claimed", "LoopDone"},
	{"ClaimNext", "LoopErrored"},
	{"Work", "RecordFailure", "ClaimNext"},
	{"Work", "Release", "ClaimNext"},
	{"Complete", "Release"},
	{"Complete", "LeaseLost", "ClaimNext"},
	{"RecordFailure", "Errored", "ClaimNext"},
}

// CheckLanes checks that every path the model takes through the new definition is one the
// definition has, and that its Maps are where the model runs lanes and loops.
func CheckLanes(def *Definition) error {
	_, err := readLanes(def)
	return err
}

// readLanes checks the model's paths against the new definition and reads its settings.
func readLanes(def *Definition) (lanesShape, error) {
	for _, p := range lanesPaths {
		if err := def.Path(p...); err != nil {
			return lanesShape{}, err
		}
	}
	for _, end := range []string{"Done", "HandedOver", "LaneDone", "LoopDone", "LoopErrored"} {
		if err := def.Ends(end); err != nil {
			return lanesShape{}, err
		}
	}
	if def.mode("RunLanes") != "DISTRIBUTED" || def.States["RunLanes"].MaxConcurrencyPath == "" {
		return lanesShape{}, fmt.Errorf("RunLanes is not a Distributed Map with MaxConcurrencyPath")
	}
	if def.mode("Groups") != "INLINE" || def.mode("Loops") != "INLINE" || def.In["ClaimNext"] != "Loops" ||
		def.In["Loops"] != "Groups" || def.In["Groups"] != "RunLanes" || def.States["Loops"].Next != "" {
		return lanesShape{}, fmt.Errorf("the loops are not inline Maps (Loops) in an inline Map (Groups) within the lanes")
	}
	steps, err := stepsFrom(def, [nSteps]string{"ClaimNext", "Work", "Complete", "RecordFailure", "Release"})
	if err != nil {
		return lanesShape{}, err
	}
	perMap := def.States["Loops"].MaxConcurrency
	return lanesShape{perLane: def.States["Groups"].MaxConcurrency * perMap, perMap: perMap, steps: steps, claimed: def.index["Claimed"],
		lane: retrierOrNone(def, "LaneStart", "Lambda.TooManyRequestsException")}, nil
}

// The new shape's own events.
const (
	evLaneInvoke   = evShape + iota // a lane's LaneStart invokes the claim function
	evLaneStarted                   // LaneStart's handler ends
	evLaneEnd                       // a lane's execution ends
	evParentInvoke                  // the parent's Task state invokes list-pending
	evParentDone                    // its handler ends
	evParentNext                    // its result reaches the parent
)

// lane is one child execution of a pass.
type lane struct {
	a       actor   // LaneStart's call
	opened  float64 // when its slot opened
	started float64 // LaneStart's clock: the lane's budget counts from it
	loopsAt float64
	active  int
	k       int
	endSum  float64 // its loops' end times, added up
	budget  float64 // its budget (contract.LaneBudget): its slot's in a pass
	empty   bool
}

// laneSim is a run of the new definition.
type laneSim struct {
	*sim
	shape   lanesShape
	cfg     Lanes
	size    Sizing
	lanes   []lane
	freeL   []int32
	running int
	left    int // slots of the pass not opened yet
	slot    int // the pass's next slot
	nextPrt int
	// the parent's current Task state and what follows it
	pa     actor
	pState string
	pWork  float64
	pThen  func(t float64)
	passes int
	done   float64
	res    *Result
	acctL  laneAccounting
}

// laneAccounting is where the lanes' loop slots go, in loop-seconds.
type laneAccounting struct {
	slotTime, tail, startup, empty float64
	lanes, emptyLanes, timedOut    int
	billed                         float64 // Express seconds billed
	longest                        float64 // the longest lane's life
}

// RunLanes runs a job through the new definition and returns what the model saw.
func RunLanes(def *Definition, job Job, cfg Lanes) (*Result, error) {
	shape, err := readLanes(def)
	if err != nil {
		return nil, err
	}
	if job.Tasks <= 0 {
		return nil, fmt.Errorf("a job of %d tasks", job.Tasks)
	}
	s := newSim(job.platform(), def, job.Worker, job.Tasks, cfg.shards(), job.Seed)
	s.steps = shape.steps
	l := &laneSim{sim: s, shape: shape, cfg: cfg, size: cfg.Size(shape.perLane),
		res: &Result{Shape: "lanes", Tasks: job.Tasks}}
	l.parentCall("CheckInput", s.p.cpu+s.p.read+s.p.write, 0, l.checked)
	for len(s.q) > 0 {
		e := s.q.pop()
		s.now = e.t
		switch e.kind {
		case evInvoke:
			s.onInvoke(e.id, l)
		case evDone:
			s.onDone(e.id, l)
		case evFree:
			s.fns[e.id].free()
		default:
			l.handle(e)
		}
	}
	return l.result(), nil
}

// parentCall has the parent enter a Task state calling list-pending at t, then go on with
// then at the time its result arrives.
func (l *laneSim) parentCall(state string, work, t float64, then func(t float64)) {
	l.enter(state)
	l.pState, l.pWork, l.pThen = state, work, then
	l.pa.retries = 0
	l.at(t+l.p.sTrans, evParentInvoke, 0)
}

// checked follows CheckInput: SweepOrJob, then Plan.
func (l *laneSim) checked(t float64) {
	l.enter("SweepOrJob")
	l.parentCall("Plan", l.p.cpu+l.p.read+l.p.write, t+l.p.sTrans, l.next)
}

// next is WhatNext after Plan: a pass of lanes while tasks are due, a wait for the next failed
// task, or the end.
func (l *laneSim) next(t float64) {
	l.enter("WhatNext")
	t += l.p.sTrans
	switch {
	case l.pool.anyDue(l.now):
		l.pass(t)
	case l.pool.waiting > 0:
		l.enter("WaitUntilDue")
		at := math.Ceil(l.pool.nextDue())
		l.parentCall("Plan", l.p.cpu+l.p.read+l.p.write, max(at, t+l.p.sTrans), l.next)
	default:
		l.parentCall("Summary", l.p.cpu+l.p.read, t, func(t float64) {
			l.enter("Done")
			l.done = t + l.p.sTrans
		})
	}
}

// pass runs RunLanes: S slots, L at once.
func (l *laneSim) pass(t float64) {
	if l.passes > 0 && l.passes%l.cfg.maxSteps() == 0 {
		// Continue as new: Handover, HandedOver, then the new execution's CheckInput.
		l.enter("Handover")
		l.enter("HandedOver")
		t += 2*l.p.sTrans + l.p.invoke
		l.enter("CheckInput")
		l.enter("SweepOrJob")
		l.enter("Plan")
		l.enter("WhatNext")
		t += 4*l.p.sTrans + 2*(l.p.invoke+l.p.cpu+l.p.read+l.p.write)
	}
	l.passes++
	l.enter("RunLanes")
	// list-pending's slots: no more than a first generation of lanes and one lane more per
	// k todo or failed tasks (every loop of a lane that finds work claims at least one).
	open := l.pool.todoTotal + l.pool.waiting
	l.left = min(l.size.Slots, l.size.Lanes+(open+l.size.Loops-1)/l.size.Loops)
	l.slot = 0
	t += l.p.sTrans + l.p.mapStart
	for range min(l.size.Lanes, l.left) {
		l.open(t)
	}
}

// open starts a lane in the next slot.
func (l *laneSim) open(t float64) {
	l.left--
	l.running++
	l.res.lanesAt(t, l.running)
	budget := contract.LaneBudget(int(l.cfg.budget()), int(math.Ceil(l.timeout+l.cfg.margin())), l.slot, l.size.Lanes)
	l.slot++
	id := l.newLane(lane{opened: t, budget: float64(budget)})
	l.enter("LaneStart")
	l.at(t+l.p.childStart+l.p.xTrans, evLaneInvoke, id)
}

func (l *laneSim) newLane(ln lane) int32 {
	if n := len(l.freeL); n > 0 {
		id := l.freeL[n-1]
		l.freeL = l.freeL[:n-1]
		l.lanes[id] = ln
		return id
	}
	l.lanes = append(l.lanes, ln)
	return int32(len(l.lanes) - 1)
}

func (l *laneSim) handle(e event) {
	switch e.kind {
	case evLaneInvoke:
		l.laneInvoke(e.id)
	case evLaneStarted:
		l.laneStarted(e.id)
	case evLaneEnd:
		l.laneEnd(e.id)
	case evParentInvoke:
		l.parentInvoke()
	case evParentDone:
		l.end(fnList, &l.pa)
		l.at(l.now+l.p.invoke, evParentNext, 0)
	case evParentNext:
		l.pThen(l.now)
	}
}

func (l *laneSim) parentInvoke() {
	if !l.begin(fnList, &l.pa) {
		r := retrierOrNone(l.def, l.pState, "Lambda.TooManyRequestsException")
		l.pa.retries++
		l.at(l.now+l.p.throttle+r.Delay(int(l.pa.retries), l.rng.Float64()), evParentInvoke, 0)
		return
	}
	l.at(l.now+l.startup(l.pa.cold)+l.pWork, evParentDone, 0)
}

// laneInvoke is LaneStart invoking the claim function.
func (l *laneSim) laneInvoke(id int32) {
	ln := &l.lanes[id]
	if !l.begin(fnClaim, &ln.a) {
		if int(ln.a.retries) < l.shape.lane.Attempts() {
			ln.a.retries++
			l.at(l.now+l.p.throttle+l.shape.lane.Delay(int(ln.a.retries), l.rng.Float64()), evLaneInvoke, id)
			return
		}
		l.enter("LaneDone")
		l.at(l.now+l.p.throttle+l.p.xTrans, evLaneEnd, id)
		return
	}
	l.at(l.now+l.startup(ln.a.cold)+l.p.cpu+l.p.read+l.p.write, evLaneStarted, id)
}

// laneStarted ends LaneStart: the lease renewed (one write), the lane's start time taken, and
// its loops started when anything is due.
func (l *laneSim) laneStarted(id int32) {
	ln := &l.lanes[id]
	l.end(fnClaim, &ln.a)
	if l.table.has(l.now, 1) {
		l.table.take(l.now, 1)
	}
	ln.started = l.now
	t := l.now + l.p.invoke
	l.enter("LaneGo")
	t += l.p.xTrans
	if !l.pool.anyDue(l.now) {
		ln.empty = true
		l.enter("LaneDone")
		l.at(t+l.p.xTrans, evLaneEnd, id)
		return
	}
	// Groups, then each group's Loops (contract.Groups: as few groups as hold the loops).
	l.enter("Groups")
	for range (l.size.Loops + l.shape.perMap - 1) / l.shape.perMap {
		l.enter("Loops")
	}
	t += 2 * l.p.xTrans
	ln.k, ln.active, ln.loopsAt = l.size.Loops, l.size.Loops, t
	for range ln.k {
		a := l.newActor(actor{group: id, part: int32(l.nextPrt % l.cfg.shards()), start: t})
		l.nextPrt++
		l.toStep(a, stClaim, t)
	}
}

// claimTime is ClaimNext's handler: the lane's budget first, then a listing and, when it
// finds a task, a conditional write (two when the first task listed was taken).
func (l *laneSim) claimTime(id int32) float64 {
	a := &l.actors[id]
	ln := &l.lanes[a.group]
	reserve := l.timeout
	if l.cfg.Cut > 0 {
		reserve *= l.cfg.Cut
	}
	a.over = l.now+reserve+l.cfg.margin() > ln.started+ln.budget
	a.sweep = -1
	if a.over {
		return l.p.cpu
	}
	if ok, _ := l.pool.peek(int(a.part), l.now); !ok {
		return l.p.cpu + l.p.read
	}
	a.refused = l.rng.Float64() < l.p.RefusedClaims
	d := l.p.cpu + l.p.read + l.p.write
	if a.refused {
		d += l.p.write
	}
	return d
}

// claimed ends ClaimNext: a claimed task goes to Work; nothing due, or no budget, ends the loop.
func (l *laneSim) claimed(id int32) {
	a := &l.actors[id]
	t := l.now + l.p.invoke
	ok, failed := l.pool.peek(int(a.part), l.now)
	if a.over || !ok || a.sweep == 0 {
		l.end(fnClaim, a)
		l.route(id, "Claimed", t, l)
		return
	}
	from, units := pTodo, 3.0
	if failed {
		from = pFailed
	}
	if a.refused {
		units++
	}
	if !l.claimWrite(id, units, from, l) {
		return
	}
	a.task, a.holding, a.leased = l.pool.take(int(a.part), l.now, failed), true, true
	a.cut = 0
	if l.cfg.Cut > 0 {
		// The handler reads the clock once, at its start, for the budget and the timeout.
		if left := l.lanes[a.group].started + l.lanes[a.group].budget - l.cfg.margin() - a.began; left < l.timeout {
			if a.task.released {
				l.handBack(id, from)
				return
			}
			a.cut = max(1, math.Floor(left))
		}
	}
	l.end(fnClaim, a)
	l.enterAt(l.shape.claimed)
	l.toStep(id, stWork, t+l.p.xTrans)
}

// handBack is a claim that took a task released before with too little of the lane left to
// run it whole: a second write gives it back, held back as a release is, and the handler
// goes on to claim the next task listed (a third write). A call lists each task once: it
// hands back at most the tasks due in its part when it handed back its first.
func (l *laneSim) handBack(id int32, from int) {
	a := &l.actors[id]
	if a.sweep < 0 {
		a.sweep = int32(l.pool.dueIn(int(a.part), l.now))
	}
	a.sweep--
	l.force(3, int(a.part), pProgress, from)
	l.pool.release(int(a.part), a.task, l.now+l.backoff(1))
	a.holding, a.leased, a.refused, a.sdk = false, false, false, 0
	l.acct.handbacks++
	l.at(l.now+2*l.p.write, evDone, id)
}

// ended is a loop's end: the lane ends when its last loop does.
func (l *laneSim) ended(id int32, t float64) {
	a := &l.actors[id]
	ln := &l.lanes[a.group]
	l.acct.active += t - a.start
	l.acct.wait += a.wait
	ln.endSum += t
	ln.active--
	l.free = append(l.free, id)
	if ln.active == 0 {
		l.enter("LaneDone")
		l.at(t+l.p.xTrans, evLaneEnd, a.group)
	}
}

// laneEnd ends a lane's execution: its slot goes to the next lane, or the pass ends.
func (l *laneSim) laneEnd(id int32) {
	ln := &l.lanes[id]
	life := l.now - ln.opened - l.p.childStart
	l.acctL.billed += math.Ceil(life/l.p.granule-1e-9) * l.p.granule
	l.acctL.lanes++
	if life > l.cfg.budget() {
		l.acctL.timedOut++
	}
	l.acctL.longest = max(l.acctL.longest, life)
	k := float64(l.size.Loops)
	l.acctL.slotTime += k * (l.now - ln.opened)
	if ln.empty {
		l.acctL.emptyLanes++
		l.acctL.empty += k * (l.now - ln.opened)
	} else {
		l.acctL.startup += k * (ln.loopsAt - ln.opened)
		l.acctL.tail += float64(ln.k)*l.now - ln.endSum
	}
	l.freeL = append(l.freeL, id)
	l.running--
	l.res.lanesAt(l.now, l.running)
	if l.left > 0 {
		l.open(l.now)
		return
	}
	if l.running == 0 {
		l.parentCall("Plan", l.p.cpu+l.p.read+l.p.write, l.now+l.p.mapEnd, l.next)
	}
}
