package main

//lint:file-ignore SA1019 the CDK's Go bindings give a synthesized artifact's messages (cdk-nag's findings) only as cxapi.SynthesisMessage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) {
	// The kernel (Node.js) reads its environment when it starts: the CDK packages started
	// it at init; closing it before its first use makes the next call start one that sees
	// this, and no end-of-life banner for Node 20.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	jsii.Close()
	code := m.Run()
	jsii.Close()
	for _, dir := range outdirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// outdirs are the cloud assemblies the tests wrote.
var outdirs []string

type obj = map[string]any

// example is the example app's stack, synthesized with cdk-nag's AwsSolutions checks.
type example struct {
	outdir     string
	template   obj
	assert     assertions.Template
	errors     []string // cdk-nag's unsuppressed findings
	suppressed int      // cdk-nag's suppressed findings
}

// synthesize synthesizes the example on the existing table team-tasks into a temporary
// directory (TestMain removes it).
func synthesize() (*example, error) {
	outdir, err := os.MkdirTemp("", "cdk-app-")
	if err != nil {
		return nil, err
	}
	outdirs = append(outdirs, outdir)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	if _, err := NewStack(app, "Example", "team-tasks", filepath.Join("..", "python")); err != nil {
		return nil, err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true), LogIgnores: jsii.Bool(true), Reports: jsii.Bool(false)}), nil)
	artifact := app.Synth(nil).GetStackByName(jsii.String("Example"))
	text, err := os.ReadFile(*artifact.TemplateFullPath())
	if err != nil {
		return nil, err
	}
	e := &example{outdir: outdir, assert: assertions.Template_FromString(jsii.String(string(text)), nil)}
	if err := json.Unmarshal(text, &e.template); err != nil {
		return nil, err
	}
	for _, m := range *artifact.Messages() {
		switch m.Level {
		case cxapi.SynthesisMessageLevel_ERROR:
			e.errors = append(e.errors, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		case cxapi.SynthesisMessageLevel_INFO:
			e.suppressed++
		}
	}
	return e, nil
}

// resources returns the stack's resources of type typ by logical id.
func (e *example) resources(typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range e.template["Resources"].(obj) {
		if r.(obj)["Type"] == typ {
			out[id] = r.(obj)
		}
	}
	return out
}

func props(r obj) obj     { return r["Properties"].(obj) }
func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// check runs an assertions call, which panics on a mismatch, as an error of t.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assert()
}

var (
	once     sync.Once
	synthErr error
	synthed  *example
)

// synthesized returns the example's stack, synthesized once for every test.
func synthesized(t *testing.T) *example {
	t.Helper()
	once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				synthErr = fmt.Errorf("panic: %v", r)
			}
		}()
		synthed, synthErr = synthesize()
	})
	if synthErr != nil {
		t.Fatalf("synthesize: %v", synthErr)
	}
	return synthed
}

// worker returns the logical id of the Python worker, the one python3.12 function, and
// checks that the other four functions are the tracker's.
func (e *example) worker(t *testing.T) string {
	t.Helper()
	var workers []string
	runtimes := map[string]int{}
	for id, fn := range e.resources("AWS::Lambda::Function") {
		runtimes[props(fn)["Runtime"].(string)]++
		if props(fn)["Runtime"] == "python3.12" {
			workers = append(workers, id)
		}
	}
	if want := map[string]int{"provided.al2023": 4, "python3.12": 1}; toJSON(runtimes) != toJSON(want) || len(workers) != 1 {
		t.Fatalf("functions by runtime %v, want %v: the tracker's four and the worker", runtimes, want)
	}
	return workers[0]
}

func TestNoTableIsCreated(t *testing.T) {
	e := synthesized(t)
	check(t, "no table", func() { e.assert.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(0)) })
}

