package main

//lint:file-ignore SA1019 the CDK's Go bindings give a synthesized artifact's messages (cdk-nag's findings) only as cxapi.SynthesisMessage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/infra/construct"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The stacks the tests synthesize, once, in one app: the app's own stack as the CLI would make
// it with no options, and a development stack with every option set.
const (
	prodStack = DefaultStackName
	devStack  = "tracker-dev"
	// userWorkerArn is the dev stack's own worker, imported by ARN.
	userWorkerArn = "arn:aws:lambda:eu-west-1:123456789012:function:my-worker"
)

var definitionFile = filepath.Join("..", "statemachine.asl.json")

func TestMain(m *testing.M) {
	// jsii runs Node.js, which prints an end-of-life banner on every start on Node 20. The
	// kernel read the environment already, when the CDK packages registered their types at
	// init; closing it before its first use makes the next call start one that sees this.
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	jsii.Close()
	code := m.Run()
	jsii.Close()
	if assetDir != "" {
		os.RemoveAll(assetDir)
	}
	os.Exit(code)
}

// synthesized is one stack of the single synthesis.
type synthesized struct {
	template map[string]any
	// assert checks the template with the CDK's assertions package.
	assert   assertions.Template
	messages []string // annotations of level error, e.g. cdk-nag findings
	warnings []string
	infos    []string // with LogIgnores, one per suppressed finding
}

var (
	synthOnce sync.Once
	synthErr  error
	stacks    map[string]*synthesized
	assetDir  string
)

// stack returns the synthesized stack name, synthesizing the app on first use.
func stack(t *testing.T, name string) *synthesized {
	t.Helper()
	synthOnce.Do(func() { synthErr = synthesize() })
	if synthErr != nil {
		t.Fatalf("synthesize: %v", synthErr)
	}
	return stacks[name]
}

// synthesize builds both stacks with cdk-nag's AwsSolutions checks, synthesizes the app
// once, and keeps each stack's template and messages.
func synthesize() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if assetDir, err = newAssetDir(); err != nil {
		return err
	}
	outdir, err := os.MkdirTemp("", "cdk.out-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(outdir)

	app := NewApp(jsii.String(outdir))
	context := map[string]any{
		"tracker:asset-dir":  assetDir,
		"tracker:definition": definitionFile,
	}
	name, props, err := propsFromContext(func(k string) any { return context[k] })
	if err != nil {
		return err
	}
	if _, err := NewStack(app, name, props); err != nil {
		return err
	}
	dev := &StackProps{Tracker: construct.Props{
		AssetDir:       assetDir,
		DefinitionFile: definitionFile,
		Substitutions:  map[string]string{"MaxConcurrency": "5"},
		Table:          construct.TableOptions{Name: "tasks-dev", TTLAttribute: "expires_at"},
		Settings: contract.Settings{
			Codes:         tracker.StatusCodes{Todo: 10, InProgress: 20, Failed: 30, Succeeded: 40, Ignored: 50},
			MaxRetry:      5,
			LeaseDuration: 5 * time.Minute,
			LogLevel:      contract.LogDebug,
			// Two minutes of worker and two of retries fit in the 5-minute lease; STANDARD
			// lanes need not fit in Express's 5 minutes, but this would too.
			WorkerTimeout: 2 * time.Minute,
			LaneType:      contract.LaneStandard,
			Concurrency:   50,
			Backoff:       10 * time.Second,
		},
		Schedule:   construct.Schedule{JobIDs: []string{"nightly"}, Rate: time.Hour},
		Disposable: true,
	}}
	devScope := awscdk.NewStack(app, jsii.String(devStack), nil)
	dev.Tracker.Worker = awslambda.Function_FromFunctionArn(devScope, jsii.String("UserWorker"), jsii.String(userWorkerArn))
	if _, err := construct.New(devScope, "Tracker", &dev.Tracker); err != nil {
		return err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true), LogIgnores: jsii.Bool(true), Reports: jsii.Bool(false)}), nil)

	assembly := app.Synth(nil)
	stacks = map[string]*synthesized{}
	for _, name := range []string{prodStack, devStack} {
		artifact := assembly.GetStackByName(jsii.String(name))
		text, err := os.ReadFile(*artifact.TemplateFullPath())
		if err != nil {
			return err
		}
		s := &synthesized{assert: assertions.Template_FromString(jsii.String(string(text)), nil)}
		if err := json.Unmarshal(text, &s.template); err != nil {
			return err
		}
		for _, m := range *artifact.Messages() {
			line := fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data)
			switch m.Level {
			case cxapi.SynthesisMessageLevel_ERROR:
				s.messages = append(s.messages, line)
			case cxapi.SynthesisMessageLevel_WARNING:
				s.warnings = append(s.warnings, line)
			case cxapi.SynthesisMessageLevel_INFO:
				s.infos = append(s.infos, line)
			}
		}
		stacks[name] = s
	}
	return nil
}

