package model

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Our functions and the worker, as the model counts their requests and concurrency.
const (
	fnClaim = iota
	fnComplete
	fnFail
	fnList
	fnWorker
	nFn
)

// FunctionNames names the functions in the order Result's per-function figures use.
var FunctionNames = [nFn]string{"claim", "complete", "fail", "list-pending", "worker"}

// The Task states a loop (or a batch's task) goes through.
const (
	stClaim = iota
	stWork
	stComplete
	stFail
	stRelease
	nSteps
)

// The index partitions a task moves between, per part of the job.
const (
	pTodo = iota
	pProgress
	pFailed
	pDone
	nStatus
)

// Event kinds shared by both shapes; each shape adds its own from evShape on.
const (
	evInvoke = iota // an actor's Task state invokes its function
	evDone          // the function's handler ends (its write happens here)
	evFree          // a cut attempt's worker ends: its environment is free again
	evShape
)

// seconds is a duration as the model's clock counts it.
func seconds(d time.Duration) float64 { return d.Seconds() }

// plat is a Platform in seconds.
type plat struct {
	coldStart, invoke, throttle, xTrans, sTrans, childStart, mapStart, mapEnd float64
	read, write, perID, cpu, lease, granule                                   float64
	sdkBase, sdkMax                                                           float64
	Platform
}

func newPlat(p Platform) plat {
	return plat{
		coldStart: seconds(p.ColdStart), invoke: seconds(p.InvokeOverhead), throttle: seconds(p.ThrottleLatency),
		xTrans: seconds(p.ExpressTransition), sTrans: seconds(p.StandardTransition), childStart: seconds(p.ChildStart),
		mapStart: seconds(p.MapRunStart), mapEnd: seconds(p.MapRunEnd), read: seconds(p.DynamoRead),
		write: seconds(p.DynamoWrite), perID: seconds(p.PageReadPerID), cpu: seconds(p.HandlerCPU),
		lease: seconds(p.LeaseDuration), granule: seconds(p.BillingGranule),
		sdkBase: seconds(p.SDKThrottleBase), sdkMax: seconds(p.SDKMaxBackoff), Platform: p,
	}
}

// Worker is the user's worker function: its time per task, its concurrency and its timeout.
type Worker struct {
	// Mean is the mean time a task takes.
	Mean time.Duration
	// Sigma is the standard deviation of the log of the time (lognormal); 0 is a fixed time.
	Sigma float64
	// Concurrency is the worker function's concurrency limit (W); 0 means none of its own.
	Concurrency int
	// Timeout is the Work state's timeout, the worker function's own; 0 means 4 × Mean in
	// whole seconds, at least 3 s (a lognormal of σ 0.5 passes 4 × its mean 0.13 % of the time).
	Timeout time.Duration
	// FailRate is the share of attempts that fail (the worker returns an error).
	FailRate float64
}

func (w Worker) timeout() float64 {
	if w.Timeout > 0 {
		return seconds(w.Timeout)
	}
	return max(3, math.Ceil(4*seconds(w.Mean)))
}

// task is a claimed task: how often it failed, whether it came from the failed status,
// whether it was ever released (its attempts then exceed its failures and this claim), how
// often a budget cut stopped it and when the worker of its last cut attempt ends.
type task struct {
	retry    int8
	cuts     int8
	failed   bool
	released bool
	cutEnds  float64
}

// actor is a loop of a lane (the new shape) or a task's iteration of a batch (the old one).
type actor struct {
	group   int32 // the lane or child it runs in
	part    int32 // the part of the job it claims from
	step    uint8
	retries uint8 // the state's retries used at this step
	sdk     uint8 // the SDK's attempts used on this step's write
	holding bool  // it carries a task (listed for it, or claimed)
	leased  bool  // the task is leased to it
	over    bool  // the claim found the lane's budget spent
	refused bool  // the claim's first write finds its task taken
	task    task
	work    float64 // this attempt's worker time, drawn at invoke
	cut     float64 // Work's timeout when a budget cut makes it shorter than the worker's; 0 if not
	sweep   int32   // hand-backs the claim call has left (Lanes.Cut); -1 before its first
	began   float64 // when its handler began
	cold    bool
	start   float64 // when it started, for the accounting
	wait    float64 // seconds spent waiting out retries
}

// due is a task waiting for its retry time: a failed one, or one held back.
type due struct {
	at   float64
	task task
}

