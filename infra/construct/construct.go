// Package construct is dynamodb-tracker as a reusable CDK construct: the task table (or an
// existing one), the claim, complete, fail and list-pending functions, a worker, the state
// machine that runs a job's tasks through them, a schedule of catch-up sweeps, and CloudWatch
// alarms with a dashboard.
//
// A table the construct creates has exactly the layout tracker.CreateTable makes (it is built
// from tracker.TableDefinition). Each function may make only the DynamoDB calls it makes, on
// the items it makes them on (a function that only reads or writes the job registry's items
// may touch no task), and with Props.TenantPrefixes only on the keys of its tenants' jobs.
//
// The construct needs nothing but the module: it deploys the module's own state machine
// definition (embedded) and builds its functions from the module's source, in the clone or
// in the module cache (`go get github.com/dynamodb-tracker/dynamodb-tracker/infra/construct`).
// README.md beside this file shows a whole app.
package construct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	dynamodbtracker "github.com/dynamodb-tracker/dynamodb-tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Function names, from the roster (contract.Functions()), as `make build`
// (build/<name>/bootstrap) uses them.
var (
	Claim         = contract.ClaimFunction.Name
	Complete      = contract.CompleteFunction.Name
	Fail          = contract.FailFunction.Name
	ListPending   = contract.ListPendingFunction.Name
	ExampleWorker = contract.WorkerFunction.Name
)

// Defaults for the zero values of Props (the settings' are contract.Settings.WithDefaults').
const (
	DefaultSweepRate        = 15 * time.Minute
	DefaultLogRetention     = awslogs.RetentionDays_ONE_MONTH
	DefaultStateMachineLogs = awsstepfunctions.LogLevel_ERROR
)

// Props configures a Tracker. Every field but Settings.WorkerTimeout (with Worker) has a
// zero-value default.
type Props struct {
	// AssetDir, when set, holds prebuilt function binaries as <AssetDir>/<name>/bootstrap,
	// built for linux/arm64: the layout `make build` writes to build/. "" builds the
	// functions from the source of the module the construct belongs to (the clone, or the
	// module cache directory `go get` filled): with the go command on PATH, or in Docker
	// (BuildImage) without it.
	AssetDir string
	// DefinitionFile, when set, is a state machine definition file (Amazon States Language)
	// to deploy instead of the module's own (statemachine.asl.json, embedded: package
	// dynamodbtracker). The definition goes into the template as it is, with its ${Name}
	// placeholders filled by definition substitutions.
	DefinitionFile string
	// Substitutions gives values to ${Name} placeholders of the definition beyond those the
	// construct fills: the five function ARNs (ListPendingFunctionArn, ClaimFunctionArn,
	// CompleteFunctionArn, FailFunctionArn, WorkerFunctionArn) and ChildExecutionType
	// (Settings.LaneType), e.g. "MaxConcurrency".
	Substitutions map[string]string
	// Worker is the function the state machine runs on each claimed task; nil deploys the
	// example worker (functions/example-worker).
	Worker awslambda.IFunction
	// Table configures the task table.
	Table TableOptions
	// Settings are the tracker's settings, every function's environment (contract.Settings:
	// the one type the functions, the local stack and this construct share, with one
	// Validate). The construct fills Table, which must be empty here. Of note:
	//   - WorkerTimeout is the worker's timeout. With Worker it is required and must be that
	//     function's timeout (the construct cannot read an imported function's timeout);
	//     without, it is the example worker's (0 means a minute).
	//   - LaneType EXPRESS (the default) runs lanes of at most 5 minutes, which a worker's
	//     timeout must fit in; STANDARD lanes run longer work.
	//   - LogLevel also sets the functions' Lambda system log level: INFO at info or debug,
	//     WARN otherwise (Lambda's START and REPORT lines, about 0.5 KB an invocation, left
	//     out).
	Settings contract.Settings
	// Schedule configures the catch-up sweeps.
	Schedule Schedule
	// LogRetention is how long the functions' and the state machine's logs are kept; ""
	// means DefaultLogRetention.
	LogRetention awslogs.RetentionDays
	// StateMachineLogs is the log level of the state machine and of its lanes (they log
	// under its configuration): ALL, ERROR, FATAL or OFF; "" means DefaultStateMachineLogs.
	// CloudWatch Logs bills by the GB ingested: ALL writes every state of every task (about
	// $2.5–4 per million tasks), ERROR only the failures.
	StateMachineLogs awsstepfunctions.LogLevel
	// TenantPrefixes confines the functions to the jobs whose ids start with one of these
	// prefixes: each DynamoDB statement of their roles on keys (all but DescribeTable's) has
	// the condition that every leading key (the table's key {job_id}____{task_id}, the
	// index's {job_id}____{code}) is like
	// <prefix>*, so one team's functions cannot claim, finish or list another team's tasks.
	// End a prefix with a separator ("team-a-"), or "team-a" also admits "team-ab". The
	// job registry's item of a job ({job}____) starts with its id too, so runs of the
	// tenants' jobs take their leases; but a sweep of every job lists the whole registry, so
	// with tenants Schedule.JobIDs (of their jobs) or Schedule.Disabled is required. None
	// means every job.
	TenantPrefixes []string
	// ReservedConcurrency reserves Lambda concurrency for the tracker's functions; the zero
	// value reserves none.
	ReservedConcurrency ReservedConcurrency
	// Alarms turns off alarms; by default all are on, with a dashboard of their metrics.
	Alarms Alarms
	// AlarmTopic, when set, is notified by every alarm when it fires and when it is OK
	// again; nil: the alarms notify no one (the console and the dashboard show them).
	AlarmTopic awssns.ITopic
	// Disposable marks a development deployment: the table has no deletion protection and
	// is destroyed with the stack, like the log groups. By default the table is protected and
	// retained, and so are the log groups.
	Disposable bool
}

