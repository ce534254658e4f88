package model

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Row is one row of the study: a worker's mean time and its concurrency limit W.
type Row struct {
	Mean time.Duration // the worker's mean time per task
	W    int           // the worker function's concurrency limit
}

// Study is the comparison of the two definitions over rows of workers: each row's bound, the
// previous definition at its defaults and at the best settings of a small grid, and the new
// one at the best concurrency C among candidates around its sizing rule.
type Study struct {
	// Rows are the workers studied; Tasks each job's size; Sigma the workers' σ (lognormal).
	Rows  []Row
	Tasks int
	Sigma float64
	// Platform is what the model assumes of AWS; the zero value means AWS().
	Platform Platform
	// GridTasks is the job size the previous definition's grid is searched on before its
	// best settings run the whole job (its pages repeat, so a tenth of the job ranks them).
	GridTasks int
	// Grid is the previous definition's settings tried.
	Grid []Pages
	// Factors are the new definition's candidates for C, as multiples of SizingRule's C; see
	// pickNew for the one kept.
	Factors []float64
	// Lanes holds the new definition's settings other than C and its shards.
	Lanes Lanes
	// Seed makes the study repeatable.
	Seed uint64
}

// DefaultStudy is the study the lead asked for: workers of 0.1 s, 1 s and 30 s on average
// (σ 0.5), W of 1,000 and 10,000, jobs of 1,000,000 tasks.
func DefaultStudy() Study {
	var rows []Row
	for _, m := range []time.Duration{100 * time.Millisecond, time.Second, 30 * time.Second} {
		for _, w := range []int{1000, 10000} {
			rows = append(rows, Row{Mean: m, W: w})
		}
	}
	return Study{
		Rows: rows, Tasks: 1_000_000, Sigma: 0.5, GridTasks: 100_000,
		Grid: []Pages{
			{PageSize: 1000, BatchSize: 40, Concurrency: 25},
			{PageSize: 1000, BatchSize: 20, Concurrency: 50},
			{PageSize: 1000, BatchSize: 100, Concurrency: 10},
			{PageSize: 1000, BatchSize: 10, Concurrency: 100},
			{PageSize: 500, BatchSize: 20, Concurrency: 25},
		},
		Factors: []float64{0.9, 1, 1.1, 1.2},
		Seed:    1,
	}
}

// Tried is one candidate C and the job time it gave.
type Tried struct {
	Concurrency int           // C
	Time        time.Duration // the job's time with it
	Cost        float64       // what our part cost a task with it (Result.Cost at AWS's prices)
}

// RowResult is one row of a study.
type RowResult struct {
	Row
	// Job is the row's job and Bound its bound.
	Job   Job
	Bound Bound
	// Old is the previous definition at its defaults, OldBest at the grid's best settings.
	Old, OldBest *Result
	OldPages     Pages
	// New is the new definition at the best C tried; Lanes its settings, Rule the sizing
	// rule's C, Tried every candidate.
	New   *Result
	Lanes Lanes
	Rule  int
	Tried []Tried
}

// SizingRule is the C that keeps the binding limit busy: the bound's rate (tasks a second)
// times a loop's time per task (its worker's mean and our own steps), over the share of a
// lane's life its loops work (1 − LaneTail).
func SizingRule(job Job, def *Definition) int {
	p := newPlat(job.platform())
	b := BoundOf(job)
	rate := b.Concurrency / seconds(job.Worker.Mean)
	perLane := 1
	if shape, err := readLanes(def); err == nil {
		perLane = shape.perLane
	}
	busy := 1 - LaneTail(job.Worker, Lanes{}, perLane)
	return int(math.Ceil(rate * (seconds(job.Worker.Mean) + OwnTimePerTask(p.Platform)) / busy))
}

