package localstack_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The history budget: Step Functions fails a Standard execution at 25,000 history events. A
// Task state with a function ARN (or an integration) emits 5 events and 3 more per retry;
// Pass, Choice and Wait 2; an inline Map 4 plus 2 per iteration (its states' events join the
// parent's history); a Distributed Map 6, its children keeping their own histories. An
// execution adds 2 of its own (started, succeeded).
const historyLimit = 25000

// asl is the part of a definition the model reads.
type asl struct {
	StartAt string               `json:"StartAt"`
	States  map[string]*aslState `json:"States"`
}

type aslState struct {
	Type      string `json:"Type"`
	Resource  string `json:"Resource"`
	Next      string `json:"Next"`
	Default   string `json:"Default"`
	End       bool   `json:"End"`
	Choices   []struct{ Next string }
	Catch     []struct{ Next string }
	Retry     []struct{ MaxAttempts int }
	Processor *struct {
		ProcessorConfig struct{ Mode string }
		asl
	} `json:"ItemProcessor"`
}

// model is the definition's states, flattened, with what each costs.
type model struct {
	states map[string]*aslState
	child  map[string]bool // states of the Distributed Map's children
}

func loadModel(t *testing.T) *model {
	t.Helper()
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var def asl
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	m := &model{states: map[string]*aslState{}, child: map[string]bool{}}
	var walk func(a asl, child bool)
	walk = func(a asl, child bool) {
		for name, s := range a.States {
			if _, dup := m.states[name]; dup {
				t.Fatalf("two states are named %s: the model and run.mjs key states by name", name)
			}
			m.states[name], m.child[name] = s, child
			if s.Processor != nil {
				walk(s.Processor.asl, child || s.Processor.ProcessorConfig.Mode == "DISTRIBUTED")
			}
		}
	}
	walk(def, false)
	return m
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "..", "..")
}

// events is what entering a state once costs in history events, at worst (every retrier
// used up) or without retries.
func (m *model) events(t *testing.T, name string, worst bool) int {
	t.Helper()
	s, ok := m.states[name]
	if !ok {
		t.Fatalf("the model names state %s, which the definition lacks", name)
	}
	switch s.Type {
	case "Task":
		n := 5
		if worst {
			for _, r := range s.Retry {
				n += 3 * r.MaxAttempts
			}
		}
		return n
	case "Map":
		if s.Processor.ProcessorConfig.Mode == "DISTRIBUTED" {
			return 6
		}
		return 4 // + 2 per iteration, counted by the caller
	}
	return 2
}