// TableOptions configures the task table: a new one, or with Existing a table the stack
// does not own.
type TableOptions struct {
	// Name is the new table's name; "" lets CloudFormation choose one.
	Name string
	// TTLAttribute turns on DynamoDB's time to live on this attribute of the new table: a
	// task whose attribute holds an epoch time (seconds, a number) in the past is deleted.
	// Nothing in the tracker writes it; set it on finished tasks to expire them. "" leaves
	// TTL off.
	TTLAttribute string
	// Existing is a task table made outside the stack, by name or by ARN (arn:...): no table
	// is created, and the functions get the same grants on it and on its
	// status_and_task_id-index. It must have the layout of tracker.TableDefinition; Name and
	// TTLAttribute must then be empty. "" creates the table.
	Existing string
	// SeedIndex states that Existing's status_and_task_id-index is still the one the seed
	// created (hash key value only, KEYS_ONLY), which the functions cannot page or read
	// leases from. The index shape cannot be read at synthesis, so it is stated here; New
	// then refuses, asking for `trackerctl upgrade-table` first.
	SeedIndex bool
}

// Schedule configures the catch-up sweeps: on a fixed rate, an execution of the state machine
// with the input {"all_jobs": true} (or {"job_ids": [...]}) starts one execution per job with
// pending tasks (todo, failed and due, or with an expired lease), so tasks that a lost
// execution left behind are picked up again. Every job is found through the job registry the
// tracker keeps in the table, so a new job is swept with no redeploy.
type Schedule struct {
	// JobIDs, when set, limits the sweeps to these jobs; none means every registered job.
	JobIDs []string
	// Rate is the time between sweeps, in whole minutes; 0 means DefaultSweepRate.
	Rate time.Duration
	// Disabled turns the sweeps off: no schedule is deployed.
	Disabled bool
}

// ReservedConcurrency is the concurrency reserved for each group of the tracker's functions:
// it is kept for them in the account's pool, and it is also their ceiling, so a busy job
// cannot starve other functions of the account, nor they it. A throttled step is retried by
// the state machine (and raises the Throttles alarm). Lambda keeps 100 of the account's
// concurrency unreserved; what is left bounds the sum of all reservations.
type ReservedConcurrency struct {
	// Steps is reserved for each of claim, complete and fail, which every task calls; 0
	// reserves none.
	Steps int
	// ListPending is reserved for list-pending, called once per page; 0 reserves none.
	ListPending int
}