// newAssetDir makes <dir>/<name>/bootstrap for every function: a small distinct file, since
// the template does not depend on the binary.
func newAssetDir() (string, error) {
	dir, err := os.MkdirTemp("", "infra-assets-")
	if err != nil {
		return "", err
	}
	for _, name := range []string{construct.Claim, construct.Complete, construct.Fail, construct.ListPending, construct.ExampleWorker} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("#!/bin/sh\n# "+name+"\n"), 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// check runs an assertions call, which panics on a mismatch (and would abort the test
// binary), and reports the mismatch as an error of t instead.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	if msg := recovered(assert); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}

func recovered(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

type obj = map[string]any

// resources returns the stack's resources of type typ by logical id.
func (s *synthesized) resources(typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range s.template["Resources"].(obj) {
		if r.(obj)["Type"] == typ {
			out[id] = r.(obj)
		}
	}
	return out
}

func (s *synthesized) resource(t *testing.T, id string) obj {
	t.Helper()
	r, ok := s.template["Resources"].(obj)[id].(obj)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

// output returns the value of output id.
func (s *synthesized) output(t *testing.T, id string) any {
	t.Helper()
	o, ok := s.template["Outputs"].(obj)[id].(obj)
	if !ok {
		t.Fatalf("no output %s", id)
	}
	return o["Value"]
}

// onlyResource returns the logical id of the stack's one resource of type typ.
func (s *synthesized) onlyResource(t *testing.T, typ string) string {
	t.Helper()
	rs := s.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	for id := range rs {
		return id
	}
	return ""
}

func ref(id string) obj           { return obj{"Ref": id} }
func getAtt(id, attr string) obj  { return obj{"Fn::GetAtt": []any{id, attr}} }
func props(r obj) obj             { return r["Properties"].(obj) }
func toJSON(v any) string         { b, _ := json.Marshal(v); return string(b) }
func sameJSON(a, b any) bool      { return toJSON(a) == toJSON(b) }
func fromJSON[T any](v any) (t T) { json.Unmarshal([]byte(toJSON(v)), &t); return t }

// functionIDs maps each function name to its logical id, found through the outputs.
func (s *synthesized) functionIDs(t *testing.T) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for name, out := range map[string]string{
		construct.Claim: OutputClaimFunctionName, construct.Complete: OutputCompleteFunctionName, construct.Fail: OutputFailFunctionName,
		construct.ListPending: OutputListPendingFunctionName, construct.ExampleWorker: OutputWorkerFunctionName,
	} {
		v, ok := s.output(t, out).(obj)
		if !ok {
			t.Fatalf("output %s is %v, want a Ref", out, s.output(t, out))
		}
		ids[name] = v["Ref"].(string)
	}
	return ids
}

// trackerFunctionIDs maps the name of each function the construct deployed to its logical
// id, found through the construct's ids: for a stack without outputs.
func (s *synthesized) trackerFunctionIDs(t *testing.T) map[string]string {
	t.Helper()
	names := map[string]string{"Claim": construct.Claim, "Complete": construct.Complete, "Fail": construct.Fail,
		"ListPending": construct.ListPending, "ExampleWorker": construct.ExampleWorker}
	id := regexp.MustCompile(`^Tracker([A-Za-z]+)[0-9A-F]{8}$`)
	ids := map[string]string{}
	for logical := range s.resources("AWS::Lambda::Function") {
		m := id.FindStringSubmatch(logical)
		if m == nil || names[m[1]] == "" {
			t.Fatalf("function %s is none of the tracker's", logical)
		}
		ids[names[m[1]]] = logical
	}
	return ids
}

func TestTableHasTheTrackerLayout(t *testing.T) {
	s := stack(t, prodStack)
	def := tracker.TableDefinition("")
	var attrs, keys []any
	for _, a := range def.AttributeDefinitions {
		attrs = append(attrs, obj{"AttributeName": *a.AttributeName, "AttributeType": string(a.AttributeType)})
	}
	for _, k := range def.KeySchema {
		keys = append(keys, obj{"AttributeName": *k.AttributeName, "KeyType": string(k.KeyType)})
	}
	gsi := def.GlobalSecondaryIndexes[0]
	var gsiKeys []any
	for _, k := range gsi.KeySchema {
		gsiKeys = append(gsiKeys, obj{"AttributeName": *k.AttributeName, "KeyType": string(k.KeyType)})
	}
	// The expected layout comes from tracker.TableDefinition; spelled out, it is the contract.
	if *gsi.IndexName != "status_and_task_id-index" || *gsi.KeySchema[0].AttributeName != "value" || *gsi.KeySchema[1].AttributeName != "key" || string(gsi.Projection.ProjectionType) != "INCLUDE" {
		t.Fatalf("tracker.TableDefinition's index is not the contract's: %+v", gsi)
	}
	check(t, "one table", func() { s.assert.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	check(t, "table layout", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj{
			"BillingMode":          "PAY_PER_REQUEST",
			"KeySchema":            assertions.Match_ArrayEquals(&keys),
			"AttributeDefinitions": assertions.Match_ArrayEquals(&attrs),
			"GlobalSecondaryIndexes": assertions.Match_ArrayEquals(&[]any{assertions.Match_ObjectEquals(&obj{
				"IndexName": tracker.IndexName,
				"KeySchema": assertions.Match_ArrayEquals(&gsiKeys),
				"Projection": assertions.Match_ObjectEquals(&obj{
					"ProjectionType":   "INCLUDE",
					"NonKeyAttributes": assertions.Match_ArrayEquals(toAny(tracker.IndexProjection())),
				}),
			}), assertions.Match_ObjectEquals(&obj{
				"IndexName": tracker.FailureIndexName,
				"KeySchema": assertions.Match_ArrayEquals(&[]any{
					obj{"AttributeName": "failure_part", "KeyType": "HASH"}, obj{"AttributeName": "failure_key", "KeyType": "RANGE"}}),
				"Projection": assertions.Match_ObjectEquals(&obj{
					"ProjectionType":   "INCLUDE",
					"NonKeyAttributes": assertions.Match_ArrayEquals(toAny(tracker.FailureIndexProjection())),
				}),
			})}),
			"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
			"SSESpecification":                 obj{"SSEEnabled": true},
			"TimeToLiveSpecification":          assertions.Match_Absent(),
			"TableName":                        assertions.Match_Absent(),
		})
	})
	check(t, "table retained", func() {
		s.assert.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
	})
}

func toAny(ss []string) *[]any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return &out
}

func TestDisposableTableHasNoProtection(t *testing.T) {
	s := stack(t, devStack)
	check(t, "dev table", func() {
		s.assert.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{
			"DeletionPolicy": "Delete",
			"Properties": obj{
				"TableName":                        "tasks-dev",
				"DeletionProtectionEnabled":        false,
				"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true},
				"TimeToLiveSpecification":          obj{"AttributeName": "expires_at", "Enabled": true},
			},
		})
	})
	check(t, "dev log groups", func() {
		s.assert.AllResources(jsii.String("AWS::Logs::LogGroup"), obj{"DeletionPolicy": "Delete"})
	})
}

// deployed is how each function must be deployed.
var deployed = map[string]struct {
	memory, timeout int
}{
	construct.Claim:         {256, 10},
	construct.Complete:      {256, 10},
	construct.Fail:          {256, 10},
	construct.ListPending:   {256, 60},
	construct.ExampleWorker: {128, 60},
}

func TestFunctions(t *testing.T) {
	s := stack(t, prodStack)
	table := s.onlyResource(t, "AWS::DynamoDB::Table")
	check(t, "five functions", func() { s.assert.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(5)) })
	for name, id := range s.functionIDs(t) {
		fn := props(s.resource(t, id))
		want := obj{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Handler":       "bootstrap",
			"MemorySize":    float64(deployed[name].memory),
			"Timeout":       float64(deployed[name].timeout),
			"TracingConfig": obj{"Mode": "Active"},
			"Environment": obj{"Variables": obj{
				"TRACKER_TABLE":                  ref(table),
				"TRACKER_STATUS_CODES":           "0,3,6,9,10",
				"TRACKER_MAX_RETRY":              "3",
				"TRACKER_LEASE_SECONDS":          "900",
				"LOG_LEVEL":                      "warn",
				"TRACKER_CONCURRENCY":            "200",
				"TRACKER_LANE_TYPE":              "EXPRESS",
				"TRACKER_WORKER_TIMEOUT_SECONDS": "60",
				"TRACKER_BACKOFF_SECONDS":        "5",
				"TRACKER_METRICS_NAMESPACE":      "dynamodb-tracker",
			}},
		}
		for k, v := range want {
			if !sameJSON(fn[k], v) {
				t.Errorf("%s: %s = %s, want %s", name, k, toJSON(fn[k]), toJSON(v))
			}
		}
		// Lambda's START and REPORT lines only at info or debug: the default level is warn.
		lc := fromJSON[struct {
			LogGroup       obj
			LogFormat      string
			SystemLogLevel string
		}](fn["LoggingConfig"])
		if lc.LogFormat != "JSON" || lc.SystemLogLevel != "WARN" {
			t.Errorf("%s: LoggingConfig %s, want JSON logs at system level WARN", name, toJSON(fn["LoggingConfig"]))
		}
		logs := lc.LogGroup
		if lg, ok := logs["Ref"].(string); !ok {
			t.Errorf("%s: no log group of its own: %s", name, toJSON(fn["LoggingConfig"]))
		} else if days := props(s.resource(t, lg))["RetentionInDays"]; days != float64(30) {
			t.Errorf("%s: log retention %v days, want 30", name, days)
		}
	}
}

func TestDevFunctionsCarryTheSettings(t *testing.T) {
	s := stack(t, devStack)
	check(t, "no example worker", func() { s.assert.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(4)) })
	check(t, "settings", func() {
		s.assert.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), obj{"Environment": obj{"Variables": obj{
			"TRACKER_STATUS_CODES":           "10,20,30,40,50",
			"TRACKER_MAX_RETRY":              "5",
			"TRACKER_LEASE_SECONDS":          "300",
			"LOG_LEVEL":                      "debug",
			"TRACKER_CONCURRENCY":            "50",
			"TRACKER_LANE_TYPE":              "STANDARD",
			"TRACKER_WORKER_TIMEOUT_SECONDS": "120",
			"TRACKER_BACKOFF_SECONDS":        "10",
		}}})
	})
	check(t, "Lambda's own lines at debug too", func() {
		s.assert.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), obj{"LoggingConfig": obj{"SystemLogLevel": "DEBUG"}})
	})
}

