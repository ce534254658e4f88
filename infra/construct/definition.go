package construct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// placeholder is a definition substitution: ${Name}. It never spans lines.
var placeholder = regexp.MustCompile(`\$\{([^}\n]*)\}`)

// checkDefinition reports whether asl is a state machine definition whose every ${Name}
// placeholder is one of names. CloudFormation would accept a broken definition text and only
// Step Functions would reject it at deploy time (or, for an unknown placeholder, leave it in
// place), so the construct checks both before synthesis.
func checkDefinition(asl []byte, names []string) error {
	// A placeholder stands for an ARN inside a string or for a number such as a
	// MaxConcurrency; a 0 in its place keeps the text valid JSON either way.
	text := placeholder.ReplaceAll(asl, []byte("0"))
	var def struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	if err := json.Unmarshal(text, &def); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			line := 1 + bytes.Count(text[:syntax.Offset], []byte("\n"))
			return fmt.Errorf("not valid JSON: line %d: %w", line, err)
		}
		return fmt.Errorf("not a state machine definition: %w", err)
	}
	if def.StartAt == "" || def.States[def.StartAt] == nil {
		return fmt.Errorf("not a state machine definition: StartAt %q names none of its States", def.StartAt)
	}
	unknown := map[string]bool{}
	for _, m := range placeholder.FindAllSubmatch(asl, -1) {
		if name := string(m[1]); !slices.Contains(names, name) {
			unknown["${"+name+"}"] = true
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("no substitution for %s (known: %s; give others in Props.Substitutions)",
			strings.Join(slices.Sorted(maps.Keys(unknown)), ", "), strings.Join(names, ", "))
	}
	return nil
}

// sortedKeys returns m's keys in order, so that what is built from a map is built the same
// way on every synthesis.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