// LaneTail estimates the share of an Express lane's life a loop spends ended, waiting for the
// lane's slowest loop. A loop claims while the lane's budget still fits the worker's timeout
// and the margin, until w = budget − timeout − margin after the lane's start; its last task
// straddles w and ends on average about half a task later, and the lane ends when the
// longest of its k loops' last tasks does, about the worker's (1 − 1/k) quantile q after w.
// The tail is then (q − mean/2) / (w + q): 0.30 for 30 s workers (σ 0.5, a 2-minute
// timeout) in lanes of 120 loops, under 1 % for 1 s workers. It ignores lanes that end
// because nothing is due, which only shortens them.
func LaneTail(w Worker, l Lanes, loops int) float64 {
	m := seconds(w.Mean)
	window := max(0, l.budget()-w.timeout()-l.margin())
	q := m
	if w.Sigma > 0 && loops > 1 {
		z := math.Sqrt2 * math.Erfinv(1-2/float64(loops)) // the (1 − 1/k) quantile of N(0, 1)
		q = math.Exp(math.Log(m) - w.Sigma*w.Sigma/2 + w.Sigma*z)
	}
	return min(0.9, max(0, (q-m/2)/(window+q)))
}

// OwnTimePerTask is what a loop spends per task outside the worker: entering ClaimNext,
// Claimed, Work and Complete, three invokes, the claim's listing and write and the
// completion's write.
func OwnTimePerTask(p Platform) float64 {
	q := newPlat(p)
	return 4*q.xTrans + 3*q.invoke + 2*q.cpu + q.read + 2*q.write
}

// ShardsFor is the index partitions per status a job run with C loops needs at a rate of tasks
// a second. The in-progress partitions take two writes a task (a put at the claim, a delete at
// the completion), each partition at most PartitionWCU a second: with a quarter to spare, that
// is the steady need. A pass starts its C loops at once, and their first claims put C entries
// into the in-progress partitions within about a second: that is the start's need, which
// binds for slow workers (30 s workers at W = 10,000 run at 333 tasks/s but start 14,548 loops).
func ShardsFor(rate float64, c int, p Platform) int {
	steady := math.Ceil(2 * rate * 1.25 / p.PartitionWCU)
	start := math.Ceil(float64(c) / p.PartitionWCU)
	return max(1, int(max(steady, start)))
}

// Run runs the study's configurations, in parallel, and returns its rows.
func (s Study) Run(newDef, oldDef *Definition) ([]RowResult, error) {
	rows := make([]RowResult, len(s.Rows))
	old := oldRuns{def: oldDef, refs: map[oldKey]**Result{}}
	var runs []func() error
	grids := make([][]**Result, len(s.Rows))
	news := make([][]*Result, len(s.Rows))
	for i, row := range s.Rows {
		rr := &rows[i]
		rr.Row = row
		rr.Job = Job{Tasks: s.Tasks, Worker: Worker{Mean: row.Mean, Sigma: s.Sigma, Concurrency: row.W}, Platform: s.Platform, Seed: s.Seed}
		rr.Bound = BoundOf(rr.Job)
		rr.Rule = SizingRule(rr.Job, newDef)
		news[i] = make([]*Result, len(s.Factors))
		runs = append(runs, s.newRuns(newDef, rr, news[i])...)
		small := rr.Job
		small.Tasks = s.GridTasks
		for _, g := range s.Grid {
			grids[i] = append(grids[i], old.add(small, g, &runs))
		}
	}
	oldDefaults := make([]**Result, len(rows))
	for i := range rows {
		oldDefaults[i] = old.add(rows[i].Job, Pages{}, &runs)
	}
	if err := parallel(runs); err != nil {
		return nil, err
	}
	runs = runs[:0]
	bests := make([]**Result, len(rows))
	for i := range rows {
		rr := &rows[i]
		rr.pickNew(news[i], s)
		rr.Old = *oldDefaults[i]
		best := 0
		for j, g := range grids[i] {
			if (*g).Time < (*grids[i][best]).Time {
				best = j
			}
		}
		rr.OldPages = s.Grid[best]
		bests[i] = old.add(rr.Job, rr.OldPages, &runs)
	}
	if err := parallel(runs); err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].OldBest = *bests[i]
	}
	return rows, nil
}