// grants returns "action on resource" for every statement of every policy attached to the
// role of function id, followed by " if " and the statement's condition when it has one,
// and fails on a managed policy or an inline role policy.
func (s *synthesized) grants(t *testing.T, role string) []string {
	t.Helper()
	r := props(s.resource(t, role))
	if r["ManagedPolicyArns"] != nil || r["Policies"] != nil {
		t.Errorf("role %s has managed or inline policies: %s", role, toJSON(r))
	}
	var out []string
	for _, p := range s.resources("AWS::IAM::Policy") {
		if !slices.ContainsFunc(props(p)["Roles"].([]any), func(r any) bool { return sameJSON(r, ref(role)) }) {
			continue
		}
		for _, st := range props(p)["PolicyDocument"].(obj)["Statement"].([]any) {
			st := st.(obj)
			if st["Effect"] != "Allow" {
				t.Errorf("role %s: unexpected statement %s", role, toJSON(st))
			}
			cond := ""
			if st["Condition"] != nil {
				cond = " if " + toJSON(st["Condition"])
			}
			for _, a := range list(st["Action"]) {
				for _, res := range list(st["Resource"]) {
					out = append(out, fmt.Sprintf("%v on %s%s", a, toJSON(res), cond))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// The conditions of statements on the job registry's items alone, without tenants: reads of
// {job}____ and of the legacy ____jobs____{job}, and writes of {job}____; neither on a task's
// key that ends with underscores.
const (
	registryReads  = ` if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["*____","____jobs____*"]},"ForAllValues:StringNotLike":{"dynamodb:LeadingKeys":["*_____"]}}`
	registryWrites = ` if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["*____"]},"ForAllValues:StringNotLike":{"dynamodb:LeadingKeys":["*_____"]}}`
)

// tableCalls are the DynamoDB grants of each tracker function, without tenants, on the
// table and the indexes whose ARNs (as JSON) are given.
func tableCalls(tableArn, indexArn, failureIndexArn string) map[string][]string {
	calls := map[string][]string{
		construct.Claim: {"dynamodb:DescribeTable on " + tableArn, "dynamodb:GetItem on " + tableArn + registryReads,
			"dynamodb:Query on " + indexArn, "dynamodb:Query on " + failureIndexArn, "dynamodb:UpdateItem on " + tableArn},
		construct.Complete: {"dynamodb:GetItem on " + tableArn + registryReads, "dynamodb:UpdateItem on " + tableArn},
		construct.Fail:     {"dynamodb:GetItem on " + tableArn + registryReads, "dynamodb:UpdateItem on " + tableArn},
		construct.ListPending: {"dynamodb:DescribeTable on " + tableArn, "dynamodb:GetItem on " + tableArn,
			"dynamodb:Query on " + indexArn, "dynamodb:UpdateItem on " + tableArn + registryWrites},
	}
	for _, c := range calls {
		sort.Strings(c)
	}
	return calls
}

func TestFunctionsMayMakeOnlyTheirOwnCalls(t *testing.T) {
	s := stack(t, prodStack)
	table := s.onlyResource(t, "AWS::DynamoDB::Table")
	tableArn := toJSON(getAtt(table, "Arn"))
	indexArn := toJSON(obj{"Fn::Join": []any{"", []any{getAtt(table, "Arn"), "/index/" + tracker.IndexName}}})
	failureIndexArn := toJSON(obj{"Fn::Join": []any{"", []any{getAtt(table, "Arn"), "/index/" + tracker.FailureIndexName}}})
	calls := tableCalls(tableArn, indexArn, failureIndexArn)
	calls[construct.ExampleWorker] = nil
	for name, id := range s.functionIDs(t) {
		fn := props(s.resource(t, id))
		role := fromJSON[struct {
			GetAtt []string `json:"Fn::GetAtt"`
		}](fn["Role"]).GetAtt[0]
		logs := fromJSON[struct{ LogGroup obj }](fn["LoggingConfig"]).LogGroup["Ref"].(string)
		want := append([]string{
			"logs:CreateLogStream on " + toJSON(getAtt(logs, "Arn")),
			"logs:PutLogEvents on " + toJSON(getAtt(logs, "Arn")),
			`xray:PutTelemetryRecords on "*"`,
			`xray:PutTraceSegments on "*"`,
		}, calls[name]...)
		sort.Strings(want)
		if got := s.grants(t, role); !reflect.DeepEqual(got, want) {
			t.Errorf("%s may:\n\t%s\nwant:\n\t%s", name, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	// No Scan, no wildcard, no table administration anywhere in the stack (the conditions'
	// key dynamodb:LeadingKeys aside).
	text := toJSON(s.template)
	for _, a := range regexp.MustCompile(`"dynamodb:[A-Za-z*]+"`).FindAllString(text, -1) {
		if !slices.Contains([]string{`"dynamodb:UpdateItem"`, `"dynamodb:Query"`, `"dynamodb:GetItem"`, `"dynamodb:DescribeTable"`, `"dynamodb:LeadingKeys"`}, a) {
			t.Errorf("the stack grants %s", a)
		}
	}
}

// substitute fills the definition's placeholders as Step Functions would, with a
// recognisable string for each CloudFormation value, and reports the names it filled.
func substitute(def string, subs obj) (string, []string) {
	var used []string
	out := regexp.MustCompile(`\$\{([^}]*)\}`).ReplaceAllStringFunc(def, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := subs[name]
		if !ok {
			return m
		}
		used = append(used, name)
		if s, ok := v.(string); ok {
			return s
		}
		return "resolved:" + strings.NewReplacer(`"`, "").Replace(toJSON(v))
	})
	return out, used
}

func TestStateMachine(t *testing.T) {
	s := stack(t, prodStack)
	asl, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	smID := s.onlyResource(t, "AWS::StepFunctions::StateMachine")
	sm := props(s.resource(t, smID))
	def, _ := sm["DefinitionString"].(string)
	if def != string(asl) {
		t.Errorf("DefinitionString is not statemachine.asl.json as it is (literal, not an asset)")
	}
	subs, _ := sm["DefinitionSubstitutions"].(obj)
	fns := s.functionIDs(t)
	wantArns := obj{
		"ListPendingFunctionArn": getAtt(fns[construct.ListPending], "Arn"),
		"ClaimFunctionArn":       getAtt(fns[construct.Claim], "Arn"),
		"CompleteFunctionArn":    getAtt(fns[construct.Complete], "Arn"),
		"FailFunctionArn":        getAtt(fns[construct.Fail], "Arn"),
		"WorkerFunctionArn":      getAtt(fns[construct.ExampleWorker], "Arn"),
	}
	wantSubs := obj{"ChildExecutionType": "EXPRESS"}
	for k, v := range wantArns {
		wantSubs[k] = v
	}
	if !sameJSON(subs, wantSubs) {
		t.Errorf("DefinitionSubstitutions = %s\nwant %s", toJSON(subs), toJSON(wantSubs))
	}
	resolved, used := substitute(def, subs)
	if left := regexp.MustCompile(`\$\{[^}]*\}`).FindAllString(resolved, -1); len(left) > 0 {
		t.Errorf("placeholders left unresolved: %v", left)
	}
	if !json.Valid([]byte(resolved)) {
		t.Errorf("the resolved definition is not valid JSON")
	}
	// ${ChildExecutionType} is not required: the definition gets it with its Distributed Map.
	for name := range wantArns {
		if !slices.Contains(used, name) {
			t.Errorf("the definition never uses ${%s}", name)
		}
	}
	// The log group of its own (not a function's) takes the logs of the parent and, under
	// the same logging configuration, of its Express children.
	var logs string
	for id := range s.resources("AWS::Logs::LogGroup") {
		if strings.HasPrefix(id, "TrackerStateMachineLogs") {
			logs = id
		}
	}
	check(t, "a standard state machine, its logs and tracing", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), obj{
			"StateMachineType": "STANDARD",
			"LoggingConfiguration": assertions.Match_ObjectEquals(&obj{
				"Level":                "ERROR",
				"IncludeExecutionData": false,
				"Destinations":         assertions.Match_ArrayEquals(&[]any{obj{"CloudWatchLogsLogGroup": obj{"LogGroupArn": getAtt(logs, "Arn")}}}),
			}),
			"TracingConfiguration": obj{"Enabled": true},
		})
	})
}

// statesArn is the ARN of a Step Functions resource of the stack's account and region, as
// the template spells it.
func statesArn(resource string) obj {
	return obj{"Fn::Join": []any{"", []any{
		"arn:", ref("AWS::Partition"), ":states:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":" + resource,
	}}}
}

func TestStateMachineMayRunOnlyItsFunctionsAndItself(t *testing.T) {
	for _, c := range []struct {
		stack, name string
		worker      any // the worker's ARN as the template gives it; nil for the example worker
	}{
		{prodStack, "dynamodb-tracker-Tracker-", nil},
		{devStack, "tracker-dev-Tracker-", userWorkerArn},
	} {
		t.Run(c.stack, func(t *testing.T) {
			s := stack(t, c.stack)
			sm := props(s.resource(t, s.onlyResource(t, "AWS::StepFunctions::StateMachine")))
			// A name of its own, from the construct's path, which the policy can name without
			// referring to the state machine (that would be a circular dependency).
			name, _ := sm["StateMachineName"].(string)
			if !regexp.MustCompile("^" + c.name + "[0-9A-F]{8}$").MatchString(name) {
				t.Fatalf("StateMachineName %q, want %s and a hash of the construct's path", name, c.name)
			}
			fns := s.trackerFunctionIDs(t)
			var want []string
			for _, fn := range []string{construct.ListPending, construct.Claim, construct.Complete, construct.Fail, construct.ExampleWorker} {
				arn := any(getAtt(fns[fn], "Arn"))
				if fn == construct.ExampleWorker && c.worker != nil {
					arn = c.worker
				}
				want = append(want, "lambda:InvokeFunction on "+toJSON(arn))
			}
			want = append(want,
				// The Distributed Map's children, continue-as-new and a sweep's executions.
				"states:StartExecution on "+toJSON(statesArn("stateMachine:"+name)),
				// The Distributed Map watches and stops its children.
				"states:DescribeExecution on "+toJSON(statesArn("execution:"+name+":*")),
				"states:StopExecution on "+toJSON(statesArn("execution:"+name+":*")),
				// An operator may redrive a failed execution (the role runs it).
				"states:RedriveExecution on "+toJSON(statesArn("execution:"+name+":*")),
			)
			// Log delivery and X-Ray, which have no resource-level permissions.
			for _, a := range []string{"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
				"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
				"xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"} {
				want = append(want, a+` on "*"`)
			}
			sort.Strings(want)
			role := fromJSON[struct {
				GetAtt []string `json:"Fn::GetAtt"`
			}](sm["RoleArn"]).GetAtt[0]
			if got := s.grants(t, role); !reflect.DeepEqual(got, want) {
				t.Errorf("the state machine may:\n\t%s\nwant exactly:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
		})
	}
}

func TestDevStateMachineRunsTheUsersWorker(t *testing.T) {
	s := stack(t, devStack)
	sm := props(s.resource(t, s.onlyResource(t, "AWS::StepFunctions::StateMachine")))
	subs := sm["DefinitionSubstitutions"].(obj)
	if subs["WorkerFunctionArn"] != userWorkerArn || subs["MaxConcurrency"] != "5" || subs["ChildExecutionType"] != "STANDARD" {
		t.Errorf("DefinitionSubstitutions = %s, want the user's worker, MaxConcurrency 5 and STANDARD children", toJSON(subs))
	}
}

func TestSweepSchedule(t *testing.T) {
	for _, c := range []struct {
		stack, rate string
		input       obj
	}{
		// With no jobs configured, a sweep covers every registered job with pending tasks.
		{prodStack, "rate(15 minutes)", obj{"all_jobs": true}},
		{devStack, "rate(1 hour)", obj{"job_ids": []any{"nightly"}}},
	} {
		s := stack(t, c.stack)
		rule := props(s.resource(t, s.onlyResource(t, "AWS::Events::Rule")))
		sm := s.onlyResource(t, "AWS::StepFunctions::StateMachine")
		if rule["ScheduleExpression"] != c.rate || rule["State"] != "ENABLED" {
			t.Errorf("%s: schedule %v (%v), want %s", c.stack, rule["ScheduleExpression"], rule["State"], c.rate)
		}
		targets := rule["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("%s: %d targets, want 1", c.stack, len(targets))
		}
		target := targets[0].(obj)
		var input any
		if err := json.Unmarshal([]byte(target["Input"].(string)), &input); err != nil || !sameJSON(input, c.input) {
			t.Errorf("%s: input %v, want %s", c.stack, target["Input"], toJSON(c.input))
		}
		if !sameJSON(target["Arn"], ref(sm)) {
			t.Errorf("%s: target %s, want the state machine", c.stack, toJSON(target["Arn"]))
		}
		role := fromJSON[struct {
			GetAtt []string `json:"Fn::GetAtt"`
		}](target["RoleArn"]).GetAtt[0]
		if got, want := s.grants(t, role), []string{"states:StartExecution on " + toJSON(ref(sm))}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the schedule may %v, want %v", c.stack, got, want)
		}
		// EventBridge may assume the role only for this rule, of this account.
		name, _ := rule["Name"].(string)
		if !regexp.MustCompile(`^` + c.stack + `-Tracker-[0-9A-F]{8}$`).MatchString(name) {
			t.Errorf("%s: rule name %q, want one of its own from the construct's path", c.stack, name)
		}
		ruleArn := obj{"Fn::Join": []any{"", []any{
			"arn:", ref("AWS::Partition"), ":events:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":rule/" + name,
		}}}
		trust := obj{"Version": "2012-10-17", "Statement": []any{obj{
			"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": obj{"Service": "events.amazonaws.com"},
			"Condition": obj{"StringEquals": obj{"aws:SourceArn": ruleArn, "aws:SourceAccount": ref("AWS::AccountId")}},
		}}}
		if got := props(s.resource(t, role))["AssumeRolePolicyDocument"]; !sameJSON(got, trust) {
			t.Errorf("%s: trust policy\n\t%s\nwant\n\t%s", c.stack, toJSON(got), toJSON(trust))
		}
		// What EventBridge could not deliver after its retries waits in an encrypted queue.
		queue := s.onlyResource(t, "AWS::SQS::Queue")
		if got := target["DeadLetterConfig"]; !sameJSON(got, obj{"Arn": getAtt(queue, "Arn")}) {
			t.Errorf("%s: dead-letter config %s, want the queue %s", c.stack, toJSON(got), queue)
		}
		check(t, "an encrypted queue that keeps 14 days", func() {
			s.assert.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 14 * 24 * 3600})
		})
		check(t, "only the rule may send to it, and only over TLS", func() {
			s.assert.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), obj{"PolicyDocument": obj{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&obj{"Effect": "Deny", "Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}}}),
				assertions.Match_ObjectLike(&obj{"Effect": "Allow", "Action": "sqs:SendMessage", "Principal": obj{"Service": "events.amazonaws.com"},
					"Condition": obj{"ArnEquals": obj{"aws:SourceArn": getAtt(s.onlyResource(t, "AWS::Events::Rule"), "Arn")}}}),
			})}})
		})
	}
}

