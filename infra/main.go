// Command infra is the CDK app that deploys dynamodb-tracker into an AWS account: the task
// table (or the tracker on an existing one), the tracker's functions, the state machine, the
// sweep schedule, and alarms with a dashboard (package construct), as one stack.
//
// The CDK CLI runs it (cdk.json: `go run ./infra`); it also synthesizes without the CLI, and
// without an AWS account or network: `CDK_OUTDIR=cdk.out go run ./infra`. The construct builds
// the functions from the module's source and deploys the module's state machine definition;
// tracker:asset-dir deploys prebuilt binaries instead (`make build` writes them to build/).
//
// Options are context values, given as `cdk deploy -c key=value` or in cdk.json's "context":
//
//	tracker:stack-name              stack name (dynamodb-tracker)
//	tracker:dev                     true: the table has no deletion protection and is destroyed with the stack (false)
//	tracker:table-name              table name (chosen by CloudFormation)
//	tracker:ttl-attribute           attribute for DynamoDB TTL (off)
//	tracker:existing-table          name or ARN of a task table the stack does not own: no table is created (none)
//	tracker:seed-index              true: the existing table still has the seed's index; synthesis refuses until `trackerctl upgrade-table` (false)
//	tracker:sweep-jobs              comma-separated job ids each sweep runs (none: every registered job)
//	tracker:sweep-minutes           minutes between sweeps (15)
//	tracker:status-codes            todo,in_progress,failed,succeeded,ignored codes (0,3,6,9,10)
//	tracker:max-retry               failed attempts before a task is ignored (3)
//	tracker:lease-seconds           lease duration (900)
//	tracker:log-level               debug, info, warn or error (warn)
//	tracker:metrics                 true: per-job CloudWatch metrics from the functions (false)
//	tracker:metrics-namespace       their namespace (dynamodb-tracker)
//	tracker:lane-type               EXPRESS or STANDARD: the type of the lanes, the state machine's child executions (EXPRESS; tracker:child-execution-type, its older key, is read too)
//	tracker:concurrency             tasks a run works at once, 1 to 1200000 (200)
//	tracker:state-machine-logs      ALL, ERROR, FATAL or OFF: the state machine's and its lanes' log level (ERROR)
//	tracker:backoff-seconds         first wait before a failed task is retried, doubled per failure up to 300 (5)
//	tracker:worker-timeout-seconds  the worker's timeout (60)
//	tracker:permanent-errors        comma-separated errorTypes that ignore a task at once, beyond *PermanentError (none)
//	tracker:alarms                  false: no alarms and no dashboard (true)
//	tracker:alarm-topic             ARN of an SNS topic every alarm notifies (none)
//	tracker:reserved-concurrency    N or N,M: reserved concurrency of claim, complete and fail each (N) and of list-pending (M) (none)
//	tracker:tenant-prefixes         comma-separated job-id prefixes the functions are confined to (none: every job)
//	tracker:asset-dir               directory of prebuilt <name>/bootstrap, e.g. build (none: the construct builds the functions)
//	tracker:definition              a state machine definition file to deploy (none: the module's statemachine.asl.json)
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/jsii-runtime-go"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/infra/construct"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := NewApp(nil)
	name, props, err := propsFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return err
	}
	if _, err := NewStack(app, name, props); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// featureFlags are the feature flags `cdk init` writes into cdk.json for aws-cdk-lib 2.276.0
// (its recommended-feature-flags.json). They are set here, not in cdk.json, so that a synthesis
// without the CLI makes the same template as `cdk synth`; update the file with aws-cdk-lib.
//
//go:embed featureflags.json
var featureFlags []byte

// NewApp returns the CDK app with the project's feature flags, writing to outdir (nil: the
// CLI's CDK_OUTDIR, or a temporary directory).
func NewApp(outdir *string) awscdk.App {
	var context map[string]any
	if err := json.Unmarshal(featureFlags, &context); err != nil {
		panic(fmt.Sprintf("featureflags.json: %v", err))
	}
	// What the CLI turns on by default: construct paths and asset paths in the template's
	// metadata (deploy errors name the construct at fault).
	context["aws:cdk:enable-path-metadata"] = true
	context["aws:cdk:enable-asset-metadata"] = true
	return awscdk.NewApp(&awscdk.AppProps{
		Outdir: outdir,
		// Post-CLI context wins over cdk.json and -c, so these cannot drift.
		PostCliContext: &context,
		// No AWS::CDK::Metadata resource: nothing reports this app's use of the CDK.
		AnalyticsReporting: jsii.Bool(false),
	})
}

