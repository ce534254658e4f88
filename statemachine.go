// Package dynamodbtracker holds what the module ships from its root directory to programs
// that have only the module, not a clone: the Step Functions definition that runs a job's
// tasks (statemachine.asl.json), embedded, so that the CDK construct (infra/construct) used
// from `go get` deploys the definition of the version it belongs to.
package dynamodbtracker

import (
	"bytes"
	_ "embed"
)

//go:embed statemachine.asl.json
var definition []byte

// Definition returns the state machine's definition, statemachine.asl.json as it is, with
// its ${Name} placeholders (docs/design.md lists them) for definition substitutions to fill.
// Each call returns a copy of its own.
func Definition() []byte { return bytes.Clone(definition) }
