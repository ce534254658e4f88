package model

import (
	"fmt"
	"math"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Pages is a run of the previous definition (pages and batches): its input. Zero values take
// the defaults of the contract.
type Pages struct {
	// PageSize is the ids a page lists (at most tracker.MaxPageLimit); BatchSize the ids of
	// one child execution (at most 100); Concurrency the children at once (at most 1,000).
	PageSize, BatchSize, Concurrency int
	// MaxRounds bounds the passes over the job; 0 means tracker.DefaultMaxRetry.
	MaxRounds int
	// MaxSteps is the pages an execution lists before it continues as a new one.
	MaxSteps int
}

// The previous definition's defaults and limits (its list-pending's): pages of 500 task ids
// (at most 1,000), batches of 20 (at most 100), 10 children at once (at most 1,000), 400 pages
// an execution.
const (
	pagesPageSize, pagesMaxPageSize       = 500, 1000
	pagesBatchSize, pagesMaxBatchSize     = 20, 100
	pagesConcurrency, pagesMaxConcurrency = 10, 1000
	pagesMaxSteps                         = 400
)

func (p Pages) page() int   { return orDefault(p.PageSize, pagesPageSize) }
func (p Pages) batch() int  { return orDefault(p.BatchSize, pagesBatchSize) }
func (p Pages) conc() int   { return orDefault(p.Concurrency, pagesConcurrency) }
func (p Pages) rounds() int { return orDefault(p.MaxRounds, tracker.DefaultMaxRetry) }
func (p Pages) steps() int  { return orDefault(p.MaxSteps, pagesMaxSteps) }

// Check refuses settings past the previous definition's limits.
func (p Pages) Check() error {
	if p.page() > pagesMaxPageSize || p.batch() > pagesMaxBatchSize || p.conc() > pagesMaxConcurrency {
		return fmt.Errorf("pages of %d, batches of %d, %d at once: past the limits %d, %d, %d",
			p.page(), p.batch(), p.conc(), pagesMaxPageSize, pagesMaxBatchSize, pagesMaxConcurrency)
	}
	return nil
}

// The model's paths through the previous definition.
var pagesPaths = [][]string{
	{"CheckInput", "SweepOrJob", "Budget", "ListPage", "Count", "AnyBatches", "RunBatches", "MorePages", "NextPage", "Budget"},
	{"MorePages", "EndOfPass", "NextRound", "RoundsLeft", "FromTheStart", "Budget"},
	{"RoundsLeft", "WaitForRound", "FromTheStart"},
	{"RoundsLeft", "Summary", "Done"},
	{"AnyBatches", "Idle", "EndOfPass"},
	{"Idle", "WaitUntilDue", "Budget"},
	{"Idle", "Summary"},
	{"Budget", "Handover", "HandedOver"},
	{"Claim", "Work", "Complete"},
	{"Claim", "Errored"},
	{"Work", "RecordFailure"},
	{"Work", "Release"},
	{"Complete", "Release"},
}

// pagesShape is what the model reads of the previous definition.
type pagesShape struct {
	perChild int // the Tasks Map's MaxConcurrency, or the inline Map's own limit
	steps    stepSpecs
}

// CheckPages checks that every path the model takes through the previous definition is one
// the definition has.
func CheckPages(def *Definition) error {
	_, err := readPages(def, AWS())
	return err
}

func readPages(def *Definition, p Platform) (pagesShape, error) {
	for _, path := range pagesPaths {
		if err := def.Path(path...); err != nil {
			return pagesShape{}, err
		}
	}
	for _, end := range []string{"Done", "HandedOver", "Complete", "RecordFailure", "Errored"} {
		if err := def.Ends(end); err != nil {
			return pagesShape{}, err
		}
	}
	if def.mode("RunBatches") != "DISTRIBUTED" || def.mode("Tasks") != "INLINE" || def.In["Claim"] != "Tasks" {
		return pagesShape{}, fmt.Errorf("the batches are not inline Maps in a Distributed Map")
	}
	steps, err := stepsFrom(def, [nSteps]string{"Claim", "Work", "Complete", "RecordFailure", "Release"})
	if err != nil {
		return pagesShape{}, err
	}
	per := def.States["Tasks"].MaxConcurrency
	if per == 0 {
		per = p.InlineMapConcurrency
	}
	return pagesShape{perChild: per, steps: steps}, nil
}

// The old shape's own events.
const (
	evChildInvoke = evShape + iota // a child's inline Map starts its first tasks
	evChildEnd                     // a child execution ends
	evPParentInvoke
	evPParentDone
	evPParentNext
)

// child is one batch's child execution.
type child struct {
	opened  float64
	tasks   []task
	next    int // the next of its tasks to start
	active  int
	started float64
}

type pageSim struct {
	*sim
	shape    pagesShape
	cfg      Pages
	children []child
	freeC    []int32
	listed   []task // the current page's tasks
	batches  int    // the page's batches not started yet
	nextB    int
	running  int
	round    int
	left     int // tasks the pass has yet to list
	inPass   bool
	steps    int // pages of this execution
	pages    int
	pa       actor
	pState   string
	pWork    float64
	pThen    func(t float64)
	done     float64
	billed   float64
	nChild   int
	res      *Result
}

// RunPages runs a job through the previous definition and returns what the model saw.
func RunPages(def *Definition, job Job, cfg Pages) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	shape, err := readPages(def, job.platform())
	if err != nil {
		return nil, err
	}
	s := newSim(job.platform(), def, job.Worker, job.Tasks, 1, job.Seed)
	s.steps = shape.steps
	g := &pageSim{sim: s, shape: shape, cfg: cfg, res: &Result{Shape: "pages", Tasks: job.Tasks}}
	g.call("CheckInput", s.p.cpu+s.p.read+s.p.write, 0, func(t float64) {
		g.enter("SweepOrJob")
		g.budget(t + g.p.sTrans)
	})
	for len(s.q) > 0 {
		e := s.q.pop()
		s.now = e.t
		switch e.kind {
		case evInvoke:
			s.onInvoke(e.id, g)
		case evDone:
			s.onDone(e.id, g)
		case evFree:
			s.fns[e.id].free()
		default:
			g.handle(e)
		}
	}
	g.res.fill(s, g.done)
	g.res.Pages, g.res.Rounds, g.res.Children, g.res.ExpressSeconds = g.pages, g.round, g.nChild, g.billed
	return g.res, nil
}

