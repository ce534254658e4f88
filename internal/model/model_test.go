package model_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/model"
)

// definitions reads the new definition (the repository's) and the previous one (testdata).
func definitions(t testing.TB) (newDef, oldDef *model.Definition) {
	t.Helper()
	newDef, err := model.ReadDefinition(filepath.Join("..", "..", "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	oldDef, err = model.ReadDefinition(filepath.Join("testdata", "pages.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	return newDef, oldDef
}

// edited is the repository's definition after edit changed its JSON.
func edited(t *testing.T, edit func(states map[string]any)) *model.Definition {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	edit(def["States"].(map[string]any))
	out, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	d, err := model.ParseDefinition(out)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// lane, group and loop are the states of the lanes', the groups' and the loops' processors in
// an edited definition.
func lane(states map[string]any) map[string]any {
	return states["RunLanes"].(map[string]any)["ItemProcessor"].(map[string]any)["States"].(map[string]any)
}

func group(states map[string]any) map[string]any {
	return lane(states)["Groups"].(map[string]any)["ItemProcessor"].(map[string]any)["States"].(map[string]any)
}

func loop(states map[string]any) map[string]any {
	return group(states)["Loops"].(map[string]any)["ItemProcessor"].(map[string]any)["States"].(map[string]any)
}

func TestModelFollowsTheDefinition(t *testing.T) {
	t.Parallel()
	newDef, oldDef := definitions(t)
	t.Run("every path the model takes through either definition exists", func(t *testing.T) {
		if err := model.CheckLanes(newDef); err != nil {
			t.Errorf("new definition: %v", err)
		}
		if err := model.CheckPages(oldDef); err != nil {
			t.Errorf("previous definition: %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		edit func(states map[string]any)
		want string
	}{
		{"a loop whose completion does not claim the next task is refused",
			func(s map[string]any) { loop(s)["Complete"].(map[string]any)["Next"] = "LoopDone" },
			"the model has Complete go to ClaimNext, which the definition does not"},
		{"a loop without Release is refused",
			func(s map[string]any) { delete(loop(s), "Release") },
			"the model enters state Release, which the definition lacks"},
		{"a lane that cannot end without loops is refused",
			func(s map[string]any) { lane(s)["LaneGo"].(map[string]any)["Default"] = "Groups" },
			"the model has LaneGo go to LaneDone, which the definition does not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := model.CheckLanes(edited(t, tc.edit))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("the Maps' concurrency is read from the definition", func(t *testing.T) {
		if got := newDef.States["Loops"].MaxConcurrency; got != 40 {
			t.Fatalf("Loops runs %d at once, want 40", got)
		}
		if got := newDef.States["Groups"].MaxConcurrency; got != 3 {
			t.Fatalf("Groups runs %d at once, want 3", got)
		}
		if got := newDef.States["RunLanes"].MaxConcurrencyPath; got != "$.plan.lanes" {
			t.Errorf("RunLanes' MaxConcurrencyPath is %q", got)
		}
		twenty := edited(t, func(s map[string]any) { group(s)["Loops"].(map[string]any)["MaxConcurrency"] = 20 })
		one := edited(t, func(s map[string]any) { lane(s)["Groups"].(map[string]any)["MaxConcurrency"] = 1 })
		job := model.Job{Tasks: 400, Worker: model.Worker{Mean: 200 * time.Millisecond}, Seed: 1}
		for _, c := range []struct {
			def  *model.Definition
			want model.Sizing
		}{
			{newDef, model.Sizing{Lanes: 1, Loops: 100, Slots: 32}},
			{twenty, model.Sizing{Lanes: 2, Loops: 50, Slots: 64}},
			{one, model.Sizing{Lanes: 3, Loops: 34, Slots: 96}},
		} {
			r, err := model.RunLanes(c.def, job, model.Lanes{Concurrency: 100})
			if err != nil {
				t.Fatal(err)
			}
			if r.Sizing != c.want {
				t.Errorf("C = 100 runs as %+v, want %+v", r.Sizing, c.want)
			}
		}
		// The previous definition's batches have no MaxConcurrency: an inline Map's 40.
		r, err := model.RunPages(oldDef, model.Job{Tasks: 100, Worker: model.Worker{Mean: time.Second}, Seed: 1},
			model.Pages{PageSize: 100, BatchSize: 100, Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Peak["worker"] != 40 {
			t.Errorf("a batch of 100 ran %d tasks at once, want 40", r.Peak["worker"])
		}
	})
	t.Run("the Retry rules are read from the definition", func(t *testing.T) {
		for _, tc := range []struct {
			state, err               string
			attempts                 int
			first, third, tenth, cap float64 // delays without jitter
		}{
			{"Work", "Lambda.TooManyRequestsException", 4, 3, 6.75, 8, 8},
			{"Work", "Lambda.ServiceException", 4, 1, 4, 20, 20},
			{"ClaimNext", "Lambda.TooManyRequestsException", 6, 1, 4, 30, 30},
			{"Complete", "TrackerUnavailable", 6, 1, 4, 30, 30},
			{"LaneStart", "Lambda.TooManyRequestsException", 6, 1, 4, 30, 30},
			{"Plan", "Lambda.TooManyRequestsException", 6, 1, 4, 30, 30},
		} {
			r, ok := newDef.RetrierFor(tc.state, tc.err)
			if !ok {
				t.Errorf("%s has no Retry rule for %s", tc.state, tc.err)
				continue
			}
			// u = 1 is the top of FULL jitter's range: the rule's own delay.
			got := [4]float64{r.Delay(1, 1), r.Delay(3, 1), r.Delay(10, 1), r.Delay(30, 1)}
			if r.Attempts() != tc.attempts || got != [4]float64{tc.first, tc.third, tc.tenth, tc.cap} || r.Delay(3, 0.5) != tc.third/2 {
				t.Errorf("%s on %s: %d attempts, delays %v", tc.state, tc.err, r.Attempts(), got)
			}
		}
		// A loop waits for a worker within its lane's margin: the throttle retries' longest
		// delays together fit in contract.LaneMargin.
		if r, ok := newDef.RetrierFor("Work", "Lambda.TooManyRequestsException"); ok {
			wait := 0.0
			for n := 1; n <= r.Attempts(); n++ {
				wait += r.Delay(n, 1)
			}
			if wait != 22.25 || wait > contract.LaneMargin {
				t.Errorf("Work's throttle retries wait up to %.2f s, want 22.25, within the %d s margin", wait, contract.LaneMargin)
			}
		}
		if next, _ := newDef.CatchFor("Work", "Lambda.TooManyRequestsException"); next != "Release" {
			t.Errorf("a throttled Work past its retries goes to %q, want Release", next)
		}
		if next, _ := newDef.CatchFor("Work", "States.Timeout"); next != "RecordFailure" {
			t.Errorf("a Work timeout goes to %q, want RecordFailure", next)
		}
	})
}

func TestBound(t *testing.T) {
	t.Parallel()
	table := 40000.0 / model.UnitsPerTask // tasks a second the table allows
	for _, tc := range []struct {
		name  string
		mean  time.Duration
		w     int
		tasks int
		want  float64 // seconds
		binds string
	}{
		{"W within the first burst: no ramp", time.Second, 1000, 1_000_000, 1000, "W"},
		{"W past the burst: a ramp of 90 s", 30 * time.Second, 10000, 1_000_000,
			90 + (1_000_000-(1000*90.0+100*90*90/2)/30)*30/10000, "W"},
		{"the table below W: its rate after a ramp", time.Second, 10000, 1_000_000,
			(table-1000)/100 + (1_000_000-(1000*(table-1000)/100+100*math.Pow((table-1000)/100, 2)/2))/table, "table"},
		{"a job done within the ramp", time.Second, 10000, 100_000,
			(-1000 + math.Sqrt(1000*1000+2*100*100_000.0)) / 100, "table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := model.BoundOf(model.Job{Tasks: tc.tasks, Worker: model.Worker{Mean: tc.mean, Concurrency: tc.w}})
			if math.Abs(b.Time.Seconds()-tc.want) > 1e-6 || b.Binds != tc.binds {
				t.Errorf("bound %v (%s), want %.6fs (%s)", b.Time, b.Binds, tc.want, tc.binds)
			}
		})
	}
}

// TestSmallRun is a run the size of the local stack's (200 tasks, C = 8, a worker sleeping
// 0.2 s): what a comparison with the local facts can read from the model.
func TestSmallRun(t *testing.T) {
	t.Parallel()
	newDef, _ := definitions(t)
	r, err := model.RunLanes(newDef, model.Job{Tasks: 200, Worker: model.Worker{Mean: 200 * time.Millisecond}, Seed: 1},
		model.Lanes{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	// One lane of 8 loops does every task; its 25 other slots (L + ⌈200 / 8⌉ = 26 in all)
	// find nothing due, one at a time.
	want := map[string]int64{"ClaimNext": 208, "Claimed": 208, "Work": 200, "Complete": 200, "LoopDone": 8,
		"LaneStart": 26, "Loops": 1, "LaneDone": 26, "RunLanes": 1, "Plan": 2, "Summary": 1, "Release": 0}
	for state, n := range want {
		if r.Entered[state] != n {
			t.Errorf("entered %s %d times, want %d", state, r.Entered[state], n)
		}
	}
	if r.Succeeded != 200 || r.Sizing != (model.Sizing{Lanes: 1, Loops: 8, Slots: 32}) || r.Children != 26 || r.EmptyChildren != 25 {
		t.Errorf("%d succeeded, sizing %+v, %d lanes of which %d empty", r.Succeeded, r.Sizing, r.Children, r.EmptyChildren)
	}
	for _, s := range r.LanesInFlight {
		if s.Lanes > 1 {
			t.Errorf("%d lanes in flight at %v, above L = 1", s.Lanes, s.At)
		}
	}
	l := r.Loss
	if sum := l.Work + l.Own + l.Waits + l.Cut + l.Tail + l.Startup + l.Empty + l.NoLane; math.Abs(sum-1) > 1e-9 {
		t.Errorf("the loop slots' shares add up to %v, not 1: %+v", sum, l)
	}
	// The worker's time alone, 8 at once, is the least the job can take; our steps and the
	// empty slots' lanes add to it.
	if floor := 200 * 0.2 / 8; r.Time.Seconds() < floor {
		t.Errorf("the job took %v, under the workers' %vs", r.Time, floor)
	}
	t.Logf("job %v, %.2f steps a task, %d lanes; lanes in flight %v", r.Time, r.StepsPerTask(), r.Children, r.LanesInFlight[:4])
}

// TestTargets runs the study (make model prints it) and holds the new definition to its
// targets: a job of 1,000,000 tasks within 1.2 times its bound for workers of 1 s and 30 s,
// within 1.5 times for workers of 0.1 s, at W = 1,000 and 10,000; our part (Step Functions and
// our functions, at AWS's prices) at most $1.50 a million tasks for workers of 1 s and 30 s;
// and over 5,000 tasks a second where the table allows it, with no index partition throttled.
func TestTargets(t *testing.T) {
	t.Parallel()
	newDef, oldDef := definitions(t)
	start := time.Now()
	study := model.DefaultStudy()
	rows, err := study.Run(newDef, oldDef)
	if err != nil {
		t.Fatal(err)
	}
	plat, prices := model.AWS(), model.AWSPrices()
	t.Logf("%d tasks, σ %.1f, in %v\n%s\n%s", study.Tasks, study.Sigma, time.Since(start).Round(time.Second),
		model.Table(rows, prices, plat), model.Details(rows))
	for _, rr := range rows {
		if got, limit := rr.Ratio(rr.New), rr.Target(); got > limit {
			t.Errorf("workers of %v, W = %d: the new definition takes %.2f times its bound, over %.1f", rr.Mean, rr.W, got, limit)
		}
		if cost := rr.New.Cost(prices, plat); rr.Mean >= time.Second && cost > model.CostTarget {
			t.Errorf("workers of %v, W = %d: our part costs $%.3f a million tasks, over $%.2f", rr.Mean, rr.W, cost*1e6, model.CostTarget*1e6)
		}
		if rr.Bound.Binds != "table" {
			continue
		}
		if r := rr.New; r.TasksPerSecond() <= 5000 || r.PartitionThrottles > 0 {
			t.Errorf("workers of %v, W = %d: %.0f tasks/s, %d partition throttles with %d shards", rr.Mean, rr.W,
				r.TasksPerSecond(), r.PartitionThrottles, rr.Lanes.Shards)
		}
	}
}

// BenchmarkBudgetCut prints the budget cut (Lanes.Cut), an alternative lane rule the
// definition does not adopt, beside the definition's rule on the study's rows: for each rule
// the cheapest C tried within the row's target (or the fastest), its cost by item and the
// work its cuts waste (docs/benchmarks.md says why it is not adopted). `make model` runs it.
// The candidates are the C that the rules need: around the sizing rule for 30 s workers, the
// study's two smallest for the others, whose lanes a 4 s timeout (at most) barely shortens.
func BenchmarkBudgetCut(b *testing.B) {
	newDef, _ := definitions(b)
	study := model.CutStudy{Tasks: 1_000_000, Sigma: 0.5, Seed: 1,
		Rules: []model.Rule{{Name: "today", Cut: 0}, {Name: "cut T/2", Cut: 0.5}, {Name: "cut T/3", Cut: 1.0 / 3}}}
	for _, m := range []time.Duration{100 * time.Millisecond, time.Second, 30 * time.Second} {
		factors := []float64{1, 1.2}
		if m >= 30*time.Second {
			factors = []float64{1, 1.1, 1.2, 1.3}
		}
		for _, w := range []int{1000, 10000} {
			study.Cases = append(study.Cases, model.CutCase{Row: model.Row{Mean: m, W: w}, Factors: factors})
		}
	}
	start := time.Now()
	var res []model.CutResult
	for b.Loop() {
		var err error
		if res, err = study.Run(newDef); err != nil {
			b.Fatal(err)
		}
	}
	prices, plat := model.AWSPrices(), model.AWS()
	b.Logf("%d tasks, σ %.1f, in %v; ok: t within the time target, $ within $1.50/1M too\n%s\n%s", study.Tasks, study.Sigma,
		time.Since(start).Round(time.Second), model.CutTable(res, prices, plat), model.CutDetails(res, prices, plat))
}

// TestCut checks the budget cut's mechanics on jobs of 30 s workers small enough to run
// often, whose lanes reach their budget.
func TestCut(t *testing.T) {
	t.Parallel()
	newDef, _ := definitions(t)
	job := model.Job{Tasks: 60_000, Worker: model.Worker{Mean: 30 * time.Second, Sigma: 0.5, Concurrency: 1000}, Seed: 1}
	run := func(t *testing.T, cut float64, c int) *model.Result {
		t.Helper()
		r, err := model.RunLanes(newDef, job, model.Lanes{Concurrency: c, Shards: 2, Cut: cut})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("a cut of the whole timeout is the definition's rule", func(t *testing.T) {
		for _, c := range []int{1000, 1300} {
			today, whole := run(t, 0, c), run(t, 1, c)
			if today.Time != whole.Time || today.Entered["Work"] != whole.Entered["Work"] || whole.Cuts != 0 || whole.HandedBack != 0 {
				t.Errorf("C = %d: today %v and %d Work states, Cut 1 %v and %d, %d cuts, %d handed back", c, today.Time,
					today.Entered["Work"], whole.Time, whole.Entered["Work"], whole.Cuts, whole.HandedBack)
			}
		}
	})
	for _, tc := range []struct {
		name string
		cut  float64
		c    int
	}{
		{"a third of the timeout, W loops", 1.0 / 3, 1000},
		{"half the timeout, over-subscribed", 0.5, 1300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.cut, tc.c)
			switch {
			case r.Succeeded != job.Tasks:
				t.Errorf("%d of %d tasks succeeded", r.Succeeded, job.Tasks)
			case r.Cuts == 0 || r.WastedSeconds <= r.ZombieSeconds || r.ZombieSeconds <= 0:
				t.Errorf("%d cuts wasted %.0f worker seconds, %.0f of them after the cut", r.Cuts, r.WastedSeconds, r.ZombieSeconds)
			case r.CutAgain != 0:
				t.Errorf("%d attempts cut a task cut before", r.CutAgain)
			case r.Peak["worker"] > int64(job.Worker.Concurrency):
				t.Errorf("the worker ran %d at once, over W", r.Peak["worker"])
			case r.LongestLane > 300*time.Second:
				t.Errorf("a lane lived %v", r.LongestLane)
			}
			l := r.Loss
			if sum := l.Work + l.Own + l.Waits + l.Cut + l.Tail + l.Startup + l.Empty + l.NoLane; math.Abs(sum-1) > 1e-9 {
				t.Errorf("the loop slots' shares add up to %v, not 1: %+v", sum, l)
			}
			t.Logf("%v, %d cuts (%d began again while their worker ran), %d handed back, waste %.2f %%, longest lane %v",
				r.Time, r.Cuts, r.Overlaps, r.HandedBack, 100*r.WastedShare(), r.LongestLane)
		})
	}
}
