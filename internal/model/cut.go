package model

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// CostTarget is the target for our part of a job (Result.Cost), per task: $1.50 per
// million tasks.
const CostTarget = 1.50 / 1e6

// Target is the target for a row's job time, as a multiple of its bound: 1.5 for
// workers under a second, 1.2 for the others.
func (r Row) Target() float64 {
	if r.Mean < time.Second {
		return 1.5
	}
	return 1.2
}

// Rule is a lane rule to compare: a name and its Lanes.Cut (0 is the definition's rule).
type Rule struct {
	Name string
	Cut  float64
}

// CutCase is a row of a CutStudy and its candidates for C, as multiples of SizingRule's C.
type CutCase struct {
	Row
	Factors []float64
}

// CutStudy compares lane rules (Lanes.Cut) over rows of workers: each rule runs each row's
// candidates for C, and the cheapest candidate within the row's Target is the rule's C.
type CutStudy struct {
	Cases []CutCase
	Rules []Rule
	// Tasks, Sigma and Seed are as in Study.
	Tasks int
	Sigma float64
	Seed  uint64
}

// CutResult is one rule on one row: the job, its bound and the runs of every candidate C.
type CutResult struct {
	Row
	Rule  Rule
	Job   Job
	Bound Bound
	Tried []Tried
	Runs  []*Result
}

// Run runs every rule on every row's candidates, in parallel.
func (s CutStudy) Run(def *Definition) ([]CutResult, error) {
	var (
		out  []CutResult
		runs []func() error
	)
	for _, cs := range s.Cases {
		job := Job{Tasks: s.Tasks, Worker: Worker{Mean: cs.Mean, Sigma: s.Sigma, Concurrency: cs.W}, Seed: s.Seed}
		b := BoundOf(job)
		rule := SizingRule(job, def)
		for _, r := range s.Rules {
			cr := CutResult{Row: cs.Row, Rule: r, Job: job, Bound: b, Runs: make([]*Result, len(cs.Factors))}
			for _, f := range cs.Factors {
				cr.Tried = append(cr.Tried, Tried{Concurrency: int(math.Ceil(float64(rule) * f))})
			}
			out = append(out, cr)
		}
	}
	for i := range out {
		cr := &out[i]
		for j, t := range cr.Tried {
			cfg := Lanes{Concurrency: t.Concurrency, Cut: cr.Rule.Cut,
				Shards: ShardsFor(cr.Bound.Concurrency/seconds(cr.Mean), t.Concurrency, cr.Job.platform())}
			runs = append(runs, func() error {
				r, err := RunLanes(def, cr.Job, cfg)
				cr.Runs[j] = r
				if err == nil {
					cr.Tried[j].Time = r.Time
				}
				return err
			})
		}
	}
	return out, parallel(runs)
}

// Ratio is a run's time over the row's bound.
func (cr *CutResult) Ratio(r *Result) float64 { return r.Time.Seconds() / cr.Bound.Time.Seconds() }