func TestSweepCanBeDisabled(t *testing.T) {
	scope := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("NoSweep"), nil)
	tr, err := construct.New(scope, "Tracker", &construct.Props{
		AssetDir: stackAssets(t), DefinitionFile: definitionFile, Schedule: construct.Schedule{Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Sweep != nil {
		t.Errorf("Tracker.Sweep is set")
	}
	check(t, "no schedule", func() {
		assertions.Template_FromStack(scope, nil).ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(0))
	})
}

func TestExampleWorkerHasTheWorkerTimeout(t *testing.T) {
	scope := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("SlowWorker"), nil)
	tr, err := construct.New(scope, "Tracker", &construct.Props{
		AssetDir: stackAssets(t), DefinitionFile: definitionFile, Settings: contract.Settings{WorkerTimeout: 90 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	template := assertions.Template_FromStack(scope, nil)
	worker := *awscdk.Stack_Of(scope).GetLogicalId(tr.Worker.Node().DefaultChild().(awscdk.CfnElement))
	fn := fromJSON[obj](template.ToJSON())["Resources"].(obj)[worker].(obj)
	if got := props(fn)["Timeout"]; got != float64(90) {
		t.Errorf("the example worker's timeout is %v, want 90", got)
	}
	check(t, "every function knows it", func() {
		template.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), obj{"Environment": obj{"Variables": obj{
			"TRACKER_WORKER_TIMEOUT_SECONDS": "90",
		}}})
	})
}

func TestOutputs(t *testing.T) {
	s := stack(t, prodStack)
	outputs := s.template["Outputs"].(obj)
	var names []string
	for k := range outputs {
		names = append(names, k)
	}
	sort.Strings(names)
	want := []string{OutputClaimFunctionName, OutputCompleteFunctionName, OutputFailFunctionName, OutputListPendingFunctionName,
		OutputStateMachineArn, OutputTableName, OutputWorkerFunctionName}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("outputs %v, want %v", names, want)
	}
	check(t, "table name", func() {
		s.assert.HasOutput(jsii.String(OutputTableName), obj{"Value": ref(s.onlyResource(t, "AWS::DynamoDB::Table"))})
	})
	check(t, "state machine", func() {
		s.assert.HasOutput(jsii.String(OutputStateMachineArn), obj{"Value": ref(s.onlyResource(t, "AWS::StepFunctions::StateMachine"))})
	})
	functions := s.resources("AWS::Lambda::Function")
	seen := map[string]bool{}
	for name, id := range s.functionIDs(t) {
		if functions[id] == nil || seen[id] {
			t.Errorf("output for %s names %s, not its own function", name, id)
		}
		seen[id] = true
	}
	dev := stack(t, devStack)
	if dev.template["Outputs"] != nil {
		t.Errorf("the construct alone made outputs: %v", dev.template["Outputs"])
	}
}