// next is every state a state may go to.
func (s *aslState) next() []string {
	out := []string{s.Next, s.Default}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

// path checks that the states follow one another in the definition and returns them.
func (m *model) path(t *testing.T, names ...string) []string {
	t.Helper()
	for i := 1; i < len(names); i++ {
		prev, ok := m.states[names[i-1]]
		if !ok || !slices.Contains(prev.next(), names[i]) {
			t.Fatalf("the model has %s go to %s, which the definition does not", names[i-1], names[i])
		}
	}
	return names
}

// The segments a job's execution is made of, as paths through the parent's states.
func (m *model) start(t *testing.T) []string { return m.path(t, "CheckInput", "SweepOrJob", "Budget") }

// page lists a page and runs its batches; more says a page follows in the same pass.
func (m *model) page(t *testing.T, more bool) []string {
	p := m.path(t, "Budget", "ListPage", "Count", "AnyBatches", "RunBatches", "MorePages")
	if more {
		return append(p, m.path(t, "MorePages", "NextPage", "Budget")[1:]...)
	}
	return append(p, m.path(t, "MorePages", "EndOfPass")[1:]...)
}

// emptyPage lists a page with nothing to run at the end of a pass.
func (m *model) emptyPage(t *testing.T) []string {
	return m.path(t, "Budget", "ListPage", "Count", "AnyBatches", "Idle", "EndOfPass")
}

// passEnd closes a pass and starts the next (waiting for the failed tasks to be due), or
// ends the run at the last round.
func (m *model) passEnd(t *testing.T, last, wait bool) []string {
	switch {
	case last:
		return m.path(t, "EndOfPass", "NextRound", "RoundsLeft", "Summary", "Done")
	case wait:
		return m.path(t, "EndOfPass", "NextRound", "RoundsLeft", "WaitForRound", "FromTheStart", "Budget")
	}
	return m.path(t, "EndOfPass", "NextRound", "RoundsLeft", "FromTheStart", "Budget")
}

// nothingLeft is a pass's first page, empty with nothing due: the run ends.
func (m *model) nothingLeft(t *testing.T) []string {
	return m.path(t, "Budget", "ListPage", "Count", "AnyBatches", "Idle", "Summary", "Done")
}

func (m *model) handover(t *testing.T) []string {
	return m.path(t, "Budget", "Handover", "HandedOver")
}

// cost sums the events of a sequence of segments, each segment's last state being the next
// one's first (counted once).
func (m *model) cost(t *testing.T, worst bool, segments ...[]string) (events int, entered map[string]int) {
	entered = map[string]int{}
	for i, seg := range segments {
		for j, name := range seg {
			if j == len(seg)-1 && i < len(segments)-1 {
				break // the next segment starts with it
			}
			entered[name]++
			events += m.events(t, name, worst)
		}
	}
	return events + 2, entered
}

// execution plans one job's run as executions: rounds[r] is how many tasks round r+1 lists,
// pageSize the tasks of a page, maxSteps the pages an execution lists before it hands over.
// Each round ends with an empty page (the worst case: a full last page has more).
func (m *model) run(t *testing.T, rounds []int, pageSize, maxSteps int, worst bool) (executions []int, entered map[string]int) {
	var steps [][]string // the pages in order, each with what follows it
	for r, n := range rounds {
		pages := (n + pageSize - 1) / pageSize
		for range pages {
			steps = append(steps, m.page(t, true))
		}
		end := m.emptyPage(t)
		steps = append(steps, append(end, m.passEnd(t, r == len(rounds)-1, true)[1:]...))
	}
	entered = map[string]int{}
	for i := 0; i < len(steps); i += maxSteps {
		segs := [][]string{m.start(t)}
		segs = append(segs, steps[i:min(i+maxSteps, len(steps))]...)
		if i+maxSteps < len(steps) {
			segs = append(segs, m.handover(t))
		}
		ev, en := m.cost(t, worst, segs...)
		executions = append(executions, ev)
		for k, v := range en {
			entered[k] += v
		}
	}
	return executions, entered
}

// childEvents is one child execution's history for a batch of size tasks, at worst every
// task taking its longest path (claim, work, complete failing over to recording a failure)
// with every retrier used up.
func (m *model) childEvents(t *testing.T, size int, worst bool) int {
	perTask := 2 // the iteration
	for _, name := range m.path(t, "Claim", "Work", "Complete", "RecordFailure") {
		perTask += m.events(t, name, worst)
	}
	return 2 + m.events(t, "Tasks", worst) + size*perTask
}

func TestHistoryBudgetOfAMillionTasks(t *testing.T) {
	t.Parallel()
	m := loadModel(t)
	const n = 1_000_000
	// 10 % fail once, 5 % always fail (MaxRetry attempts): rounds list 100 %, 15 %, 5 %.
	rounds := []int{n, n * 15 / 100, n * 5 / 100}
	if len(rounds) != tracker.DefaultMaxRetry {
		t.Fatalf("the mix assumes %d rounds", tracker.DefaultMaxRetry)
	}
	for _, tc := range []struct {
		name     string
		pageSize int
		maxSteps int
	}{
		{"defaults", contract.DefaultPageSize, contract.DefaultMaxSteps},
		{"the most steps, the smallest pages", 1, contract.MaxSteps},
		{"the most steps, the largest pages", tracker.MaxPageLimit, contract.MaxSteps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			execs, _ := m.run(t, rounds[:min(len(rounds), map[bool]int{true: 1, false: 3}[tc.pageSize == 1])], tc.pageSize, tc.maxSteps, true)
			worst := slices.Max(execs)
			t.Logf("%d executions, the largest %d events at worst", len(execs), worst)
			if worst > historyLimit {
				t.Errorf("an execution reaches %d history events, over %d", worst, historyLimit)
			}
		})
	}
	// A round's end may come on every page (one-page rounds): at most MaxRounds of them.
	perPage, _ := m.cost(t, true, m.page(t, true))
	perRound, _ := m.cost(t, true, m.emptyPage(t), m.passEnd(t, false, true))
	if worst := contract.MaxSteps*(perPage-2) + contract.MaxRounds*(perRound-2) + 200; worst > historyLimit {
		t.Errorf("MaxSteps %d pages and MaxRounds %d rounds can reach %d events", contract.MaxSteps, contract.MaxRounds, worst)
	}
	// A sweep: an inline Map of one startExecution per job.
	sweep := m.events(t, "CheckInput", true) + m.events(t, "SweepOrJob", true) + m.events(t, "StartEachJob", true) +
		contract.MaxJobIDs*(2+m.events(t, "StartJob", true)) + m.events(t, "Swept", true) + 2
	if sweep > historyLimit {
		t.Errorf("a sweep of %d jobs reaches %d events", contract.MaxJobIDs, sweep)
	}
	// A STANDARD child of the largest batch.
	if c := m.childEvents(t, contract.MaxBatchSize, true); c > historyLimit {
		t.Errorf("a child of %d tasks reaches %d events", contract.MaxBatchSize, c)
	}
	t.Logf("a sweep of %d jobs: %d events; a STANDARD child of %d tasks: %d events", contract.MaxJobIDs, sweep, contract.MaxBatchSize, m.childEvents(t, contract.MaxBatchSize, true))
}