// newRuns are a row's runs of the new definition, one per candidate C, each with the shards
// its C and rate need.
func (s Study) newRuns(newDef *Definition, rr *RowResult, out []*Result) []func() error {
	rate := rr.Bound.Concurrency / seconds(rr.Mean)
	var runs []func() error
	for j, f := range s.Factors {
		cfg := s.Lanes
		cfg.Concurrency = int(math.Ceil(float64(rr.Rule) * f))
		cfg.Shards = ShardsFor(rate, cfg.Concurrency, rr.Job.platform())
		runs = append(runs, func() error {
			r, err := RunLanes(newDef, rr.Job, cfg)
			out[j] = r
			return err
		})
	}
	return runs
}

// oldRuns runs each configuration of the previous definition once: it never has more tasks
// in flight than a page, so rows whose W is at least a page run it alike.
type oldRuns struct {
	def  *Definition
	refs map[oldKey]**Result
}

type oldKey struct {
	mean  time.Duration
	w     int
	tasks int
	pages Pages
}

// add is where the run of job with pages will be; it adds the run to runs the first time.
func (o *oldRuns) add(job Job, pages Pages, runs *[]func() error) **Result {
	if job.Worker.Concurrency == 0 || job.Worker.Concurrency > pages.page() {
		job.Worker.Concurrency = pages.page()
	}
	k := oldKey{job.Worker.Mean, job.Worker.Concurrency, job.Tasks, pages}
	if ref, ok := o.refs[k]; ok {
		return ref
	}
	ref := new(*Result)
	o.refs[k] = ref
	*runs = append(*runs, func() error {
		r, err := RunPages(o.def, job, pages)
		*ref = r
		return err
	})
	return ref
}

// pickNew keeps, among the candidates within the cost target (all of them when none is), the
// smallest C whose job is within 2 % of the bound of the fastest: past the worker's
// concurrency, a larger C buys its last percent with throttled calls (each an ERROR event in
// the log), released tasks and lanes' idle tails.
func (rr *RowResult) pickNew(news []*Result, s Study) {
	affordable := false
	for j, r := range news {
		c := int(math.Ceil(float64(rr.Rule) * s.Factors[j]))
		rr.Tried = append(rr.Tried, Tried{Concurrency: c, Time: r.Time, Cost: r.Cost(AWSPrices(), rr.Job.platform())})
		affordable = affordable || rr.Tried[j].Cost <= CostTarget
	}
	in := func(j int) bool { return !affordable || rr.Tried[j].Cost <= CostTarget }
	var fastest time.Duration
	for j, t := range rr.Tried {
		if in(j) && (fastest == 0 || t.Time < fastest) {
			fastest = t.Time
		}
	}
	best := -1
	for j, t := range rr.Tried {
		if !in(j) || t.Time.Seconds() > fastest.Seconds()+0.02*rr.Bound.Time.Seconds() {
			continue
		}
		if best < 0 || t.Concurrency < rr.Tried[best].Concurrency {
			best = j
		}
	}
	rr.New = news[best]
	rr.Lanes = s.Lanes
	rr.Lanes.Concurrency = rr.Tried[best].Concurrency
	rr.Lanes.Shards = ShardsFor(rr.Bound.Concurrency/seconds(rr.Mean), rr.Lanes.Concurrency, rr.Job.platform())
}