func TestNoUnsuppressedNagFindings(t *testing.T) {
	for _, name := range []string{prodStack, devStack} {
		s := stack(t, name)
		for _, m := range s.messages {
			t.Errorf("%s: %s", name, m)
		}
		for _, m := range s.warnings {
			t.Logf("%s: warning: %s", name, m)
		}
		// With LogIgnores, each suppressed finding is an info message: proof that the checks ran.
		if len(s.infos) == 0 {
			t.Errorf("%s: cdk-nag reported nothing, not even a suppressed finding: did the checks run?", name)
		}
		for _, m := range s.infos {
			t.Logf("%s: %s", name, m)
		}
		// Every suppression says why.
		for id, r := range s.template["Resources"].(obj) {
			meta, _ := r.(obj)["Metadata"].(obj)
			nag, _ := meta["cdk_nag"].(obj)
			for _, sup := range fromJSON[[]struct{ ID, Reason string }](nag["rules_to_suppress"]) {
				if !strings.HasPrefix(sup.ID, "AwsSolutions-") || len(strings.Fields(sup.Reason)) < 5 {
					t.Errorf("%s %s: suppression %q without a reason: %q", name, id, sup.ID, sup.Reason)
				}
			}
		}
	}
}

func TestConstructRejectsBadProps(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withAssets := func(p construct.Props) construct.Props {
		p.AssetDir = stackAssets(t)
		return p
	}
	valid := `{"StartAt": "Claim", "States": {"Claim": {"Type": "Task", "Resource": "${ClaimFunctionArn}", "End": true}}}`
	ok := write("ok.json", valid)
	for _, c := range []struct {
		name       string
		props      construct.Props
		userWorker bool   // deploy with a user's worker imported by ARN
		want       string // in the error; "" for none
	}{
		{"invalid JSON is caught", withAssets(construct.Props{
			DefinitionFile: write("comma.json", "{\n  \"StartAt\": \"A\",\n  \"States\": {\"A\": {\"Type\": \"Pass\", \"End\": true},}\n}")}),
			false, "not valid JSON: line 3"},
		{"an unknown placeholder is caught", withAssets(construct.Props{
			DefinitionFile: write("unknown.json", strings.Replace(valid, "${ClaimFunctionArn}", "${ClaimFunctionArn}${X}", 1))}),
			false, "no substitution for ${X}"},
		{"a definition without its start state is caught", withAssets(construct.Props{
			DefinitionFile: write("nostart.json", `{"StartAt": "Nowhere", "States": {}}`)}),
			false, `StartAt "Nowhere"`},
		{"a numeric placeholder with a substitution is fine", withAssets(construct.Props{
			DefinitionFile: write("number.json", strings.Replace(valid, `"End": true`, `"End": true, "TimeoutSeconds": ${Timeout}`, 1)),
			Substitutions:  map[string]string{"Timeout": "30"}}),
			false, ""},
		{"a missing definition is caught", withAssets(construct.Props{DefinitionFile: filepath.Join(dir, "none.json")}), false, "none.json"},
		{"missing binaries are caught", construct.Props{AssetDir: dir, DefinitionFile: write("ok.json", valid)}, false, "make build"},
		{"a lease shorter than the worker's timeout is caught", withAssets(construct.Props{
			DefinitionFile: write("ok.json", valid), Settings: contract.Settings{LeaseDuration: 30 * time.Second}}),
			false, "outlive its lease"},
		{"a function ARN cannot be overridden", withAssets(construct.Props{
			DefinitionFile: write("ok.json", valid), Substitutions: map[string]string{"ClaimFunctionArn": "x"}}),
			false, "must not set ClaimFunctionArn"},
		{"bad settings are caught", withAssets(construct.Props{DefinitionFile: write("ok.json", valid),
			Settings: contract.Settings{LogLevel: "loud", Codes: tracker.StatusCodes{Todo: 1, Ignored: 1}},
			Schedule: construct.Schedule{JobIDs: []string{"a____b"}, Rate: 90 * time.Second}}),
			false, "TRACKER_STATUS_CODES"},
		{"a definition with the child execution type placeholder is fine", withAssets(construct.Props{
			DefinitionFile: write("distributed.json", `{"StartAt": "Page", "States": {"Page": {"Type": "Map", "ItemProcessor": {
				"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "${ChildExecutionType}"},
				"StartAt": "Claim", "States": {"Claim": {"Type": "Task", "Resource": "${ClaimFunctionArn}", "End": true}}}, "End": true}}}`)}),
			false, ""},
		{"the child execution type cannot be overridden", withAssets(construct.Props{
			DefinitionFile: ok, Substitutions: map[string]string{"ChildExecutionType": "STANDARD"}}),
			false, "must not set ChildExecutionType"},
		{"an unknown child execution type is refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{LaneType: "express"}}),
			false, `TRACKER_LANE_TYPE="express" is not EXPRESS or STANDARD`},
		{"STANDARD children are fine", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{LaneType: contract.LaneStandard}}),
			false, ""},
		{"more tasks at once than 10,000 lanes of 120 loops are refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{Concurrency: 1200001}}),
			false, `TRACKER_CONCURRENCY="1200001" is not between 1 and 1200000`},
		{"a negative concurrency is refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{Concurrency: -1}}),
			false, `TRACKER_CONCURRENCY="-1"`},
		{"the largest concurrency is fine", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{Concurrency: 1200000}}),
			false, ""},
		{"an unknown log level of the state machine is refused", withAssets(construct.Props{
			DefinitionFile: ok, StateMachineLogs: "SOME"}),
			false, `StateMachineLogs "SOME" is not ALL, ERROR, FATAL or OFF`},
		{"a backoff of part of a second is refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{Backoff: 1500 * time.Millisecond}}),
			false, `TRACKER_BACKOFF_SECONDS="1.5s" is not a whole number of seconds`},
		{"a backoff beyond its cap is refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{Backoff: 6 * time.Minute}}),
			false, `TRACKER_BACKOFF_SECONDS="360" must be between 0 (the default) and 5m0s`},
		{"a user's worker needs its timeout", withAssets(construct.Props{DefinitionFile: ok}),
			true, "Settings.WorkerTimeout is required with Worker"},
		{"a user's worker with its timeout is fine", withAssets(construct.Props{DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 3 * time.Minute}}),
			true, ""},
		{"a worker timeout beyond Lambda's 15 minutes is refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 16 * time.Minute, LaneType: contract.LaneStandard, LeaseDuration: time.Hour}}),
			true, `TRACKER_WORKER_TIMEOUT_SECONDS="960" is not between 1 and 900 (Lambda's longest timeout)`},
		{"a lease that does not cover the worker and its retries is refused", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 3 * time.Minute, LeaseDuration: 5 * time.Minute}}),
			true, `TRACKER_WORKER_TIMEOUT_SECONDS="180" plus the state machine's 120 s of step retries is not shorter than TRACKER_LEASE_SECONDS="300"`},
		{"a lease just longer than the worker and its retries is fine", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 3 * time.Minute, LeaseDuration: 5*time.Minute + time.Second}}),
			true, ""},
		{"the example worker's timeout is checked against the lease", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 10 * time.Minute, LaneType: contract.LaneStandard, LeaseDuration: 11 * time.Minute}}),
			false, "outlive its lease"},
		{"EXPRESS lanes refuse a worker whose timeout and the lane margin outlast their 5 minutes", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 4*time.Minute + 21*time.Second}}),
			true, "set TRACKER_LANE_TYPE to STANDARD"},
		{"EXPRESS lanes take a worker whose timeout and margin just fit", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 4*time.Minute + 20*time.Second}}),
			true, ""},
		{"a negative reserved concurrency is refused", withAssets(construct.Props{
			DefinitionFile: ok, ReservedConcurrency: construct.ReservedConcurrency{ListPending: -1}}),
			false, "ReservedConcurrency {Steps:0 ListPending:-1} is negative"},
		{"an empty tenant prefix is refused", withAssets(construct.Props{DefinitionFile: ok, TenantPrefixes: []string{""}, Schedule: construct.Schedule{Disabled: true}}),
			false, `TenantPrefixes: ""`},
		{"a tenant prefix with a wildcard is refused", withAssets(construct.Props{DefinitionFile: ok, TenantPrefixes: []string{"team-*"}, Schedule: construct.Schedule{Disabled: true}}),
			false, `TenantPrefixes: "team-*"`},
		{"a swept job outside the tenants is refused", withAssets(construct.Props{DefinitionFile: ok, TenantPrefixes: []string{"team-a-"},
			Schedule: construct.Schedule{JobIDs: []string{"team-a-nightly", "team-b-nightly"}}}),
			false, `"team-b-nightly" starts with none of TenantPrefixes`},
		{"tenants with a sweep of every job are refused", withAssets(construct.Props{DefinitionFile: ok, TenantPrefixes: []string{"team-a-"}}),
			false, "TenantPrefixes: a sweep of every job lists the whole job registry"},
		{"tenants without sweeps are fine", withAssets(construct.Props{DefinitionFile: ok, TenantPrefixes: []string{"team-a-"},
			Schedule: construct.Schedule{Disabled: true}}),
			false, ""},
		{"a table of the seed's index is refused", withAssets(construct.Props{
			DefinitionFile: ok, Table: construct.TableOptions{Existing: "tasks", SeedIndex: true}}),
			false, "run `trackerctl upgrade-table` on the table first"},
		{"an existing table takes no new table's options", withAssets(construct.Props{
			DefinitionFile: ok, Table: construct.TableOptions{Existing: "tasks", TTLAttribute: "expires_at"}}),
			false, "with Table.Existing they must be empty"},
		{"an ARN of something else than a table is refused", withAssets(construct.Props{
			DefinitionFile: ok, Table: construct.TableOptions{Existing: "arn:aws:dynamodb:eu-west-1:123456789012:table/tasks/index/x"}}),
			false, "is not the ARN of a DynamoDB table"},
		{"STANDARD children take a long worker", withAssets(construct.Props{
			DefinitionFile: ok, Settings: contract.Settings{WorkerTimeout: 10 * time.Minute, LaneType: contract.LaneStandard}}),
			true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := awscdk.NewApp(nil)
			scope := awscdk.NewStack(app, jsii.String("Check"), nil)
			if c.userWorker {
				// In a stack of its own, so that scope stays empty when New refuses.
				workers := awscdk.NewStack(app, jsii.String("Workers"), nil)
				c.props.Worker = awslambda.Function_FromFunctionArn(workers, jsii.String("UserWorker"), jsii.String(userWorkerArn))
			}
			var err error
			if msg := recovered(func() { _, err = construct.New(scope, "Tracker", &c.props) }); msg != "" {
				t.Fatalf("New panicked: %s", msg)
			}
			switch {
			case c.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("New: %v, want an error with %q", err, c.want)
			case c.want != "" && len(*scope.Node().Children()) != 0:
				t.Errorf("New added to the scope before it failed")
			}
		})
	}
}