func (g *pageSim) call(state string, work, t float64, then func(t float64)) {
	g.enter(state)
	g.pState, g.pWork, g.pThen = state, work, then
	g.at(t+g.p.sTrans, evPParentInvoke, 0)
}

// budget is Budget: hand over to a new execution past MaxSteps pages, then list a page.
func (g *pageSim) budget(t float64) {
	g.enter("Budget")
	t += g.p.sTrans
	if g.steps >= g.cfg.steps() {
		g.steps = 0
		g.enter("Handover")
		g.enter("HandedOver")
		g.enter("CheckInput")
		g.enter("SweepOrJob")
		g.enter("Budget")
		t += 5*g.p.sTrans + 2*g.p.invoke + g.p.cpu + g.p.read + g.p.write
	}
	if !g.inPass {
		g.inPass, g.round, g.left = true, g.round+1, -1
	}
	if g.left < 0 {
		g.left = g.pool.todoTotal + g.pool.dueIn(0, g.now)
	}
	n := min(g.cfg.page(), g.left)
	g.call("ListPage", g.p.cpu+g.p.read+float64(n)*g.p.perID, t, g.listed1)
}

// listed1 follows ListPage: Count, AnyBatches, then the page's batches or Idle.
func (g *pageSim) listed1(t float64) {
	n := min(g.cfg.page(), g.left)
	g.left -= n
	g.listed = g.listed[:0]
	for range n {
		ok, failed := g.pool.peek(0, g.now)
		if !ok {
			break
		}
		g.listed = append(g.listed, g.pool.take(0, g.now, failed))
	}
	g.steps++
	g.enter("Count")
	g.enter("AnyBatches")
	t += 2 * g.p.sTrans
	if len(g.listed) == 0 {
		g.idle(t)
		return
	}
	g.pages++
	g.enter("RunBatches")
	g.batches = (len(g.listed) + g.cfg.batch() - 1) / g.cfg.batch()
	g.nextB = 0
	t += g.p.sTrans + g.p.mapStart
	for range min(g.cfg.conc(), g.batches) {
		g.open(t)
	}
}

// idle is Idle: a pass's first page found nothing due: wait for the next failed task (the
// pass lists again from its start), or end the run. (A later page is never empty here: a
// pass's last page ends it through MorePages.)
func (g *pageSim) idle(t float64) {
	g.enter("Idle")
	t += g.p.sTrans
	switch {
	case g.pool.waiting > 0:
		g.enter("WaitUntilDue")
		g.left = -1
		g.budget(max(math.Ceil(g.pool.nextDue()), t+g.p.sTrans))
	default:
		g.summary(t)
	}
}

func (g *pageSim) summary(t float64) {
	g.call("Summary", g.p.cpu+g.p.read, t, func(t float64) {
		g.enter("Done")
		g.done = t + g.p.sTrans
	})
}