// parallel runs fns on as many goroutines as there are CPUs and returns the first error.
func parallel(fns []func() error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
		errs []error
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(fns) {
					return
				}
				if err := fns[i](); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Ratio is a run's time over the bound.
func (rr *RowResult) Ratio(r *Result) float64 { return r.Time.Seconds() / rr.Bound.Time.Seconds() }

// Table prints a study's rows: per row and shape the job's time, tasks a second, the bound,
// the ratio, the limit that binds, our functions' peak concurrency, the in-progress shards
// needed (and used), Express lane-seconds billed per task, our functions' requests per task
// and what our part costs per million tasks (Express, our functions, the Standard parent).
func Table(rows []RowResult, p Prices, plat Platform) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %6s %-8s %-27s %8s %7s %8s %6s %5s %5s %6s %6s %5s %6s\n",
		"worker", "W", "shape", "settings", "time", "tasks/s", "bound", "×bound", "binds", "ours", "shards", "lane-s", "req", "$/1M")
	for _, rr := range rows {
		head := fmt.Sprintf("%-6s %6d", short(rr.Mean), rr.W)
		line := func(shape, settings string, r *Result, shards string) {
			fmt.Fprintf(&b, "%-13s %-8s %-27s %8s %7.0f %8s %6.2f %5s %5d %6s %6.3f %5.2f %6.2f\n",
				head, shape, settings, short(r.Time), r.TasksPerSecond(), short(rr.Bound.Time), rr.Ratio(r),
				rr.Bound.Binds, r.PeakOurs, shards, r.ExpressSeconds/float64(r.Tasks), r.OurRequestsPerTask(), r.Cost(p, plat)*1e6)
			head = strings.Repeat(" ", 13)
		}
		line("old", pagesSettings(Pages{}), rr.Old, "1")
		line("old best", pagesSettings(rr.OldPages), rr.OldBest, "1")
		sz := rr.New.Sizing
		line("new", fmt.Sprintf("C=%d L=%d k=%d S=%d", rr.Lanes.Concurrency, sz.Lanes, sz.Loops, sz.Slots), rr.New,
			fmt.Sprintf("%d/%d", needed(rr.New, plat), rr.Lanes.Shards))
	}
	return b.String()
}

// Details prints, per row, the new definition's candidates and where its loop slots went.
func Details(rows []RowResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %6s %6s  %-64s %5s %5s %5s %5s %5s %5s %6s %6s %6s %5s %5s %4s\n", "worker", "W", "rule", "C tried: ×bound:$/1M",
		"work", "own", "waits", "tail", "start", "empty", "nolane", "thr/t", "rel/t", "avg", "pass", ">300")
	for _, rr := range rows {
		var tried []string
		for _, t := range rr.Tried {
			tried = append(tried, fmt.Sprintf("%d:%.2f:$%.2f", t.Concurrency, t.Time.Seconds()/rr.Bound.Time.Seconds(), t.Cost*1e6))
		}
		r, l := rr.New, rr.New.Loss
		fmt.Fprintf(&b, "%-6s %6d %6d  %-64s %5.2f %5.2f %5.2f %5.2f %5.2f %5.2f %6.2f %6.2f %6.3f %5.0f %5d %4d\n",
			short(rr.Mean), rr.W, rr.Rule, strings.Join(tried, " "), l.Work, l.Own, l.Waits, l.Tail, l.Startup, l.Empty, l.NoLane,
			float64(r.Throttles["worker"])/float64(r.Tasks), float64(r.Requests["fail"])/float64(r.Tasks), r.AverageOurs(), r.Passes, r.TimedOut)
	}
	return b.String()
}

// needed is the in-progress partitions a run's peak writes need.
func needed(r *Result, p Platform) int {
	return max(1, int(math.Ceil(r.PeakProgressTotal/p.PartitionWCU)))
}

func pagesSettings(p Pages) string {
	return fmt.Sprintf("page %d batch %d conc %d", p.page(), p.batch(), p.conc())
}

// short prints a duration to three significant figures.
func short(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 3600:
		return fmt.Sprintf("%.2fh", s/3600)
	case s >= 100:
		return fmt.Sprintf("%.0fs", s)
	case s >= 10:
		return fmt.Sprintf("%.1fs", s)
	default:
		return fmt.Sprintf("%.2fs", s)
	}
}

// Releases is the released tasks (throttled past Work's retries, or cut) per task of a run.
func (r *Result) Releases() float64 { return float64(r.Entered["Release"]) / float64(r.Tasks) }
