package localstack_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/model"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The history budget: Step Functions fails a Standard execution at 25,000 history events. A
// Task state with a function ARN (or an integration) emits 5 events and 3 more per retry;
// Pass, Choice and Wait 2; an inline Map 4 plus 2 per iteration (its states' events join the
// parent's history); a Distributed Map 6, its children keeping their own histories. An
// execution adds 2 of its own (started, succeeded).
const historyLimit = 25000

// budgetModel is the definition (as internal/model reads it: every state by name, nested ones
// included) with what entering each state costs in history events.
type budgetModel struct{ def *model.Definition }

func loadModel(t *testing.T) *budgetModel {
	t.Helper()
	def, err := model.ReadDefinition(filepath.Join("..", "..", "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	return &budgetModel{def: def}
}

// events is what entering a state once costs in history events, at worst (every retrier
// used up) or without retries.
func (m *budgetModel) events(t *testing.T, name string, worst bool) int {
	t.Helper()
	s, ok := m.def.States[name]
	if !ok {
		t.Fatalf("the model names state %s, which the definition lacks", name)
	}
	switch s.Type {
	case "Task":
		n := 5
		if worst {
			for _, r := range s.Retry {
				n += 3 * r.Attempts()
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

// path checks that the states follow one another in the definition and returns them.
func (m *budgetModel) path(t *testing.T, names ...string) []string {
	t.Helper()
	if err := m.def.Path(names...); err != nil {
		t.Fatal(err)
	}
	return names
}

// The segments a job's execution is made of, as paths through the parent's states.
func (m *budgetModel) start(t *testing.T) []string {
	return m.path(t, "CheckInput", "SweepOrJob", "Plan", "WhatNext")
}

// round runs a pass of lanes and plans the next step.
func (m *budgetModel) round(t *testing.T) []string {
	return m.path(t, "WhatNext", "RunLanes", "Plan", "WhatNext")
}

// wait waits for the next failed task to be due and plans the next step.
func (m *budgetModel) wait(t *testing.T) []string {
	return m.path(t, "WhatNext", "WaitUntilDue", "Plan", "WhatNext")
}

// end counts the job's tasks and ends the run.
func (m *budgetModel) end(t *testing.T) []string { return m.path(t, "WhatNext", "Summary", "Done") }

// handover continues the run as a new execution.
func (m *budgetModel) handover(t *testing.T) []string {
	return m.path(t, "WhatNext", "Handover", "HandedOver")
}

// cost sums the events of a sequence of segments, each segment's last state being the next
// one's first (counted once).
func (m *budgetModel) cost(t *testing.T, worst bool, segments ...[]string) (events int, entered map[string]int) {
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

// task is one task's states in a loop at worst: claimed, worked, its completion refused into
// a failure whose record fails too (every retrier used up), then the next claim.
func (m *budgetModel) task(t *testing.T) []string {
	return m.path(t, "ClaimNext", "Claimed", "Work", "Complete", "RecordFailure", "Errored", "ClaimNext")
}

// lane is a lane's own states; each of its groups adds its iteration and its Loops Map
// (groupEvents).
func (m *budgetModel) lane(t *testing.T) []string {
	return m.path(t, "LaneStart", "LaneGo", "Groups", "LaneDone")
}

// groupEvents is what each of a lane's groups adds beside its loops: its iteration of the
// Groups Map and its own Loops Map.
func (m *budgetModel) groupEvents(t *testing.T) int {
	if m.def.In["Loops"] != "Groups" || m.def.In["ClaimNext"] != "Loops" {
		t.Fatalf("the loops are not a Loops Map within the Groups Map")
	}
	return 2 + m.events(t, "Loops", true)
}

func TestHistoryBudget(t *testing.T) {
	t.Parallel()
	m := loadModel(t)
	// A parent: its start, MaxSteps steps (rounds or waits, each at worst), its handover.
	perRound, _ := m.cost(t, true, m.round(t))
	perWait, _ := m.cost(t, true, m.wait(t))
	step := max(perRound, perWait) - 2
	handover, _ := m.cost(t, true, m.handover(t)) // with the execution's own 2 events
	parent := m.events(t, "CheckInput", true) + m.events(t, "SweepOrJob", true) + contract.MaxSteps*step +
		m.events(t, "Plan", true) + handover
	if parent > historyLimit {
		t.Errorf("a parent of MaxSteps %d steps reaches %d events", contract.MaxSteps, parent)
	}
	// A sweep: an inline Map of one startExecution per job.
	sweep := m.events(t, "CheckInput", true) + m.events(t, "SweepOrJob", true) + m.events(t, "StartEachJob", true) +
		contract.MaxJobIDs*(2+m.events(t, "StartJob", true)+m.events(t, "AlreadyStarted", true)) + m.events(t, "Swept", true) + 2
	if sweep > historyLimit {
		t.Errorf("a sweep of %d jobs reaches %d events", contract.MaxJobIDs, sweep)
	}
	// A bulk action: its start, MaxSteps steps (each a claim call and a choice, at worst),
	// its handover.
	bulkStep, _ := m.cost(t, true, m.path(t, "BulkStep", "BulkNext", "BulkStep"))
	bulk := m.events(t, "CheckInput", true) + m.events(t, "SweepOrJob", true) + contract.MaxSteps*(bulkStep-2) +
		m.events(t, "BulkHandover", true) + m.events(t, "BulkHandedOver", true) + 2
	m.path(t, "SweepOrJob", "BulkStep")
	m.path(t, "BulkNext", "BulkHandover", "BulkHandedOver")
	m.path(t, "BulkNext", "BulkDone")
	if bulk > historyLimit {
		t.Errorf("a bulk action of MaxSteps %d steps reaches %d events", contract.MaxSteps, bulk)
	}
	t.Logf("a bulk action of %d steps: %d events", contract.MaxSteps, bulk)
	// A STANDARD lane: the constants the claim function bounds a Standard lane's tasks with
	// cover its states as the definition has them.
	perTask, _ := m.cost(t, true, m.task(t))
	perTask -= 2 + m.events(t, "ClaimNext", true)                                // the next claim is the next task's
	loopEnd, _ := m.cost(t, true, m.path(t, "ClaimNext", "Claimed", "LoopDone")) // its last claim finds nothing
	perLoop := loopEnd - 2 + 2                                                   // and the iteration's own 2
	laneOwn, _ := m.cost(t, true, m.lane(t))
	laneOwn += contract.GroupsPerLane * m.groupEvents(t)
	if perTask > contract.StandardEventsPerTask || perLoop > contract.StandardLoopEvents || laneOwn > contract.StandardLaneEvents {
		t.Errorf("a task adds %d events (contract: %d), a loop %d (%d), a lane %d (%d)", perTask, contract.StandardEventsPerTask,
			perLoop, contract.StandardLoopEvents, laneOwn, contract.StandardLaneEvents)
	}
	for _, loops := range []int{1, 7, contract.MaxLoops} {
		n := contract.StandardLaneTasks(loops)
		if events := laneOwn + loops*(perLoop+n*perTask); events > historyLimit {
			t.Errorf("a STANDARD lane of %d loops of %d tasks reaches %d events", loops, n, events)
		}
	}
	t.Logf("a parent of %d steps: %d events; a sweep of %d jobs: %d; a STANDARD lane of %d loops of %d tasks: %d",
		contract.MaxSteps, parent, contract.MaxJobIDs, sweep, contract.MaxLoops, contract.StandardLaneTasks(contract.MaxLoops),
		laneOwn+contract.MaxLoops*(perLoop+contract.StandardLaneTasks(contract.MaxLoops)*perTask))
}

// TestPayloadBudget adds up the largest state each part of the definition carries, from the
// limits validation and the functions enforce. An id is at most tracker.MaxKeyBytes and holds
// no control character (ValidateID refuses them, and a loop leaves another writer's such ids
// alone), so JSON writes it in at most twice its bytes (a quote or a backslash is two bytes,
// U+2028 six for its three).
func TestPayloadBudget(t *testing.T) {
	t.Parallel()
	const limit = 262144
	id := 2 * tracker.MaxKeyBytes // an id, encoded, at worst
	arn := 200                    // an execution ARN
	settings := 600               // numbers and field names
	slots := len(fmt.Sprint(make([]int, contract.MaxSlots))) + 5*contract.MaxSlots
	lease := 3*id + arn + 200
	run := contract.MaxInputBytes + lease + settings + id // the run: its task ids, its lease, the holder
	handover := contract.MaxInputBytes + lease + arn + 200
	parent := run + max(slots, handover) + settings + 2*arn // the run, the plan (slots or a handover), the summary
	lane := id + contract.MaxInputBytes + arn + lease +     // its input: the job, the lane's run (its task ids)
		contract.MaxInputBytes + settings // the loops LaneStart answers (a named run's task ids)
	position := 4 * id                                                 // a loop's position: from, until, after, the job
	claim := tracker.MaxDataBytes + 3*id + lease + settings            // the claim: ids, data, lease
	cause := 6 * 32768                                                 // an error's Cause, 32,768 characters, escaped at worst
	loop := 3*id + arn + settings + position + max(claim, cause+lease) // data, result or error: one at a time
	// A bulk action's state: its progress (the job, its id, its selection, its cursor, the
	// refusals it names) twice, as it is and in the handover's input, beside the run.
	cursor := 4 * (2*id + 2*id + 200) / 3 // a failure listing's: the job, a task id and the failure key, in base64
	progress := 2*id + 3*tracker.MaxFailureMessageBytes + cursor + tracker.MaxBulkRefusals*(id+50) + settings
	bulk := run + 2*progress + 2*arn + settings
	for name, n := range map[string]int{"parent": parent, "lane": lane, "loop": loop, "bulk": bulk} {
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
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: 2}, localstack.RunOptions{})
	// Round 1 runs the 9 tasks; t-003 fails and, unless a later lane of the round finds it
	// due, waits out its 1-second backoff (a wait) for round 2; then nothing is left. The
	// run's output says how it went; the states must be those of that path.
	if out.Rounds < 1 || out.Rounds > 2 || out.Waits > out.Rounds-1 {
		t.Fatalf("output %+v", out)
	}
	segs := [][]string{m.start(t)}
	for r := range out.Rounds {
		if r > 0 && out.Waits > 0 {
			segs = append(segs, m.wait(t))
		}
		segs = append(segs, m.round(t))
	}
	segs = append(segs, m.end(t))
	events, want := m.cost(t, false, segs...)
	if !maps.Equal(ex.States, want) {
		t.Errorf("the interpreter entered %v\nthe model predicts    %v", ex.States, want)
	}
	// Lanes: 1 lane of 2 loops at once, and a round's slots one more per 2 tasks: 6 for
	// round 1's 9 tasks, 2 for round 2's one. Every lane enters its start, LaneGo and its
	// end; a lane with work also its Groups Map and its one group's Loops Map, and each of
	// its two loops ends with a ClaimNext, Claimed and LoopDone. Each of the 10 attempts
	// enters ClaimNext, Claimed, Work, then Complete or RecordFailure.
	lanes := 6 + 2*(out.Rounds-1)
	rest := ex.ChildStates - 3*lanes - 4*10
	if ex.Children != lanes || rest%8 != 0 || rest/8 < out.Rounds || rest/8 > out.Rounds+1 {
		t.Errorf("%d lanes entered %d states: want %d lanes, of which %d or %d at work", ex.Children, ex.ChildStates, lanes, out.Rounds, out.Rounds+1)
	}
	t.Logf("%d history events for %d tasks (%+v)", events, len(tasks), out)
}