// stackAssets returns the test binaries' asset directory.
func stackAssets(t *testing.T) string {
	t.Helper()
	stack(t, prodStack)
	return assetDir
}

func TestPropsFromContext(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		name, p, err := propsFromContext(func(string) any { return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := construct.Props{} // the construct builds the functions, with its own definition
		if name != DefaultStackName || !reflect.DeepEqual(p.Tracker, want) {
			t.Errorf("got %s %+v, want %s %+v", name, p.Tracker, DefaultStackName, want)
		}
	})
	t.Run("every option, as the CLI and cdk.json give them", func(t *testing.T) {
		ctx := map[string]any{
			"tracker:stack-name": "tracker-test", "tracker:dev": "true", "tracker:table-name": "tasks",
			"tracker:ttl-attribute": "expires_at", "tracker:sweep-jobs": []any{"a", "b"}, "tracker:sweep-minutes": float64(5),
			"tracker:status-codes": "1,2,3,4,5", "tracker:max-retry": "4", "tracker:lease-seconds": "600",
			"tracker:log-level": "info", "tracker:asset-dir": "out", "tracker:definition": "sm.json",
			"tracker:metrics": "true", "tracker:metrics-namespace": "team-a",
			"tracker:lane-type": "STANDARD", "tracker:state-machine-logs": "ALL",
			"tracker:concurrency": "40", "tracker:backoff-seconds": "15", "tracker:worker-timeout-seconds": float64(180),
			"tracker:existing-table": "team-tasks", "tracker:seed-index": true, "tracker:alarms": "false",
			"tracker:alarm-topic": "arn:aws:sns:eu-west-1:123456789012:alarms", "tracker:reserved-concurrency": "50, 2",
			"tracker:tenant-prefixes": []any{"team-a-", "shared-"}, "tracker:permanent-errors": "NoText,BadData",
		}
		name, p, err := propsFromContext(func(k string) any { return ctx[k] })
		if err != nil {
			t.Fatal(err)
		}
		want := construct.Props{
			AssetDir: "out", DefinitionFile: "sm.json", Disposable: true,
			Table: construct.TableOptions{Name: "tasks", TTLAttribute: "expires_at", Existing: "team-tasks", SeedIndex: true},
			Settings: contract.Settings{Codes: tracker.StatusCodes{Todo: 1, InProgress: 2, Failed: 3, Succeeded: 4, Ignored: 5}, MaxRetry: 4,
				LeaseDuration: 10 * time.Minute, LogLevel: contract.LogInfo, WorkerTimeout: 3 * time.Minute, LaneType: contract.LaneStandard,
				Concurrency: 40, Backoff: 15 * time.Second, Metrics: true, MetricsNamespace: "team-a", PermanentErrors: "NoText,BadData"},
			Schedule:            construct.Schedule{JobIDs: []string{"a", "b"}, Rate: 5 * time.Minute},
			StateMachineLogs:    awsstepfunctions.LogLevel_ALL,
			Alarms:              construct.Alarms{Disabled: true},
			ReservedConcurrency: construct.ReservedConcurrency{Steps: 50, ListPending: 2},
			TenantPrefixes:      []string{"team-a-", "shared-"},
		}
		if name != "tracker-test" || !reflect.DeepEqual(p.Tracker, want) {
			t.Errorf("got %s %+v\nwant tracker-test %+v", name, p.Tracker, want)
		}
		if p.AlarmTopicArn != "arn:aws:sns:eu-west-1:123456789012:alarms" {
			t.Errorf("AlarmTopicArn %q", p.AlarmTopicArn)
		}
		// Every tracker setting the context can give reaches the functions as given: a new
		// setting of the contract must be read here and passed on, or this fails.
		env := p.Tracker.FunctionSettings("tasks").Env()
		for _, name := range contract.EnvNames() {
			if name == contract.EnvTable {
				continue
			}
			v, ok := ctx[settingKey(name)]
			if !ok {
				t.Errorf("the test gives no %s (setting %s)", settingKey(name), name)
				continue
			}
			if got := env[name]; got != fmt.Sprint(v) {
				t.Errorf("%s=%v reaches the functions as %s=%q", settingKey(name), v, name, got)
			}
		}
	})
	t.Run("one reserved concurrency is the steps'", func(t *testing.T) {
		ctx := map[string]any{"tracker:reserved-concurrency": float64(30)}
		_, p, err := propsFromContext(func(k string) any { return ctx[k] })
		if err != nil {
			t.Fatal(err)
		}
		if want := (construct.ReservedConcurrency{Steps: 30}); p.Tracker.ReservedConcurrency != want {
			t.Errorf("ReservedConcurrency %+v, want %+v", p.Tracker.ReservedConcurrency, want)
		}
	})
	t.Run("bad values are errors", func(t *testing.T) {
		ctx := map[string]any{"tracker:dev": "maybe", "tracker:max-retry": "three", "tracker:status-codes": "0,1",
			"tracker:lane-type": "fast", "tracker:concurrency": "1.5", "tracker:backoff-seconds": "5s",
			"tracker:worker-timeout-seconds": "1m", "tracker:seed-index": "yes please", "tracker:alarms": "off",
			"tracker:reserved-concurrency": "1,2,3"}
		_, _, err := propsFromContext(func(k string) any { return ctx[k] })
		for _, key := range []string{"tracker:dev", "tracker:max-retry", "tracker:status-codes",
			"tracker:lane-type", "tracker:concurrency", "tracker:backoff-seconds", "tracker:worker-timeout-seconds",
			"tracker:seed-index", "tracker:alarms", "tracker:reserved-concurrency"} {
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("error %v does not name %s", err, key)
			}
		}
	})
}

