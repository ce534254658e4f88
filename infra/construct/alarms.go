package construct

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Alarms turns off the construct's CloudWatch alarms. The zero value deploys every alarm and
// the dashboard; each alarm fires on one event or more in 5 minutes, and is OK without data.
type Alarms struct {
	// Disabled turns off every alarm and the dashboard.
	Disabled bool
	// NoFailedExecutions turns off the alarm on failed executions of the state machine
	// (ExecutionsFailed): a job's run that ended in an error, not a task that failed.
	NoFailedExecutions bool
	// NoIgnoredTasks turns off the alarm on tasks moved to ignored, having failed MaxRetry
	// times: a metric filter counts the fail function's log lines that say so.
	NoIgnoredTasks bool
	// NoFunctionErrors turns off the alarms on the Errors of each tracker function and the
	// worker.
	NoFunctionErrors bool
	// NoFunctionThrottles turns off the alarms on the Throttles of each tracker function and
	// the worker.
	NoFunctionThrottles bool
	// NoTableThrottles turns off the alarms on read and write throttle events of the table
	// and of its index.
	NoTableThrottles bool
}

// IgnoredTasksMetric is the name of the metric counting tasks moved to ignored, in the
// namespace "dynamodb-tracker/<the construct's unique name>".
const IgnoredTasksMetric = "TasksIgnored"

// period is the alarms' and the dashboard's period. A function, not a variable: a jsii
// object made at init would not survive the kernel's restart.
func period() awscdk.Duration { return awscdk.Duration_Minutes(jsii.Number(5)) }

func sum() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: period(), Statistic: jsii.String("Sum")}
}

// newMonitoring adds the alarms p.Alarms leaves on, each notifying p.AlarmTopic, and a
// dashboard of every metric they watch.
func (c *Tracker) newMonitoring(p *Props) {
	a := p.Alarms
	if a.Disabled {
		return
	}
	var alarms []awscloudwatch.Alarm
	alarm := func(id, description string, metric awscloudwatch.IMetric) {
		al := awscloudwatch.NewAlarm(c.Construct, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("dynamodb-tracker: " + description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if p.AlarmTopic != nil {
			al.AddAlarmAction(awscloudwatchactions.NewSnsAction(p.AlarmTopic))
			al.AddOkAction(awscloudwatchactions.NewSnsAction(p.AlarmTopic))
		}
		alarms = append(alarms, al)
	}

	failed := c.StateMachine.MetricFailed(sum())
	if !a.NoFailedExecutions {
		alarm("FailedExecutions", "an execution of the state machine failed", failed)
	}

	name := awscdk.Names_UniqueResourceName(c.Construct, &awscdk.UniqueResourceNameOptions{
		MaxLength: jsii.Number(200), Separator: jsii.String("-"), AllowedSpecialCharacters: jsii.String("-_"),
	})
	// The fail function logs one JSON line per failed attempt (slog): {"msg":"failed",
	// "status":"ignored",...} when the attempt was the last one allowed.
	filter := awslogs.NewMetricFilter(c.Construct, jsii.String("IgnoredTasks"), &awslogs.MetricFilterProps{
		LogGroup: c.logs[Fail],
		FilterPattern: awslogs.FilterPattern_All(
			awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String("failed")),
			awslogs.FilterPattern_StringValue(jsii.String("$.status"), jsii.String("="), jsii.String(tracker.Ignored.String())),
		),
		MetricNamespace: jsii.String("dynamodb-tracker/" + *name),
		MetricName:      jsii.String(IgnoredTasksMetric),
		MetricValue:     jsii.String("1"),
	})
	ignored := filter.Metric(sum())
	if !a.NoIgnoredTasks {
		alarm("IgnoredTasks", "a task failed its last allowed attempt and is ignored", ignored)
	}

	var errs, throttles []awscloudwatch.IMetric
	for _, f := range []struct {
		id string
		fn awslambda.IFunction
	}{{"Claim", c.Claim}, {"Complete", c.Complete}, {"Fail", c.Fail}, {"ListPending", c.ListPending}, {"Worker", c.Worker}} {
		e, t := f.fn.MetricErrors(sum()), f.fn.MetricThrottles(sum())
		errs, throttles = append(errs, e), append(throttles, t)
		if !a.NoFunctionErrors {
			alarm(f.id+"Errors", "the "+f.id+" function returned errors", e)
		}
		if !a.NoFunctionThrottles {
			alarm(f.id+"Throttles", "invocations of the "+f.id+" function were throttled", t)
		}
	}

	var tableThrottles []awscloudwatch.IMetric
	for _, on := range []struct {
		id, what   string
		dimensions map[string]*string
	}{
		{"Table", "the table", map[string]*string{"TableName": c.Table.TableName()}},
		{"Index", "the index " + tracker.IndexName, map[string]*string{"TableName": c.Table.TableName(), "GlobalSecondaryIndexName": jsii.String(tracker.IndexName)}},
	} {
		for _, kind := range []string{"Read", "Write"} {
			m := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(kind + "ThrottleEvents"),
				DimensionsMap: &on.dimensions, Period: period(), Statistic: jsii.String("Sum"),
			})
			tableThrottles = append(tableThrottles, m)
			if !a.NoTableThrottles {
				alarm(on.id+kind+"Throttles", "requests to "+on.what+" were throttled ("+kind+"ThrottleEvents)", m)
			}
		}
	}

	c.Alarms = alarms
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12), Period: period(),
		})
	}
	rows := [][]awscloudwatch.IWidget{
		{graph("Executions", c.StateMachine.MetricStarted(sum()), c.StateMachine.MetricSucceeded(sum()), failed), graph("Tasks ignored", ignored)},
		{graph("Function errors", errs...), graph("Function throttles", throttles...)},
		{graph("Table and index throttle events", tableThrottles...)},
	}
	if len(alarms) > 0 {
		status := make([]interfacesawscloudwatch.IAlarmRef, len(alarms))
		for i, al := range alarms {
			status[i] = al
		}
		rows = append([][]awscloudwatch.IWidget{{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
			Title: jsii.String("Alarms"), Alarms: &status, Width: jsii.Number(24),
		})}}, rows...)
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	c.Dashboard = awscloudwatch.NewDashboard(c.Construct, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{Widgets: &widgets})
}
