package localstack_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/localstack"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/model"
)

// TestModelAgainstLocalFacts checks the model (internal/model) against the interpreter where
// a local run can check it: a job the size of the local stack's (96 tasks, a worker of a
// constant 0.1 s, 8 loops) runs through the same states, the same number of times each, in
// the same number of lanes with as many in flight at once, in the model and on the local
// stack. The model's times are AWS's, not this machine's: they are not compared.
func TestModelAgainstLocalFacts(t *testing.T) {
	t.Parallel()
	const tasks, concurrency = 96, 8
	def, err := model.ReadDefinition(filepath.Join("..", "..", "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.RunLanes(def, model.Job{Tasks: tasks, Worker: model.Worker{Mean: 100 * time.Millisecond}, Seed: 1},
		model.Lanes{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(t, numbered(tasks, `{"sleep_ms": 100}`))
	ex, out := run(t, contract.RunInput{JobID: job, Concurrency: concurrency}, localstack.RunOptions{})
	if out.Counts["succeeded"] != tasks {
		t.Fatalf("counts %v", out.Counts)
	}
	local := map[string]int{}
	for name, n := range ex.States {
		local[name] += n
	}
	for name, n := range ex.ChildStatesByName {
		local[name] += n
	}
	for _, name := range []string{"CheckInput", "Plan", "RunLanes", "Summary", "LaneStart", "Groups", "Loops", "LaneDone",
		"ClaimNext", "Claimed", "Work", "Complete", "LoopDone", "RecordFailure", "Release"} {
		if int64(local[name]) != m.Entered[name] {
			t.Errorf("%s: entered %d times locally, %d in the model", name, local[name], m.Entered[name])
		}
	}
	// One lane at a time (L = 1) in both, its 8 loops working at once.
	if ex.Children != m.Children || ex.PeakInFlight["LaneStart"] != m.Sizing.Lanes || ex.PeakInFlight["Work"] != concurrency {
		t.Errorf("%d lanes locally, %d in the model; %d starting at once locally, %d in the model; %d workers at once locally, want %d",
			ex.Children, m.Children, ex.PeakInFlight["LaneStart"], m.Sizing.Lanes, ex.PeakInFlight["Work"], concurrency)
	}
	steps := 0
	for _, n := range local {
		steps += n
	}
	t.Logf("states a task: %.2f locally, %.2f in the model", float64(steps)/tasks, m.StepsPerTask())
}