type dueHeap []due

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// pool is the job's pending tasks per part: todo, todo ones released with a wait (held),
// and failed ones, the last two by due time.
type pool struct {
	todo      []int
	held      []dueHeap
	failed    []dueHeap
	todoTotal int
	waiting   int // held or failed, not ignored
	succeeded int
	ignored   int
}

func newPool(tasks, parts int) pool {
	p := pool{todo: make([]int, parts), held: make([]dueHeap, parts), failed: make([]dueHeap, parts), todoTotal: tasks}
	for i := range parts {
		p.todo[i] = tasks / parts
		if i < tasks%parts {
			p.todo[i]++
		}
	}
	return p
}

// dueTop says whether the first task of h is due at now.
func dueTop(h dueHeap, now float64) bool { return len(h) > 0 && h[0].at <= now }

// peek says whether part has a task to claim at now, and whether it is a failed one. A held
// task that is due comes first: it is todo again, and a new lane's loops list their stretch
// of the part from its start, where the tasks released behind the old loops are.
func (p *pool) peek(part int, now float64) (ok, failed bool) {
	if p.todo[part] > 0 || dueTop(p.held[part], now) {
		return true, false
	}
	return dueTop(p.failed[part], now), true
}

// take claims the task peek found at now.
func (p *pool) take(part int, now float64, failed bool) task {
	h := &p.failed[part]
	if !failed {
		if !dueTop(p.held[part], now) {
			p.todo[part]--
			p.todoTotal--
			return task{}
		}
		h = &p.held[part]
	}
	d := heap.Pop(h).(due)
	p.waiting--
	d.task.failed = failed
	return d.task
}

// anyDue says whether any part has a task to claim at now.
func (p *pool) anyDue(now float64) bool {
	if p.todoTotal > 0 {
		return true
	}
	for i := range p.failed {
		if dueTop(p.held[i], now) || dueTop(p.failed[i], now) {
			return true
		}
	}
	return false
}

// dueIn counts the held and failed tasks of part due at now.
func (p *pool) dueIn(part int, now float64) int {
	n := 0
	for _, h := range []dueHeap{p.held[part], p.failed[part]} {
		for _, d := range h {
			if d.at <= now {
				n++
			}
		}
	}
	return n
}

// nextDue is when the next waiting task is due; +Inf when none waits.
func (p *pool) nextDue() float64 {
	next := math.Inf(1)
	for _, h := range slices.Concat(p.held, p.failed) {
		if len(h) > 0 {
			next = min(next, h[0].at)
		}
	}
	return next
}

// lastDue is when the last waiting task is due; -Inf when none waits.
func (p *pool) lastDue() float64 {
	last := math.Inf(-1)
	for _, h := range slices.Concat(p.held, p.failed) {
		for _, d := range h {
			last = max(last, d.at)
		}
	}
	return last
}

func (p *pool) fail(part int, t task, at float64, maxRetry int, backoff func(int) float64) {
	t.retry++
	if int(t.retry) >= maxRetry {
		p.ignored++
		return
	}
	heap.Push(&p.failed[part], due{at: at + backoff(int(t.retry)), task: t})
	p.waiting++
}

// release makes a released task pending again at at, in the status it came from: a todo
// one among the held, a failed one among the failed.
func (p *pool) release(part int, t task, at float64) {
	t.released = true
	h := &p.failed[part]
	if !t.failed {
		h = &p.held[part]
	}
	heap.Push(h, due{at: at, task: t})
	p.waiting++
}

// giveBack makes a task that was never recorded pending again at at: a todo one at once,
// or one whose lease must run out first later, among the failed ones (listed with them).
func (p *pool) giveBack(part int, t task, at float64, now float64) {
	if !t.failed && at <= now {
		p.todo[part]++
		p.todoTotal++
		return
	}
	heap.Push(&p.failed[part], due{at: at, task: t})
	p.waiting++
}

// stepSpec is what the definition says of one Task state a loop goes through.
type stepSpec struct {
	state     string
	index     int
	fn        int
	throttle  Retrier // for Lambda.TooManyRequestsException
	unavail   Retrier // for TrackerUnavailable (the SDK's retries spent)
	onThrottl string  // where a throttle past the retries goes
	onUnavail string
	next      string // where success goes
}

// stepSpecs are a loop's Task states, by step.
type stepSpecs [nSteps]stepSpec

// find is the step of a state name.
func (ss *stepSpecs) find(name string) (uint8, bool) {
	for i := range ss {
		if ss[i].state == name {
			return uint8(i), true
		}
	}
	return 0, false
}