// TestPayloadBudget adds up the largest state each part of the definition carries, from the
// limits validation and list-pending enforce, with every id at its longest and escaped at its
// worst (a control character is 6 bytes in JSON).
func TestPayloadBudget(t *testing.T) {
	t.Parallel()
	const limit = 262144
	idWorst := 6 * tracker.MaxKeyBytes            // an id, encoded, at worst
	arn := 200                                    // an execution ARN
	settings := 400                               // the run's numbers and field names
	parent := contract.MaxInputBytes + settings + // the run, with its task ids
		contract.MaxPageBytes + 2*idWorst + 200 + // the page: batches, cursor, due times
		idWorst + 300 // where the pass is, the counters, the due answer
	child := contract.MaxPageBytes + idWorst + arn + 100
	iteration := tracker.MaxDataBytes + 5*idWorst + arn + 600 // the claim's output and its lease
	for name, n := range map[string]int{"parent": parent, "child": child, "task": iteration} {
		t.Logf("%s state: at most %d bytes", name, n)
		if n > limit {
			t.Errorf("a %s state can carry %d bytes, over %d", name, n, limit)
		}
	}
}

// TestModelMatchesTheInterpreter runs a small job and compares the states the interpreter
// entered with those the model predicts for it.
func TestModelMatchesTheInterpreter(t *testing.T) {
	t.Parallel()
	m := loadModel(t)
	tasks := numbered(9, "")
	tasks["t-003"] = `{"fail_times": 1}`
	job := newJob(t, tasks)
	ex, out := run(t, contract.RunInput{JobID: job, PageSize: 5, BatchSize: 2}, localstack.RunOptions{})
	// Round 1: pages of 5 and 4 tasks; round 2: t-003 alone; round 3 finds nothing. A round
	// waits for t-003 to be due unless its 1-second backoff ran out before the round ended:
	// the run says which, in how often it entered WaitForRound.
	waited := ex.States["WaitForRound"] == 1
	segs := [][]string{m.start(t), m.page(t, true), m.page(t, false), m.passEnd(t, false, waited),
		m.page(t, false), m.passEnd(t, false, false), m.nothingLeft(t)}
	events, want := m.cost(t, false, segs...)
	if !maps.Equal(ex.States, want) {
		t.Errorf("the interpreter entered %v\nthe model predicts    %v", ex.States, want)
	}
	// Children: 5 + 4 + 1 tasks in batches of 2: 3 + 2 + 1 children, each entering its Map
	// and 3 states a task (claim, work, then complete or record the failure).
	if ex.Children != 6 || ex.ChildStates != 6+3*10 {
		t.Errorf("%d children entered %d states, want 6 and %d", ex.Children, ex.ChildStates, 6+3*10)
	}
	if got := ex.States["WaitForRound"]; got > 1 {
		t.Errorf("entered WaitForRound %d times", got)
	}
	t.Logf("%d history events for %d tasks (%+v)", events, len(tasks), out)
}
