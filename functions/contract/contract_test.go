package contract_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
)

func loops(n int) []contract.LoopItem {
	out := make([]contract.LoopItem, n)
	for i := range out {
		out[i].Loop = i
	}
	return out
}

func TestGroups(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		loops int
		sizes []int
	}{
		{0, []int{}},
		{1, []int{1}},
		{40, []int{40}},
		{41, []int{20, 21}},
		{80, []int{40, 40}},
		{81, []int{27, 27, 27}},
		{100, []int{33, 33, 34}},
		{contract.MaxLoops, []int{40, 40, 40}},
		{contract.MaxLoops + 1, []int{30, 30, 30, 31}},
	} {
		in := loops(tc.loops)
		groups := contract.Groups(in)
		sizes := []int{}
		var joined []contract.LoopItem
		for _, g := range groups {
			sizes = append(sizes, len(g))
			joined = append(joined, g...)
		}
		if !reflect.DeepEqual(sizes, tc.sizes) {
			t.Errorf("Groups of %d loops: sizes %v, want %v", tc.loops, sizes, tc.sizes)
		}
		if tc.loops > 0 && !reflect.DeepEqual(joined, in) {
			t.Errorf("Groups of %d loops: %v, not the loops in order", tc.loops, joined)
		}
	}
}

// TestMaxLoopsIsWhatALaneRunsAtOnce holds MapLoops and GroupsPerLane to the definition's
// Loops and Groups Maps, and MaxTaskIDs to a lane's loops at once.
func TestMaxLoopsIsWhatALaneRunsAtOnce(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(root, "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		Type           string
		MaxConcurrency int
		ItemProcessor  struct{ States map[string]state }
	}
	var def struct{ States map[string]state }
	if err := json.Unmarshal(raw, &def); err != nil {
		t.Fatal(err)
	}
	groups := def.States["RunLanes"].ItemProcessor.States["Groups"]
	loops := groups.ItemProcessor.States["Loops"]
	if groups.Type != "Map" || loops.Type != "Map" || groups.MaxConcurrency != contract.GroupsPerLane || loops.MaxConcurrency != contract.MapLoops {
		t.Errorf("Groups runs %d at once and Loops %d; the contract says %d of %d", groups.MaxConcurrency, loops.MaxConcurrency,
			contract.GroupsPerLane, contract.MapLoops)
	}
	if contract.MapLoops > 40 || contract.MaxLoops != contract.GroupsPerLane*contract.MapLoops {
		t.Errorf("MaxLoops %d is not %d inline Maps of at most 40", contract.MaxLoops, contract.GroupsPerLane)
	}
	if contract.MaxTaskIDs > contract.MaxLoops {
		t.Errorf("a run of %d named tasks does not fit one lane's %d loops at once", contract.MaxTaskIDs, contract.MaxLoops)
	}
}

// A lane of 90 loops runs them as three inline Maps of 30, side by side.
func ExampleGroups() {
	for _, g := range contract.Groups(loops(90)) {
		fmt.Println(len(g), g[0].Loop, g[len(g)-1].Loop)
	}
	// Output:
	// 30 0 29
	// 30 30 59
	// 30 60 89
}

func TestLaneBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		budget, reserve, slot, lanes, want int
	}{
		{300, 150, 0, 4, 300},
		{300, 150, 1, 4, 263},
		{300, 150, 2, 4, 225},
		{300, 150, 3, 4, 188},
		{300, 150, 4, 4, 300}, // the second generation takes the whole budget
		{300, 150, 0, 1, 300},
		{300, 300, 1, 4, 300}, // no window to spread
		{300, 330, 1, 4, 300},
		{0, 150, 1, 4, 0}, // a Standard lane has no budget
	} {
		if got := contract.LaneBudget(tc.budget, tc.reserve, tc.slot, tc.lanes); got != tc.want {
			t.Errorf("LaneBudget(%d, %d, %d, %d) = %d, want %d", tc.budget, tc.reserve, tc.slot, tc.lanes, got, tc.want)
		}
	}
}

// The first lanes of a pass of 3 lanes, with a 2-minute worker timeout: their claiming
// windows (the budget less the timeout and LaneMargin) end 50 s apart.
func ExampleLaneBudget() {
	for slot := range 4 {
		fmt.Println(slot, contract.LaneBudget(contract.ExpressBudget, 120+contract.LaneMargin, slot, 3))
	}
	// Output:
	// 0 300
	// 1 250
	// 2 200
	// 3 300
}