// endOfPass is EndOfPass, NextRound and RoundsLeft: the next round, after the failed tasks of
// this one are all due, or the end.
func (g *pageSim) endOfPass(t float64) {
	g.call("EndOfPass", g.p.cpu+g.p.read, t, func(t float64) {
		g.enter("NextRound")
		g.enter("RoundsLeft")
		t += 2 * g.p.sTrans
		g.inPass = false
		if g.round >= g.cfg.rounds() || (g.pool.todoTotal == 0 && g.pool.waiting == 0) {
			g.summary(t)
			return
		}
		if g.pool.waiting > 0 {
			g.enter("WaitForRound")
			t = max(t+g.p.sTrans, math.Ceil(g.pool.lastDue()))
		}
		g.enter("FromTheStart")
		g.budget(t + g.p.sTrans)
	})
}

// open starts the next batch's child.
func (g *pageSim) open(t float64) {
	b := g.nextB
	g.nextB++
	lo, hi := b*g.cfg.batch(), min(len(g.listed), (b+1)*g.cfg.batch())
	id := g.newChild(child{opened: t, tasks: g.listed[lo:hi]})
	g.running++
	g.nChild++
	g.res.lanesAt(t, g.running)
	g.enter("Tasks")
	g.at(t+g.p.childStart+g.p.xTrans, evChildInvoke, id)
}

func (g *pageSim) newChild(c child) int32 {
	if n := len(g.freeC); n > 0 {
		id := g.freeC[n-1]
		g.freeC = g.freeC[:n-1]
		g.children[id] = c
		return id
	}
	g.children = append(g.children, c)
	return int32(len(g.children) - 1)
}

func (g *pageSim) handle(e event) {
	switch e.kind {
	case evChildInvoke:
		c := &g.children[e.id]
		c.started = g.now
		for range min(g.shape.perChild, len(c.tasks)) {
			g.startTask(e.id, g.now)
		}
	case evChildEnd:
		g.childEnd(e.id)
	case evPParentInvoke:
		if !g.begin(fnList, &g.pa) {
			r := retrierOrNone(g.def, g.pState, "Lambda.TooManyRequestsException")
			g.pa.retries++
			g.at(g.now+g.p.throttle+r.Delay(int(g.pa.retries), g.rng.Float64()), evPParentInvoke, 0)
			return
		}
		g.at(g.now+g.startup(g.pa.cold)+g.pWork, evPParentDone, 0)
	case evPParentDone:
		g.end(fnList, &g.pa)
		g.pa.retries = 0
		g.at(g.now+g.p.invoke, evPParentNext, 0)
	case evPParentNext:
		g.pThen(g.now)
	}
}

// startTask starts an iteration of a child's inline Map on its next task.
func (g *pageSim) startTask(cid int32, t float64) {
	c := &g.children[cid]
	tk := c.tasks[c.next]
	c.next++
	c.active++
	id := g.newActor(actor{group: cid, task: tk, holding: true, start: t})
	g.toStep(id, stClaim, t)
}

// claimTime is Claim's handler: one conditional write.
func (g *pageSim) claimTime(int32) float64 { return g.p.cpu + g.p.write }

// claimed ends Claim: the task is leased and goes to Work.
func (g *pageSim) claimed(id int32) {
	a := &g.actors[id]
	from := pTodo
	if a.task.failed {
		from = pFailed
	}
	if !g.claimWrite(id, 3, from, g) {
		return
	}
	g.end(fnClaim, a)
	a.leased = true
	g.toStep(id, stWork, g.now+g.p.invoke)
}

// ended is an iteration's end: the child's next task starts, or the child ends with its last.
func (g *pageSim) ended(id int32, t float64) {
	a := &g.actors[id]
	c := &g.children[a.group]
	c.active--
	g.free = append(g.free, id)
	if c.next < len(c.tasks) {
		g.startTask(a.group, t+g.p.xTrans)
		return
	}
	if c.active == 0 {
		g.at(t, evChildEnd, a.group)
	}
}

// childEnd ends a child: its slot goes to the next batch, or the page ends.
func (g *pageSim) childEnd(id int32) {
	c := &g.children[id]
	life := g.now - c.opened - g.p.childStart
	g.billed += math.Ceil(life/g.p.granule-1e-9) * g.p.granule
	g.freeC = append(g.freeC, id)
	g.running--
	g.res.lanesAt(g.now, g.running)
	if g.nextB < g.batches {
		g.open(g.now)
		return
	}
	if g.running > 0 {
		return
	}
	t := g.now + g.p.mapEnd
	g.enter("MorePages")
	t += g.p.sTrans
	if g.left > 0 {
		g.enter("NextPage")
		g.budget(t + g.p.sTrans)
		return
	}
	g.endOfPass(t)
}