// Tracker is a deployed dynamodb-tracker.
type Tracker struct {
	constructs.Construct
	// Table is the task table: the one the construct created, or TableOptions.Existing.
	Table awsdynamodb.ITable
	// Claim, Complete, Fail and ListPending are the tracker's functions.
	Claim, Complete, Fail, ListPending awslambda.Function
	// Worker is the function run on each claimed task: Props.Worker or the example worker.
	Worker awslambda.IFunction
	// StateMachine runs a job's tasks: claim, work, then complete or fail each. It is a
	// STANDARD state machine named after the construct's path (stack name, path, hash).
	StateMachine awsstepfunctions.StateMachine
	// Sweep is the schedule of catch-up executions; nil when Props.Schedule.Disabled.
	Sweep awsevents.Rule
	// Alarms are the alarms Props.Alarms leaves on.
	Alarms []awscloudwatch.Alarm
	// Dashboard shows the alarms and their metrics; nil with Alarms.Disabled.
	Dashboard awscloudwatch.Dashboard

	logs map[string]awslogs.LogGroup // each function's log group, by name
}

// function is how one Lambda function is deployed: its line of the roster
// (contract.Functions) and its construct id, its name in CamelCase.
type function struct {
	contract.Function
	id string
}

// deployedFunctions are the functions p deploys, from the roster: the tracker's own and, when
// p brings no worker, the example worker with p's worker timeout.
func deployedFunctions(p *Props) []function {
	var fns []function
	for _, f := range contract.Functions() {
		if f.Name == ExampleWorker {
			if p.Worker != nil {
				continue
			}
			f.Timeout = p.Settings.WorkerTimeout
		}
		id := ""
		for part := range strings.SplitSeq(f.Name, "-") {
			id += strings.ToUpper(part[:1]) + part[1:]
		}
		fns = append(fns, function{Function: f, id: id})
	}
	return fns
}

// reserved is f's reserved concurrency from r: the steps' for the functions every task calls,
// list-pending's for it, none for the worker.
func (f function) reserved(r ReservedConcurrency) int {
	switch {
	case f.PerTask:
		return r.Steps
	case f.Name == ListPending:
		return r.ListPending
	}
	return 0
}

// New adds a Tracker to scope. It checks props first (settings, the definition, the
// functions' binaries: AssetDir's, or built from the module's source) and returns an error,
// having added nothing, when they are wrong.
func New(scope constructs.Construct, id string, props *Props) (*Tracker, error) {
	if props == nil {
		props = &Props{}
	}
	p, err := props.withDefaults()
	if err != nil {
		return nil, err
	}
	asl, err := p.definition()
	if err != nil {
		return nil, err
	}
	deployed := deployedFunctions(p)
	code, err := p.functionCode(scope, deployed)
	if err != nil {
		return nil, err
	}

	c := &Tracker{Construct: constructs.NewConstruct(scope, jsii.String(id)), logs: map[string]awslogs.LogGroup{}}
	if p.Table.Existing != "" {
		c.Table = c.importTable(p)
	} else if c.Table, err = c.newTable(p); err != nil {
		return nil, err
	}
	env := environment(p, c.Table)
	fns := map[string]awslambda.Function{}
	for _, f := range deployed {
		fns[f.Name] = c.newFunction(f, p, env, code(f.Name))
	}
	c.Claim, c.Complete, c.Fail, c.ListPending = fns[Claim], fns[Complete], fns[Fail], fns[ListPending]
	c.Worker = p.Worker
	if c.Worker == nil {
		c.Worker = fns[ExampleWorker]
	}
	c.grantTableAccess(p.TenantPrefixes)
	c.StateMachine = c.newStateMachine(p, string(asl))
	if !p.Schedule.Disabled {
		c.Sweep = c.newSweep(p)
	}
	c.newMonitoring(p)
	return c, nil
}

// definition returns the state machine definition, DefinitionFile's or the module's own,
// checked.
func (p *Props) definition() ([]byte, error) {
	asl, name := dynamodbtracker.Definition(), "statemachine.asl.json (the module's own)"
	if p.DefinitionFile != "" {
		var err error
		if asl, err = os.ReadFile(p.DefinitionFile); err != nil {
			return nil, fmt.Errorf("state machine definition: %w", err)
		}
		name = p.DefinitionFile
	}
	// A definition that does not use ${ChildExecutionType} is accepted: the substitution
	// is then unused, which Step Functions allows.
	names := append(slices.Clone(filledNames), sortedKeys(p.Substitutions)...)
	if err := checkDefinition(asl, names); err != nil {
		return nil, fmt.Errorf("state machine definition %s: %w", name, err)
	}
	return asl, nil
}