// synth adds a tracker with props to a stack of its own, checked by cdk-nag, and returns it
// synthesized; it fails t on any unsuppressed cdk-nag finding.
func synth(t *testing.T, props construct.Props, setup ...func(awscdk.Stack, *construct.Props)) (*construct.Tracker, *synthesized) {
	t.Helper()
	app := awscdk.NewApp(nil)
	scope := awscdk.NewStack(app, jsii.String("Check"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")},
	})
	for _, f := range setup {
		f(scope, &props)
	}
	props.AssetDir, props.DefinitionFile = stackAssets(t), definitionFile
	tr, err := construct.New(scope, "Tracker", &props)
	if err != nil {
		t.Fatal(err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	template := assertions.Template_FromStack(scope, nil)
	findings := assertions.Annotations_FromStack(scope).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, f := range *findings {
		t.Errorf("cdk-nag: %s: %v", *f.Id, f.Entry.Data)
	}
	return tr, &synthesized{template: fromJSON[obj](template.ToJSON()), assert: template}
}

// roleOf returns the logical id of the role of function id.
func (s *synthesized) roleOf(t *testing.T, fn string) string {
	t.Helper()
	return fromJSON[struct {
		GetAtt []string `json:"Fn::GetAtt"`
	}](props(s.resource(t, fn))["Role"]).GetAtt[0]
}

// tableGrants returns the DynamoDB grants of each function the construct deployed.
func (s *synthesized) tableGrants(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, id := range s.trackerFunctionIDs(t) {
		for _, g := range s.grants(t, s.roleOf(t, id)) {
			if strings.HasPrefix(g, "dynamodb:") {
				out[name] = append(out[name], g)
			}
		}
	}
	return out
}

func TestExistingTable(t *testing.T) {
	const arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/team-tasks"
	byName := func(suffix string) obj {
		return obj{"Fn::Join": []any{"", []any{"arn:", ref("AWS::Partition"), ":dynamodb:eu-west-1:123456789012:table/team-tasks" + suffix}}}
	}
	index, failures := "/index/"+tracker.IndexName, "/index/"+tracker.FailureIndexName
	for _, c := range []struct {
		name, existing        string
		table, index, failure any // the table's and the indexes' ARNs as the template gives them
	}{
		{"by ARN", arn, arn, arn + index, arn + failures},
		{"by name", "team-tasks", byName(""), byName(index), byName(failures)},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, s := synth(t, construct.Props{Table: construct.TableOptions{Existing: c.existing}})
			check(t, "no table", func() { s.assert.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(0)) })
			want := tableCalls(toJSON(c.table), toJSON(c.index), toJSON(c.failure))
			if got := s.tableGrants(t); !reflect.DeepEqual(got, want) {
				t.Errorf("grants\n\t%v\nwant\n\t%v", got, want)
			}
			check(t, "every function uses the table", func() {
				s.assert.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), obj{"Environment": obj{"Variables": obj{"TRACKER_TABLE": "team-tasks"}}})
			})
			if *tr.Table.TableName() != "team-tasks" {
				t.Errorf("Tracker.Table is %s", *tr.Table.TableName())
			}
		})
	}
}

// alarmed returns "namespace metric" for each alarm of the stack, sorted.
func (s *synthesized) alarmed() []string {
	var out []string
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		out = append(out, fmt.Sprintf("%v %v", p["Namespace"], p["MetricName"]))
	}
	sort.Strings(out)
	return out
}