// sim is one run of the model: the clock, the event queue, the functions, the table and its
// index partitions, the job's tasks and the actors.
type sim struct {
	p        plat
	def      *Definition
	rng      *rand.Rand
	q        queue
	now      float64
	fns      [nFn]function
	ours     int // our functions' environments busy now
	oursPeak int
	table    bucket
	parts    [][nStatus]bucket
	pool     pool
	actors   []actor
	free     []int32
	steps    stepSpecs
	entered  []int64
	worker   Worker
	mu, sd   float64 // the worker's lognormal
	timeout  float64
	maxRetry int
	backoff  func(int) float64
	acct     accounting
}

// accounting is where the loops' time goes, in loop-seconds, and what budget cuts cost.
type accounting struct {
	work, wait, active float64
	lambdaWaits        int64
	writeRetries       int64
	// cut is the loops' time in Work attempts a budget cut stopped; wasted those attempts'
	// worker seconds, zombie the part of them after the cut.
	cut, wasted, zombie       float64
	cuts, cutAgain, handbacks int64
	overlaps                  int64 // attempts begun while a cut attempt of the task still ran
}

func newSim(p Platform, def *Definition, w Worker, tasks, parts int, seed uint64) *sim {
	pl := newPlat(p)
	s := &sim{p: pl, def: def, rng: rand.New(rand.NewPCG(seed, 0x6d6f64656c)), worker: w, timeout: w.timeout(),
		maxRetry: tracker.DefaultMaxRetry, entered: make([]int64, len(def.names)), pool: newPool(tasks, parts)}
	for i := range s.fns {
		s.fns[i] = newFunction(0, p.ScaleBurst, p.ScaleRate)
	}
	s.fns[fnWorker].limit = w.Concurrency
	s.table = newBucket(p.TableWRU)
	s.parts = make([][nStatus]bucket, parts)
	for i := range s.parts {
		for j := range nStatus {
			s.parts[i][j] = newBucket(p.PartitionWCU)
		}
	}
	m := seconds(w.Mean)
	s.sd = w.Sigma
	s.mu = math.Log(m) - w.Sigma*w.Sigma/2
	s.backoff = func(retry int) float64 {
		d := tracker.DefaultBackoff << min(retry-1, 16)
		return min(d, tracker.MaxBackoff).Seconds()
	}
	return s
}

func (s *sim) at(t float64, kind uint8, id int32) { s.q.push(event{t: t, kind: kind, id: id}) }

func (s *sim) enter(name string) { s.entered[s.def.index[name]]++ }

// enterAt counts a state entered by its index (the loops' states, entered per task).
func (s *sim) enterAt(i int) { s.entered[i]++ }

func (s *sim) newActor(a actor) int32 {
	if n := len(s.free); n > 0 {
		id := s.free[n-1]
		s.free = s.free[:n-1]
		s.actors[id] = a
		return id
	}
	s.actors = append(s.actors, a)
	return int32(len(s.actors) - 1)
}

// workTime draws a worker's time for one attempt.
func (s *sim) workTime() float64 {
	if s.sd == 0 {
		return math.Exp(s.mu)
	}
	return math.Exp(s.mu + s.sd*s.rng.NormFloat64())
}

// begin takes an environment of fn for a handler; false when the invoke is throttled.
func (s *sim) begin(fn int, a *actor) bool {
	ok, cold := s.fns[fn].invoke(s.now)
	if !ok {
		return false
	}
	a.began, a.cold = s.now, cold
	if fn != fnWorker {
		s.ours++
		s.oursPeak = max(s.oursPeak, s.ours)
	}
	return true
}

// end gives back the environment begin took.
func (s *sim) end(fn int, a *actor) {
	s.fns[fn].done(s.now - a.began)
	if fn != fnWorker {
		s.ours--
	}
}

// startup is what a handler waits before it runs: a new environment's init.
func (s *sim) startup(cold bool) float64 {
	if cold {
		return s.p.coldStart
	}
	return 0
}

// write is one transition's conditional write: units on the table, one on the partition the
// task leaves and one on the one it enters. It takes them all or, throttled, none.
func (s *sim) write(units float64, part, from, to int) bool {
	b := &s.parts[part]
	if !s.table.has(s.now, units) {
		s.table.throttles++
		return false
	}
	if !b[from].has(s.now, 1) {
		b[from].throttles++
		return false
	}
	if !b[to].has(s.now, 1) {
		b[to].throttles++
		return false
	}
	s.table.take(s.now, units)
	b[from].take(s.now, 1)
	b[to].take(s.now, 1)
	return true
}