// functionCode returns where each deployed function's code comes from: AssetDir's
// binaries, checked to be there, or a build from the module's source. A build that CDK
// will make (the stack is one it bundles, and go is on PATH) is made here, so that its
// errors are New's and no construct is added before them.
func (p *Props) functionCode(scope constructs.Construct, deployed []function) (func(name string) awslambda.Code, error) {
	if p.AssetDir != "" {
		for _, f := range deployed {
			if _, err := os.Stat(filepath.Join(p.AssetDir, f.Name, "bootstrap")); err != nil {
				return nil, fmt.Errorf("function %s: %w (run `make build` first)", f.Name, err)
			}
		}
		return func(name string) awslambda.Code {
			return awslambda.Code_FromAsset(jsii.String(filepath.Join(p.AssetDir, name)), nil)
		}, nil
	}
	goCmd := lookGo()
	src, err := findSource(goCmd)
	if err != nil {
		return nil, fmt.Errorf("functions: the construct builds them from the source of %s, and found none: %w (or set Props.AssetDir to prebuilt binaries)", modulePath, err)
	}
	if goCmd != "" && *awscdk.Stack_Of(scope).BundlingRequired() {
		names := make([]string, len(deployed))
		for i, f := range deployed {
			names[i] = f.Name
		}
		if err := buildFunctions(goCmd, src, names...); err != nil {
			return nil, fmt.Errorf("functions: %w", err)
		}
	}
	return func(name string) awslambda.Code { return bundledCode(src, name) }, nil
}

// withDefaults returns a copy of p with its defaults filled in, or why p is wrong.
func (p *Props) withDefaults() (*Props, error) {
	q := *p
	var errs []error
	for _, name := range sortedKeys(q.Substitutions) {
		if slices.Contains(filledNames, name) {
			errs = append(errs, fmt.Errorf("%s must not set %s: the construct fills it", "Substitutions", name))
		}
	}
	errs = append(errs, q.withSettings()...)
	if q.Schedule.Rate == 0 {
		q.Schedule.Rate = DefaultSweepRate
	}
	if q.Schedule.Rate < time.Minute || q.Schedule.Rate%time.Minute != 0 {
		errs = append(errs, fmt.Errorf("Schedule.Rate %v is not a positive number of whole minutes", q.Schedule.Rate))
	}
	for _, job := range q.Schedule.JobIDs {
		if err := tracker.ValidateJob(job); err != nil {
			errs = append(errs, fmt.Errorf("Schedule.JobIDs: %q: %w", job, err))
		}
	}
	errs = append(errs, q.Table.check()...)
	errs = append(errs, q.checkTenants()...)
	if r := q.ReservedConcurrency; r.Steps < 0 || r.ListPending < 0 {
		errs = append(errs, fmt.Errorf("ReservedConcurrency %+v is negative", r))
	}
	if q.LogRetention == "" {
		q.LogRetention = DefaultLogRetention
	}
	switch q.StateMachineLogs {
	case "":
		q.StateMachineLogs = DefaultStateMachineLogs
	case awsstepfunctions.LogLevel_ALL, awsstepfunctions.LogLevel_ERROR, awsstepfunctions.LogLevel_FATAL, awsstepfunctions.LogLevel_OFF:
	default:
		errs = append(errs, fmt.Errorf("StateMachineLogs %q is not ALL, ERROR, FATAL or OFF", q.StateMachineLogs))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("tracker construct: %w", err)
	}
	return &q, nil
}

// withSettings fills in the defaults of p's settings and returns why they are wrong: the
// settings' own Validate, and what the construct asks beside (no table name: it names the
// table; a worker's timeout with Worker).
func (p *Props) withSettings() []error {
	s := &p.Settings
	var errs []error
	if s.Table != "" {
		errs = append(errs, fmt.Errorf("Settings.Table %q: the construct names the table (Table.Name, or Table.Existing)", s.Table))
	}
	switch {
	case s.WorkerTimeout == 0 && p.Worker != nil:
		errs = append(errs, errors.New("Settings.WorkerTimeout is required with Worker: the construct cannot read an imported function's timeout"))
	case s.WorkerTimeout == 0:
		s.WorkerTimeout = contract.WorkerFunction.Timeout
	}
	*s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", "Settings", err))
	}
	return errs
}