// settingKey is the context key of the setting of variable name: "tracker:" and the name
// without its TRACKER_ prefix in lower-case kebab case (TRACKER_MAX_RETRY is
// tracker:max-retry, LOG_LEVEL tracker:log-level).
func settingKey(name string) string {
	return "tracker:" + strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "TRACKER_")), "_", "-")
}

// propsFromContext reads the options (see the package comment) through get and returns the
// stack name and props.
func propsFromContext(get func(key string) any) (string, *StackProps, error) {
	str := func(key, def string) string {
		switch v := get(key).(type) {
		case nil:
			return def
		case []any: // a list in cdk.json
			parts := make([]string, len(v))
			for i, e := range v {
				parts[i] = fmt.Sprint(e)
			}
			return strings.Join(parts, ",")
		default:
			return strings.TrimSpace(fmt.Sprint(v))
		}
	}
	var errs []string
	atoi := func(key, s string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Sprintf("%s=%q is not a whole number", key, s))
		}
		return n
	}
	num := func(key string) int {
		s := str(key, "")
		if s == "" {
			return 0
		}
		return atoi(key, s)
	}
	list := func(key string) []string {
		var out []string
		for _, e := range strings.Split(str(key, ""), ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}
	boolean := func(key string, def bool) bool {
		b, err := strconv.ParseBool(str(key, strconv.FormatBool(def)))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q is not true or false", key, str(key, "")))
		}
		return b
	}
	dev := boolean("tracker:dev", false)
	var reserved construct.ReservedConcurrency
	switch r := list("tracker:reserved-concurrency"); len(r) {
	case 0:
	case 1:
		reserved.Steps = atoi("tracker:reserved-concurrency", r[0])
	case 2:
		reserved.Steps, reserved.ListPending = atoi("tracker:reserved-concurrency", r[0]), atoi("tracker:reserved-concurrency", r[1])
	default:
		errs = append(errs, fmt.Sprintf("tracker:reserved-concurrency=%q is not N or N,M", str("tracker:reserved-concurrency", "")))
	}
	// The tracker settings, through their own codec (contract.Settings.Set): a setting's key
	// is its variable's name, as settingKey spells it.
	var settings contract.Settings
	// The lane type's older key, tracker:child-execution-type, is read too; the newer wins.
	if v := str("tracker:child-execution-type", ""); v != "" {
		if err := settings.Set(contract.EnvLaneType, v); err != nil {
			errs = append(errs, fmt.Sprintf("tracker:child-execution-type: %v", err))
		}
	}
	for _, name := range contract.EnvNames() {
		if name == contract.EnvTable {
			continue // the stack names the table
		}
		if v := str(settingKey(name), ""); v != "" {
			if err := settings.Set(name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", settingKey(name), err))
			}
		}
	}
	props := &StackProps{AlarmTopicArn: str("tracker:alarm-topic", ""), Tracker: construct.Props{
		AssetDir:       str("tracker:asset-dir", ""),
		DefinitionFile: str("tracker:definition", ""),
		Table: construct.TableOptions{Name: str("tracker:table-name", ""), TTLAttribute: str("tracker:ttl-attribute", ""),
			Existing: str("tracker:existing-table", ""), SeedIndex: boolean("tracker:seed-index", false)},
		Settings:            settings,
		Schedule:            construct.Schedule{JobIDs: list("tracker:sweep-jobs"), Rate: time.Duration(num("tracker:sweep-minutes")) * time.Minute},
		Alarms:              construct.Alarms{Disabled: !boolean("tracker:alarms", true)},
		StateMachineLogs:    awsstepfunctions.LogLevel(str("tracker:state-machine-logs", "")),
		ReservedConcurrency: reserved,
		TenantPrefixes:      list("tracker:tenant-prefixes"),
		Disposable:          dev,
	}}
	if len(errs) > 0 {
		return "", nil, fmt.Errorf("context: %s", strings.Join(errs, "; "))
	}
	return str("tracker:stack-name", DefaultStackName), props, nil
}