func TestAlarms(t *testing.T) {
	s := stack(t, prodStack)
	fns := s.functionIDs(t)
	table := ref(s.onlyResource(t, "AWS::DynamoDB::Table"))
	namespace := "dynamodb-tracker/dynamodb-tracker-Tracker-6BFDB198"
	wantAlarm := func(namespace, metric string, dimensions ...obj) {
		t.Helper()
		dims := any(assertions.Match_ArrayEquals(toAnyObj(dimensions)))
		if len(dimensions) == 0 {
			dims = assertions.Match_Absent()
		}
		check(t, namespace+" "+metric, func() {
			s.assert.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{
				"Namespace": namespace, "MetricName": metric, "Statistic": "Sum", "Period": 300,
				"Threshold": 1, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"TreatMissingData": "notBreaching", "AlarmActions": assertions.Match_Absent(),
				"Dimensions": dims,
			})
		})
	}
	wantAlarm("AWS/States", "ExecutionsFailed", obj{"Name": "StateMachineArn", "Value": ref(s.onlyResource(t, "AWS::StepFunctions::StateMachine"))})
	wantAlarm(namespace, construct.IgnoredTasksMetric)
	for _, name := range []string{construct.Claim, construct.Complete, construct.Fail, construct.ListPending, construct.ExampleWorker} {
		for _, m := range []string{"Errors", "Throttles"} {
			wantAlarm("AWS/Lambda", m, obj{"Name": "FunctionName", "Value": ref(fns[name])})
		}
	}
	for _, m := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
		wantAlarm("AWS/DynamoDB", m, obj{"Name": "TableName", "Value": table})
		wantAlarm("AWS/DynamoDB", m, obj{"Name": "GlobalSecondaryIndexName", "Value": tracker.IndexName}, obj{"Name": "TableName", "Value": table})
	}
	if n := len(s.resources("AWS::CloudWatch::Alarm")); n != 16 {
		t.Errorf("%d alarms, want 16:\n\t%s", n, strings.Join(s.alarmed(), "\n\t"))
	}
	check(t, "ignored tasks are counted from the fail function's log", func() {
		s.assert.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), obj{
			"LogGroupName":          ref(fromJSON[struct{ LogGroup obj }](props(s.resource(t, fns[construct.Fail]))["LoggingConfig"]).LogGroup["Ref"].(string)),
			"FilterPattern":         `{ ($.msg = "failed") && ($.status = "ignored") }`,
			"MetricTransformations": []any{obj{"MetricName": construct.IgnoredTasksMetric, "MetricNamespace": namespace, "MetricValue": "1"}},
		})
	})
	dashboard := toJSON(props(s.resource(t, s.onlyResource(t, "AWS::CloudWatch::Dashboard")))["DashboardBody"])
	for _, m := range []string{"ExecutionsFailed", construct.IgnoredTasksMetric, "Errors", "Throttles", "ReadThrottleEvents", "WriteThrottleEvents", `\"type\":\"alarm\"`} {
		if !strings.Contains(dashboard, m) {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
}

func toAnyObj(os []obj) *[]any {
	out := make([]any, len(os))
	for i, o := range os {
		out[i] = o
	}
	return &out
}

func TestAlarmsNotifyTheTopic(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:tracker-alarms"
	_, s := synth(t, construct.Props{}, func(scope awscdk.Stack, p *construct.Props) {
		p.AlarmTopic = awssns.Topic_FromTopicArn(scope, jsii.String("Alarms"), jsii.String(topic))
	})
	check(t, "every alarm notifies the topic", func() {
		s.assert.AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{"AlarmActions": []any{topic}, "OKActions": []any{topic}})
	})
}

func TestAlarmsTurnOff(t *testing.T) {
	for _, c := range []struct {
		name      string
		alarms    construct.Alarms
		n         int
		dashboard int
	}{
		{"all", construct.Alarms{Disabled: true}, 0, 0},
		{"failed executions", construct.Alarms{NoFailedExecutions: true}, 15, 1},
		{"ignored tasks", construct.Alarms{NoIgnoredTasks: true}, 15, 1},
		{"function errors", construct.Alarms{NoFunctionErrors: true}, 11, 1},
		{"function throttles", construct.Alarms{NoFunctionThrottles: true}, 11, 1},
		{"table throttles", construct.Alarms{NoTableThrottles: true}, 12, 1},
		{"every one", construct.Alarms{NoFailedExecutions: true, NoIgnoredTasks: true, NoFunctionErrors: true, NoFunctionThrottles: true, NoTableThrottles: true}, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, s := synth(t, construct.Props{Alarms: c.alarms})
			if n := len(s.resources("AWS::CloudWatch::Alarm")); n != c.n || len(tr.Alarms) != c.n {
				t.Errorf("%d alarms (Tracker.Alarms: %d), want %d:\n\t%s", n, len(tr.Alarms), c.n, strings.Join(s.alarmed(), "\n\t"))
			}
			check(t, "dashboard", func() { s.assert.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(c.dashboard)) })
		})
	}
}

func TestReservedConcurrency(t *testing.T) {
	for _, c := range []struct {
		name     string
		reserved construct.ReservedConcurrency
		want     map[string]any // per function; nil for none
	}{
		{"none by default", construct.ReservedConcurrency{}, map[string]any{}},
		{"steps and list-pending", construct.ReservedConcurrency{Steps: 50, ListPending: 2},
			map[string]any{construct.Claim: 50.0, construct.Complete: 50.0, construct.Fail: 50.0, construct.ListPending: 2.0}},
		{"steps only", construct.ReservedConcurrency{Steps: 20},
			map[string]any{construct.Claim: 20.0, construct.Complete: 20.0, construct.Fail: 20.0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, s := synth(t, construct.Props{ReservedConcurrency: c.reserved, Alarms: construct.Alarms{Disabled: true}})
			for name, id := range s.trackerFunctionIDs(t) {
				if got := props(s.resource(t, id))["ReservedConcurrentExecutions"]; got != c.want[name] {
					t.Errorf("%s: ReservedConcurrentExecutions %v, want %v", name, got, c.want[name])
				}
			}
		})
	}
}

func TestTenantPrefixes(t *testing.T) {
	_, s := synth(t, construct.Props{TenantPrefixes: []string{"team-a-", "shared-"}, Schedule: construct.Schedule{JobIDs: []string{"team-a-nightly"}},
		Alarms: construct.Alarms{Disabled: true}})
	table := s.onlyResource(t, "AWS::DynamoDB::Table")
	tableArn := toJSON(getAtt(table, "Arn"))
	indexArn := toJSON(obj{"Fn::Join": []any{"", []any{getAtt(table, "Arn"), "/index/" + tracker.IndexName}}})
	failureIndexArn := toJSON(obj{"Fn::Join": []any{"", []any{getAtt(table, "Arn"), "/index/" + tracker.FailureIndexName}}})
	// Every statement that names keys names the tenants' only; DescribeTable names none.
	jobs := ` if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["team-a-*","shared-*"]}}`
	notTasks := `"ForAllValues:StringNotLike":{"dynamodb:LeadingKeys":["*_____"]}`
	reads := ` if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["team-a-*____","shared-*____","____jobs____team-a-*","____jobs____shared-*"]},` + notTasks + `}`
	writes := ` if {"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["team-a-*____","shared-*____"]},` + notTasks + `}`
	want := map[string][]string{
		construct.Claim: {"dynamodb:DescribeTable on " + tableArn, "dynamodb:GetItem on " + tableArn + reads,
			"dynamodb:Query on " + indexArn + jobs, "dynamodb:Query on " + failureIndexArn + jobs, "dynamodb:UpdateItem on " + tableArn + jobs},
		construct.Complete: {"dynamodb:GetItem on " + tableArn + reads, "dynamodb:UpdateItem on " + tableArn + jobs},
		construct.Fail:     {"dynamodb:GetItem on " + tableArn + reads, "dynamodb:UpdateItem on " + tableArn + jobs},
		construct.ListPending: {"dynamodb:DescribeTable on " + tableArn, "dynamodb:GetItem on " + tableArn + jobs,
			"dynamodb:Query on " + indexArn + jobs, "dynamodb:UpdateItem on " + tableArn + writes},
	}
	for _, w := range want {
		sort.Strings(w)
	}
	if got := s.tableGrants(t); !reflect.DeepEqual(got, want) {
		t.Errorf("grants\n\t%v\nwant\n\t%v", got, want)
	}
}

func TestStackAlarmTopic(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
	stack, err := NewStack(awscdk.NewApp(nil), "WithTopic", &StackProps{AlarmTopicArn: topic, Tracker: construct.Props{
		AssetDir: stackAssets(t), DefinitionFile: definitionFile,
	}})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "every alarm notifies the topic", func() {
		assertions.Template_FromStack(stack, nil).AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{"AlarmActions": []any{topic}})
	})
}