// checkTenants returns why p's TenantPrefixes are wrong, alone or with the sweeps.
func (p *Props) checkTenants() []error {
	if len(p.TenantPrefixes) == 0 {
		return nil
	}
	var errs []error
	for _, prefix := range p.TenantPrefixes {
		switch err := tracker.ValidateJob(prefix); {
		case err != nil:
			errs = append(errs, fmt.Errorf("TenantPrefixes: %q: %w", prefix, err))
		case strings.ContainsAny(prefix, "*?"):
			errs = append(errs, fmt.Errorf("TenantPrefixes: %q has a wildcard: the construct adds the * itself", prefix))
		}
	}
	for _, job := range p.Schedule.JobIDs {
		if !slices.ContainsFunc(p.TenantPrefixes, func(prefix string) bool { return strings.HasPrefix(job, prefix) }) {
			errs = append(errs, fmt.Errorf("Schedule.JobIDs: %q starts with none of TenantPrefixes %v: its sweeps could not touch it", job, p.TenantPrefixes))
		}
	}
	// A sweep of every job lists the registry on the index under ____jobs, one key for all
	// tenants' jobs, which a tenant's functions may not query: each sweep would fail.
	if len(p.Schedule.JobIDs) == 0 && !p.Schedule.Disabled {
		errs = append(errs, errors.New("TenantPrefixes: a sweep of every job lists the whole job registry, which the tenants' functions may not read: "+
			"set Schedule.JobIDs to the tenants' jobs, or Schedule.Disabled"))
	}
	return errs
}

// check returns why t is wrong.
func (t *TableOptions) check() []error {
	var errs []error
	switch {
	case t.SeedIndex:
		errs = append(errs, fmt.Errorf("Table.SeedIndex: the seed's %s (hash key %s only, KEYS_ONLY) cannot serve the functions: "+
			"run `trackerctl upgrade-table` on the table first, then deploy without SeedIndex", tracker.IndexName, tracker.StatusAttribute))
	case t.Existing == "":
	case t.Name != "" || t.TTLAttribute != "":
		errs = append(errs, errors.New("Table.Name and Table.TTLAttribute configure a new table: with Table.Existing they must be empty"))
	case strings.HasPrefix(t.Existing, "arn:"):
		// arn:partition:dynamodb:region:account:table/name
		parts := strings.SplitN(t.Existing, ":", 6)
		name, ok := strings.CutPrefix(parts[len(parts)-1], "table/")
		if len(parts) != 6 || parts[2] != "dynamodb" || !ok || name == "" || strings.Contains(name, "/") {
			errs = append(errs, fmt.Errorf("Table.Existing %q is not the ARN of a DynamoDB table (arn:aws:dynamodb:region:account:table/name)", t.Existing))
		}
	}
	return errs
}

// importTable refers to Table.Existing, declaring its index so that the grants name it.
func (c *Tracker) importTable(p *Props) awsdynamodb.ITable {
	attrs := &awsdynamodb.TableAttributes{GlobalIndexes: jsii.Strings(tracker.IndexName, tracker.FailureIndexName)}
	if strings.HasPrefix(p.Table.Existing, "arn:") {
		attrs.TableArn = jsii.String(p.Table.Existing)
	} else {
		attrs.TableName = jsii.String(p.Table.Existing)
	}
	return awsdynamodb.Table_FromTableAttributes(c.Construct, jsii.String("Table"), attrs)
}

func (p *Props) removalPolicy() awscdk.RemovalPolicy {
	if p.Disposable {
		return awscdk.RemovalPolicy_DESTROY
	}
	return awscdk.RemovalPolicy_RETAIN
}