// force is a write the model does not let fail: it takes its units even when that leaves a
// bucket in debt, which later writes then wait out.
func (s *sim) force(units float64, part, from, to int) {
	b := &s.parts[part]
	s.table.has(s.now, units)
	b[from].has(s.now, 1)
	b[to].has(s.now, 1)
	s.table.take(s.now, units)
	b[from].take(s.now, 1)
	b[to].take(s.now, 1)
}

// sdkRetry is the SDK's wait before its next attempt at a throttled write, or false when its
// attempts are spent.
func (s *sim) sdkRetry(a *actor) (float64, bool) {
	a.sdk++
	if int(a.sdk) >= s.p.SDKAttempts {
		return 0, false
	}
	s.acct.writeRetries++
	return s.rng.Float64() * min(s.p.sdkBase*math.Pow(2, float64(a.sdk-1)), s.p.sdkMax), true
}

// toStep has an actor enter a Task state of its loop at t.
func (s *sim) toStep(id int32, st uint8, t float64) {
	a := &s.actors[id]
	a.step, a.retries, a.sdk = st, 0, 0
	s.enterAt(s.steps[st].index)
	s.at(t+s.p.xTrans, evInvoke, id)
}

// retryStep waits out a state's Retry rule after an error, or says the rule is spent.
func (s *sim) retryStep(id int32, r Retrier, lag float64) bool {
	a := &s.actors[id]
	if int(a.retries) >= r.Attempts() {
		return false
	}
	a.retries++
	d := r.Delay(int(a.retries), s.rng.Float64())
	a.wait += lag + d
	s.acct.lambdaWaits++
	s.at(s.now+lag+d, evInvoke, id)
	return true
}

// route follows the definition from a state an actor goes to: through Pass and Choice states
// (a Choice taking its Default) to the next Task state of the loop, or to the loop's end ("" is
// the end too). A task the actor still carries when it claims again or ends was never
// recorded: it is pending again once its lease, if it took one, runs out.
func (s *sim) route(id int32, name string, t float64, sh shape) {
	for {
		st, ok := s.steps.find(name)
		if ok {
			s.drop(id, st, t)
			s.toStep(id, st, t)
			return
		}
		if name == "" {
			s.drop(id, stClaim, t)
			sh.ended(id, t)
			return
		}
		state := s.def.States[name]
		s.enter(name)
		t += s.p.xTrans
		switch {
		case state.End:
			name = ""
		case state.Type == "Choice":
			name = state.Default
		default:
			name = state.Next
		}
	}
}

// drop gives back a task an actor carries into a claim or out of its loop.
func (s *sim) drop(id int32, st uint8, t float64) {
	a := &s.actors[id]
	if st != stClaim || !a.holding {
		return
	}
	at := t
	if a.leased {
		at += s.p.lease
	}
	s.pool.giveBack(int(a.part), a.task, at, s.now)
	a.holding, a.leased = false, false
}

// stepsFrom reads the Task states of a loop from the definition: their functions, their
// Retry rules for throttles and for TrackerUnavailable, and where their Catch rules go.
func stepsFrom(def *Definition, names [nSteps]string) (stepSpecs, error) {
	fns := [nSteps]int{fnClaim, fnWorker, fnComplete, fnFail, fnFail}
	var out stepSpecs
	for i, name := range names {
		st, ok := def.States[name]
		if !ok || st.Type != "Task" {
			return out, errMissing(name)
		}
		spec := stepSpec{state: name, index: def.index[name], fn: fns[i], next: st.Next}
		spec.throttle = retrierOrNone(def, name, "Lambda.TooManyRequestsException")
		spec.unavail = retrierOrNone(def, name, "TrackerUnavailable")
		spec.onThrottl, _ = def.CatchFor(name, "Lambda.TooManyRequestsException")
		spec.onUnavail, _ = def.CatchFor(name, "TrackerUnavailable")
		out[i] = spec
	}
	return out, nil
}

// retrierOrNone is the state's Retry rule for an error, or a rule of no retries.
func retrierOrNone(def *Definition, state, errName string) Retrier {
	if r, ok := def.RetrierFor(state, errName); ok {
		return r
	}
	zero := 0
	return Retrier{MaxAttempts: &zero}
}

// errMissing says the definition lacks a state the model enters.
func errMissing(name string) error {
	return fmt.Errorf("the model enters Task state %s, which the definition lacks", name)
}