// TestTheWorkerIsThePythonFunction: the state machine runs the Python function, built from
// the handler's directory.
func TestTheWorkerIsThePythonFunction(t *testing.T) {
	e := synthesized(t)
	id := e.worker(t)
	worker := props(e.resources("AWS::Lambda::Function")[id])
	if worker["Handler"] != "handler.handler" || toJSON(worker["Architectures"]) != `["arm64"]` || worker["Timeout"] != 30.0 {
		t.Errorf("worker %s: handler %v, architectures %v, timeout %v", id, worker["Handler"], worker["Architectures"], worker["Timeout"])
	}
	var machine obj
	for _, sm := range e.resources("AWS::StepFunctions::StateMachine") {
		machine = props(sm)
	}
	if got, want := toJSON(machine["DefinitionSubstitutions"].(obj)["WorkerFunctionArn"]), toJSON(obj{"Fn::GetAtt": []any{id, "Arn"}}); got != want {
		t.Errorf("the state machine runs %s, want %s", got, want)
	}
	key := strings.TrimSuffix(worker["Code"].(obj)["S3Key"].(string), ".zip")
	if _, err := os.Stat(filepath.Join(e.outdir, "asset."+key, "handler.py")); err != nil {
		t.Errorf("the worker's asset has no handler.py: %v", err)
	}
}

// TestFunctionsKnowTheTable: every tracker function has the table's name and the worker's
// timeout in its environment.
func TestFunctionsKnowTheTable(t *testing.T) {
	e := synthesized(t)
	worker := e.worker(t)
	for id, fn := range e.resources("AWS::Lambda::Function") {
		if id == worker {
			continue
		}
		env := props(fn)["Environment"].(obj)["Variables"].(obj)
		if env["TRACKER_TABLE"] != "team-tasks" || env["TRACKER_WORKER_TIMEOUT_SECONDS"] != "30" {
			t.Errorf("%s: TRACKER_TABLE %v, TRACKER_WORKER_TIMEOUT_SECONDS %v", id, env["TRACKER_TABLE"], env["TRACKER_WORKER_TIMEOUT_SECONDS"])
		}
	}
}

// TestGrantsNameTheExistingTable: the functions' DynamoDB grants name the existing table and
// its indexes (the status index, and the failure index bulk actions list), and nothing else.
func TestGrantsNameTheExistingTable(t *testing.T) {
	e := synthesized(t)
	arn := func(suffix string) string {
		return toJSON(obj{"Fn::Join": []any{"", []any{"arn:", obj{"Ref": "AWS::Partition"}, ":dynamodb:", obj{"Ref": "AWS::Region"}, ":",
			obj{"Ref": "AWS::AccountId"}, ":table/team-tasks" + suffix}}})
	}
	var grants []string
	for _, p := range e.resources("AWS::IAM::Policy") {
		for _, st := range props(p)["PolicyDocument"].(obj)["Statement"].([]any) {
			st := st.(obj)
			for _, a := range list(st["Action"]) {
				if !strings.HasPrefix(a.(string), "dynamodb:") {
					continue
				}
				for _, r := range list(st["Resource"]) {
					grants = append(grants, a.(string)+" on "+toJSON(r))
				}
			}
		}
	}
	sort.Strings(grants)
	grants = slices.Compact(grants)
	table, index, failures := arn(""), arn("/index/"+tracker.IndexName), arn("/index/"+tracker.FailureIndexName)
	want := []string{"dynamodb:DescribeTable on " + table, "dynamodb:GetItem on " + table, "dynamodb:Query on " + failures, "dynamodb:Query on " + index, "dynamodb:UpdateItem on " + table}
	if !slices.Equal(grants, want) {
		t.Errorf("grants\n\t%s\nwant\n\t%s", strings.Join(grants, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	e := synthesized(t)
	for _, m := range e.errors {
		t.Errorf("cdk-nag: %s", m)
	}
	if e.suppressed == 0 {
		t.Errorf("cdk-nag reported nothing, not even a suppressed finding: did the checks run?")
	}
}