// newTable makes the task table from tracker.TableDefinition, so that it has the layout
// tracker.CreateTable makes: keys, billing and the index with its INCLUDE projection.
func (c *Tracker) newTable(p *Props) (awsdynamodb.Table, error) {
	def := tracker.TableDefinition(p.Table.Name)
	attr := func(name *string) (*awsdynamodb.Attribute, error) {
		for _, a := range def.AttributeDefinitions {
			if *a.AttributeName == *name {
				t, ok := map[string]awsdynamodb.AttributeType{
					"S": awsdynamodb.AttributeType_STRING, "N": awsdynamodb.AttributeType_NUMBER, "B": awsdynamodb.AttributeType_BINARY,
				}[string(a.AttributeType)]
				if !ok {
					return nil, fmt.Errorf("table layout: attribute %s has unknown type %s", *name, a.AttributeType)
				}
				return &awsdynamodb.Attribute{Name: name, Type: t}, nil
			}
		}
		return nil, fmt.Errorf("table layout: key %s has no attribute definition", *name)
	}
	if len(def.KeySchema) != 1 || def.BillingMode != "PAY_PER_REQUEST" {
		return nil, errors.New("table layout: the construct expects a hash key only and on-demand billing, as tracker.TableDefinition had")
	}
	hash, err := attr(def.KeySchema[0].AttributeName)
	if err != nil {
		return nil, err
	}
	props := &awsdynamodb.TableProps{
		PartitionKey: hash,
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		// The table is the system of record for every job's progress: recoverable to any
		// second of the last 35 days, and protected from deletion unless disposable.
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		DeletionProtection:               jsii.Bool(!p.Disposable),
		RemovalPolicy:                    p.removalPolicy(),
		// A KMS key the account can see and audit (aws/dynamodb) rather than the default
		// AWS-owned one; no key policy to manage.
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
	}
	if def.TableName != nil && *def.TableName != "" {
		props.TableName = def.TableName
	}
	if p.Table.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(p.Table.TTLAttribute)
	}
	table := awsdynamodb.NewTable(c.Construct, jsii.String("Table"), props)
	for _, gsi := range def.GlobalSecondaryIndexes {
		idx := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:        gsi.IndexName,
			ProjectionType:   awsdynamodb.ProjectionType(gsi.Projection.ProjectionType),
			NonKeyAttributes: jsii.Strings(gsi.Projection.NonKeyAttributes...),
		}
		for _, k := range gsi.KeySchema {
			a, err := attr(k.AttributeName)
			if err != nil {
				return nil, err
			}
			if k.KeyType == "HASH" {
				idx.PartitionKey = a
			} else {
				idx.SortKey = a
			}
		}
		table.AddGlobalSecondaryIndex(idx)
	}
	return table, nil
}

// environment is every function's environment: the settings' own codec (contract.Settings.Env)
// with every default written out, so a reader of the console sees the settings in force. The
// table's name is a token here; it resolves inside the variable's value.
func environment(p *Props, table awsdynamodb.ITable) *map[string]*string {
	env := map[string]*string{}
	for name, value := range p.FunctionSettings(*table.TableName()).WithDefaults().Env() {
		env[name] = jsii.String(value)
	}
	return &env
}

// FunctionSettings are the settings p gives every function (in its environment), on the
// table named table; a zero setting is the function's default.
func (p *Props) FunctionSettings(table string) contract.Settings {
	s := p.Settings
	s.Table = table
	return s
}

