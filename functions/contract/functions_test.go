package contract_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
)

// root is the repository root, from this package's folder.
const root = "../.."

// TestRosterMatchesTheBuildAndTheDefinition checks that the functions the Makefile builds and
// the ARN placeholders statemachine.asl.json uses are exactly the roster's.
func TestRosterMatchesTheBuildAndTheDefinition(t *testing.T) {
	var names, placeholders []string
	for _, f := range contract.Functions() {
		names = append(names, f.Name)
		placeholders = append(placeholders, f.ArnPlaceholder)
	}
	slices.Sort(names)
	slices.Sort(placeholders)

	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^FUNCTIONS :?= (.*)$`).FindSubmatch(makefile)
	if line == nil {
		t.Fatal("the Makefile sets no FUNCTIONS")
	}
	var built []string
	if list := string(line[1]); strings.Contains(list, "wildcard functions/*/main.go") {
		mains, _ := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
		for _, m := range mains {
			built = append(built, filepath.Base(filepath.Dir(m)))
		}
	} else {
		built = strings.Fields(list)
	}
	slices.Sort(built)
	if !slices.Equal(built, names) {
		t.Errorf("the Makefile builds %v, the roster is %v", built, names)
	}

	asl, err := os.ReadFile(filepath.Join(root, "statemachine.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	for _, m := range regexp.MustCompile(`\$\{(\w+FunctionArn)\}`).FindAllSubmatch(asl, -1) {
		if name := string(m[1]); !slices.Contains(used, name) {
			used = append(used, name)
		}
	}
	slices.Sort(used)
	if !slices.Equal(used, placeholders) {
		t.Errorf("the definition uses %v, the roster has %v", used, placeholders)
	}
	if !strings.Contains(string(asl), "${"+contract.ChildExecutionTypePlaceholder+"}") {
		t.Errorf("the definition does not use ${%s}", contract.ChildExecutionTypePlaceholder)
	}
}