// Chosen is the candidate the rule runs the row with: the cheapest within the row's target,
// or the fastest when none is.
func (cr *CutResult) Chosen(p Prices, plat Platform) int {
	best := -1
	for i, r := range cr.Runs {
		if cr.Ratio(r) <= cr.Target() && (best < 0 || r.Cost(p, plat) < cr.Runs[best].Cost(p, plat)) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	for i, r := range cr.Runs {
		if best < 0 || r.Time < cr.Runs[best].Time {
			best = i
		}
	}
	return best
}

// Memory128 prices our functions at 128 MB instead of 256 MB, assuming their handlers take
// 30 % longer with half the CPU: the GB-seconds item times 0.5 × 1.3 (the lanes' own time
// grows by as much, which the job's time and the Express duration barely feel for 30 s
// workers; the model does not rerun them).
func Memory128(c Costs) Costs {
	c.LambdaGBSeconds *= 128.0 / 256 * 1.3
	return c
}

// CutTable prints, per row and rule, the C chosen, the job's time over its bound and our
// part's cost per million tasks with its items (Express executions and GB-seconds, our
// functions' requests and GB-seconds, Standard transitions) and at 128 MB (Memory128), and
// whether both targets are met; then every candidate tried, as C:×bound:$/1M.
func CutTable(res []CutResult, p Prices, plat Platform) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %6s %-9s %6s %6s %6s %6s %6s %6s %6s %6s %6s %4s  %s\n", "worker", "W", "rule", "C", "×bound",
		"$/1M", "x-exec", "x-GBs", "λ-req", "λ-GBs", "std", "@128MB", "ok", "C tried: ×bound $/1M")
	for i := range res {
		cr := &res[i]
		j := cr.Chosen(p, plat)
		r := cr.Runs[j]
		c := r.Costs(p, plat)
		ok := "×"
		if cr.Ratio(r) <= cr.Target() {
			ok = "t"
			if c.Total() <= CostTarget {
				ok = "t$"
			}
		}
		var tried []string
		for k, t := range cr.Tried {
			tried = append(tried, fmt.Sprintf("%d:%.3f:%.2f", t.Concurrency, cr.Ratio(cr.Runs[k]), cr.Runs[k].Cost(p, plat)*1e6))
		}
		fmt.Fprintf(&b, "%-6s %6d %-9s %6d %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %4s  %s\n", short(cr.Mean), cr.W, cr.Rule.Name,
			cr.Tried[j].Concurrency, cr.Ratio(r), c.Total()*1e6, c.ExpressRequests*1e6, c.ExpressGBSeconds*1e6, c.LambdaRequests*1e6,
			c.LambdaGBSeconds*1e6, c.Standard*1e6, Memory128(c).Total()*1e6, ok, strings.Join(tried, " "))
	}
	return b.String()
}

// CutDetails prints, per row and rule at the C chosen:
//   - the worker's seconds in cut attempts, wasted: over its useful seconds, per task, and
//     their price per million tasks for a worker of 1 GB on arm64; the part of them after
//     the cut (zombies), over the useful seconds;
//   - cut attempts per task, and the share of them whose task began again while their worker
//     still ran (two workers on one task); hand-backs and releases (cuts included) per task;
//   - the worker's throttles, our requests and the write units beyond a task's own 6, per task;
//   - where the loops' slots went (Loss); our functions' environments, peak and mean; the
//     longest lane.
func CutDetails(res []CutResult, p Prices, plat Platform) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %6s %-9s %6s %6s %6s %6s %6s %6s %5s %6s %6s %6s %6s %6s "+
		"%5s %5s %5s %5s %5s %5s %5s %5s %5s %5s %6s\n",
		"worker", "W", "rule", "C", "waste", "s/task", "$@1GB", "zombie", "cut/t", "ovlap", "hb/t", "rel/t", "429/t", "req/t", "+WU/t",
		"work", "own", "waits", "cut", "tail", "start", "empty", "nolane", "peak", "mean", "lane")
	for i := range res {
		cr := &res[i]
		j := cr.Chosen(p, plat)
		r, l := cr.Runs[j], cr.Runs[j].Loss
		wasted := r.PerTask(r.WastedSeconds)
		fmt.Fprintf(&b, "%-6s %6d %-9s %6d %5.2f%% %6.3f %6.2f %5.2f%% %6.4f %5.2f %6.4f %6.4f %6.2f %6.3f %6.3f ",
			short(cr.Mean), cr.W, cr.Rule.Name, cr.Tried[j].Concurrency,
			100*r.WastedShare(), wasted, wasted*p.LambdaGBSecond*1e6, 100*r.ZombieSeconds/(r.WorkerSeconds-r.WastedSeconds),
			r.PerTask(float64(r.Cuts)), overlapShare(r), r.PerTask(float64(r.HandedBack)), r.Releases(),
			r.PerTask(float64(r.Throttles["worker"])), r.OurRequestsPerTask(), r.ExtraUnitsPerTask())
		fmt.Fprintf(&b, "%5.3f %5.3f %5.3f %5.3f %5.3f %5.3f %5.3f %5.3f %5d %5.0f %6s\n",
			l.Work, l.Own, l.Waits, l.Cut, l.Tail, l.Startup, l.Empty, l.NoLane, r.PeakOurs, r.AverageOurs(), short(r.LongestLane))
	}
	return b.String()
}

// overlapShare is the share of cut attempts whose task began again while their worker ran.
func overlapShare(r *Result) float64 {
	if r.Cuts == 0 {
		return 0
	}
	return float64(r.Overlaps) / float64(r.Cuts)
}