// newFunction deploys f with its own log group and its own role. The role starts empty (no
// AWSLambdaBasicExecutionRole: that grants logs:CreateLogGroup on every log group) and gets
// writing to its log group, X-Ray, and then only the table calls grantTableAccess adds.
func (c *Tracker) newFunction(f function, p *Props, env *map[string]*string, code awslambda.Code) awslambda.Function {
	logs := awslogs.NewLogGroup(c.Construct, jsii.String(f.id+"Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: p.removalPolicy(),
	})
	role := awsiam.NewRole(c.Construct, jsii.String(f.id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Runs the " + f.Name + " function"),
	})
	logs.GrantWrite(role)
	c.logs[f.Name] = logs
	var reserved *float64
	if n := f.reserved(p.ReservedConcurrency); n > 0 {
		reserved = jsii.Number(n)
	}
	fn := awslambda.NewFunction(c.Construct, jsii.String(f.id), &awslambda.FunctionProps{
		ReservedConcurrentExecutions: reserved,
		Description:                  jsii.String(f.Description),
		Code:                         code,
		Handler:                      jsii.String("bootstrap"),
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		MemorySize:                   jsii.Number(f.MemoryMB),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(f.Timeout.Seconds())),
		Environment:                  env,
		Tracing:                      awslambda.Tracing_ACTIVE,
		LoggingFormat:                awslambda.LoggingFormat_JSON, // the functions log JSON (slog)
		// Lambda's own lines (START, REPORT: about 0.5 KB an invocation, two invocations a
		// task) only when the functions log at info or debug; its metrics hold the same.
		SystemLogLevelV2: systemLogLevel(p.Settings.LogLevel),
		LogGroup:         logs,
		Role:             role,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource is *."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
	return fn
}

// systemLogLevel is the Lambda system log level that goes with the functions' level.
func systemLogLevel(l contract.LogLevel) awslambda.SystemLogLevel {
	switch l {
	case contract.LogDebug:
		return awslambda.SystemLogLevel_DEBUG
	case contract.LogInfo:
		return awslambda.SystemLogLevel_INFO
	}
	return awslambda.SystemLogLevel_WARN
}

// filledNames are the placeholders the construct fills (every function's ARN, the child
// execution type); Props.Substitutions may not set them.
var filledNames = func() []string {
	var names []string
	for _, f := range contract.Functions() {
		names = append(names, f.ArnPlaceholder)
	}
	return append(names, contract.ChildExecutionTypePlaceholder)
}()

// arns are the ARNs of the functions the definition names, in the order of contract.Functions().
func (c *Tracker) arns() []*string {
	byName := map[string]awslambda.IFunction{Claim: c.Claim, Complete: c.Complete, Fail: c.Fail, ListPending: c.ListPending, ExampleWorker: c.Worker}
	arns := make([]*string, len(contract.Functions()))
	for i, f := range contract.Functions() {
		arns[i] = byName[f.Name].FunctionArn()
	}
	return arns
}

// newStateMachine makes the state machine from the definition text, kept literal in the
// template, with its placeholders filled by definition substitutions.
//
// Its role may invoke the five functions and start, describe and stop executions of this
// state machine only: the Distributed Map starts a child execution per batch and manages the
// children, the parent continues as a new execution of itself, and a sweep starts one
// execution per job. The state machine has a name of its own, derived from the construct's
// path, so that the role's policy can name the state machine and its executions without
// referring to the state machine resource, which itself depends on the policy.
func (c *Tracker) newStateMachine(p *Props, asl string) awsstepfunctions.StateMachine {
	name := awscdk.Names_UniqueResourceName(c.Construct, &awscdk.UniqueResourceNameOptions{
		MaxLength: jsii.Number(80), Separator: jsii.String("-"), AllowedSpecialCharacters: jsii.String("-_"),
	})
	stack := awscdk.Stack_Of(c.Construct)
	arn := func(resource, name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("states"), Resource: jsii.String(resource), ResourceName: jsii.String(name),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
	}
	self, executions := arn("stateMachine", *name), arn("execution", *name+":*")
	arns := c.arns()
	subs := map[string]*string{}
	for i, arn := range arns {
		subs[contract.Functions()[i].ArnPlaceholder] = arn
	}
	subs[contract.ChildExecutionTypePlaceholder] = jsii.String(string(p.Settings.LaneType))
	for _, name := range sortedKeys(p.Substitutions) {
		subs[name] = jsii.String(p.Substitutions[name])
	}
	logs := awslogs.NewLogGroup(c.Construct, jsii.String("StateMachineLogs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: p.removalPolicy(),
	})
	sm := awsstepfunctions.NewStateMachine(c.Construct, jsii.String("StateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: name,
		// One long-running execution per job; its children are Settings.LaneType.
		StateMachineType:        awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:          awsstepfunctions.DefinitionBody_FromString(jsii.String(asl)),
		DefinitionSubstitutions: &subs,
		// The Distributed Map's Express children log under this configuration too, to the
		// same log group; the log-delivery permissions the CDK gives the role cover them.
		Logs: &awsstepfunctions.LogOptions{
			Destination: logs,
			Level:       p.StateMachineLogs,
			// Task data and results are the users' payloads; the table keeps each task's
			// state and last error, so the logs need not copy them.
			IncludeExecutionData: jsii.Bool(false),
		},
		TracingEnabled: jsii.Bool(true),
	})
	if p.StateMachineLogs != awsstepfunctions.LogLevel_ALL {
		cdknag.NagSuppressions_AddResourceSuppressions(sm, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SF1"),
			Reason: jsii.String("CloudWatch Logs bills by the GB: ALL logs every state of every task of every lane (an estimated $2.5-4 per million tasks), " +
				"while the table keeps each task's status, last error and attempt history. The state machine and its lanes log errors (Props.StateMachineLogs raises it)."),
		}}, jsii.Bool(true))
	}
	// Exactly the five functions the definition names, not their versions or aliases.
	sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &arns,
	}))
	sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:StartExecution"),
		Resources: &[]*string{self},
	}))
	sm.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("states:DescribeExecution", "states:StopExecution", "states:RedriveExecution"),
		Resources: &[]*string{executions},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(sm.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Logging to CloudWatch Logs (logs:CreateLogDelivery and the other log-delivery actions) and X-Ray tracing " +
			"(xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSampling*) support no resource-level permissions, so their resource is *."),
		AppliesTo: &[]any{"Resource::*"},
	}, {
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Executions are named at run time (Distributed Map children, continue-as-new, one per job of a sweep): " +
			"DescribeExecution and StopExecution apply to any execution of this state machine, and of no other."),
		AppliesTo: &[]any{fmt.Sprintf("Resource::arn:<AWS::Partition>:states:%s:%s:execution:%s:*", nagValue(stack.Region(), "AWS::Region"), nagValue(stack.Account(), "AWS::AccountId"), *name)},
	}}, jsii.Bool(true))
	return sm
}

// nagValue is v as cdk-nag spells it in a finding: the value of a stack with an environment,
// or the pseudo parameter of an environment-agnostic one (<AWS::Region>).
func nagValue(v *string, pseudo string) string {
	if *awscdk.Token_IsUnresolved(v) {
		return "<" + pseudo + ">"
	}
	return *v
}

// newSweep starts a catch-up execution for the configured jobs on a fixed rate.
//
// EventBridge assumes a role of the sweep's own that trusts it only on behalf of this rule in
// this account (aws:SourceArn, aws:SourceAccount: no confused deputy). The rule has a name of
// its own, from the construct's path, so that the trust policy can name the rule's ARN without
// referring to the rule, which itself refers to the role. An execution EventBridge could not
// start after its retries goes to a dead-letter queue, kept 14 days, instead of being lost.
func (c *Tracker) newSweep(p *Props) awsevents.Rule {
	input, description := map[string]any{"all_jobs": true}, "dynamodb-tracker: catch-up sweep of every registered job with pending tasks"
	if len(p.Schedule.JobIDs) > 0 {
		input = map[string]any{"job_ids": p.Schedule.JobIDs}
		description = "dynamodb-tracker: catch-up sweep of the pending tasks of the configured jobs"
	}
	rate := awscdk.Duration_Minutes(jsii.Number(p.Schedule.Rate.Minutes()))
	// A sweep that could not start before the next one is due is superseded by it; EventBridge
	// accepts 1 minute to 24 hours.
	maxAge := min(max(p.Schedule.Rate, time.Minute), 24*time.Hour)
	stack := awscdk.Stack_Of(c.Construct)
	name := awscdk.Names_UniqueResourceName(c.Construct, &awscdk.UniqueResourceNameOptions{
		MaxLength: jsii.Number(64), Separator: jsii.String("-"), AllowedSpecialCharacters: jsii.String("-_."),
	})
	ruleArn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("events"), Resource: jsii.String("rule"), ResourceName: name,
		ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	role := awsiam.NewRole(c.Construct, jsii.String("SweepRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceArn": ruleArn, "aws:SourceAccount": stack.Account()}},
		}),
		Description: jsii.String("Starts the catch-up sweeps of rule " + *name),
	})
	deadLetters := awssqs.NewQueue(c.Construct, jsii.String("SweepDeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   p.removalPolicy(),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(deadLetters, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the sweep rule's target (EventBridge's DeadLetterConfig, " +
			"which the rule rather than an SQS redrive policy names, so the check cannot see it); nothing consumes it to fail again."),
	}}, jsii.Bool(false))
	return awsevents.NewRule(c.Construct, jsii.String("Sweep"), &awsevents.RuleProps{
		RuleName:    name,
		Description: jsii.String(description),
		Schedule:    awsevents.Schedule_Rate(rate),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(c.StateMachine, &awseventstargets.SfnStateMachineProps{
			Input:           awsevents.RuleTargetInput_FromObject(input),
			MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(maxAge.Seconds())),
			RetryAttempts:   jsii.Number(3),
			Role:            role,
			DeadLetterQueue: deadLetters,
		})},
	})
}
