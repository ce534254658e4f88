package contract

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The environment variables of every function, one per field of Settings.
const (
	EnvTable            = "TRACKER_TABLE"
	EnvStatusCodes      = "TRACKER_STATUS_CODES"
	EnvMaxRetry         = "TRACKER_MAX_RETRY"
	EnvLeaseSeconds     = "TRACKER_LEASE_SECONDS"
	EnvBackoffSeconds   = "TRACKER_BACKOFF_SECONDS"
	EnvConcurrency      = "TRACKER_CONCURRENCY"
	EnvLaneType         = "TRACKER_LANE_TYPE"
	EnvWorkerTimeout    = "TRACKER_WORKER_TIMEOUT_SECONDS"
	EnvMetrics          = "TRACKER_METRICS"
	EnvMetricsNamespace = "TRACKER_METRICS_NAMESPACE"
	EnvPermanentErrors  = "TRACKER_PERMANENT_ERRORS"
	EnvLogLevel         = "LOG_LEVEL"
)

// Defaults and limits of the settings that the tracker package does not hold itself.
const (
	// DefaultWorkerTimeout is the worker's timeout when none is set: the example worker's.
	DefaultWorkerTimeout = 60 * time.Second
	// MaxWorkerTimeout is the longest timeout Lambda allows a function.
	MaxWorkerTimeout = 15 * time.Minute
	// DefaultMetricsNamespace is the CloudWatch namespace of the functions' metrics.
	DefaultMetricsNamespace = emf.DefaultNamespace
	// DefaultLogLevel is the functions' log level: warnings and errors only. CloudWatch Logs
	// bills by the GB, and at info every task adds two lines.
	DefaultLogLevel = LogWarn
	// LaneStartAllowance is what a lane's start (its child execution's start and first
	// step) may take of an Express lane's ExpressBudget.
	LaneStartAllowance = 10 * time.Second
)

// RetryAllowance is how long a task may stay claimed beyond its worker's timeout: the state
// machine retries the claim, complete and fail steps and a throttled worker invocation with
// backoff, and the lease must cover those waits too. Settings are valid only when
// WorkerTimeout + RetryAllowance is shorter than LeaseDuration (see Validate), or the lease
// of a task still being worked on could expire and another execution claim it.
const RetryAllowance = 2 * time.Minute

// Settings are every setting of a deployment, in one place: what every function reads from
// its environment (the tracker's configuration, the defaults of a run, which list-pending
// answers to the state machine, and how the functions log and count), what the CDK construct
// takes as props and the local stack passes on. Every field is one variable (see settings,
// the codec); the zero value of every field but Table means its default (WithDefaults), and
// Validate holds every range and every rule between fields.
type Settings struct {
	// Table is the task table's name. Required by the functions; the construct fills it.
	Table string
	// Codes are the status codes; zero means tracker.DefaultStatusCodes.
	Codes tracker.StatusCodes
	// MaxRetry is how many failed attempts ignore a task, at most tracker.MaxMaxRetry; 0
	// means tracker.DefaultMaxRetry.
	MaxRetry int
	// LeaseDuration is how long a claim holds a task, in whole seconds, at most
	// tracker.MaxLeaseDuration; 0 means tracker.DefaultLeaseDuration.
	LeaseDuration time.Duration
	// Backoff is the wait after a task's first failure, doubling per failure up to
	// tracker.MaxBackoff, in whole seconds; 0 means tracker.DefaultBackoff.
	Backoff time.Duration
	// Concurrency is how many tasks a run works at once unless its input says, 1 to
	// MaxConcurrency; 0 means DefaultConcurrency.
	Concurrency int
	// LaneType is the type of the state machine's lanes, its Distributed Map's child
	// executions (the definition's ${ChildExecutionType}); "" means LaneExpress.
	LaneType LaneType
	// WorkerTimeout is the worker's timeout, the Work step's TimeoutSeconds, in whole
	// seconds up to MaxWorkerTimeout; 0 means DefaultWorkerTimeout.
	WorkerTimeout time.Duration
	// Metrics turns on the functions' per-job CloudWatch metrics (claimed, succeeded,
	// failed, ignored, refused, duration), written as Embedded Metric Format lines to their
	// logs: about 0.9 KB of logs a task (about $0.45 per million tasks at $0.50 a GB), and
	// six custom metrics per job. Off by default: the table holds every count.
	Metrics bool
	// MetricsNamespace is the CloudWatch namespace of the functions' metrics; "" means
	// DefaultMetricsNamespace.
	MetricsNamespace string
	// PermanentErrors lists errorTypes, beyond those ending with PermanentErrorSuffix, whose
	// failures no retry can cure (see IsPermanent); "" means none.
	PermanentErrors ErrorTypes
	// LogLevel is the functions' log level; "" means DefaultLogLevel.
	LogLevel LogLevel
}

// LogLevel is a log level of the functions: debug, info, warn or error.
type LogLevel string

// The log levels.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

// Slog is the level as log/slog has it; "" (or anything else) is DefaultLogLevel's.
func (l LogLevel) Slog() slog.Level {
	switch l {
	case LogDebug:
		return slog.LevelDebug
	case LogInfo:
		return slog.LevelInfo
	case LogError:
		return slog.LevelError
	}
	return slog.LevelWarn
}

func (l LogLevel) valid() bool { return l == LogDebug || l == LogInfo || l == LogWarn || l == LogError }

// LaneType is the type of the state machine's lanes (its child executions).
type LaneType string

// Lane types: Express lanes are cheap and run at most ExpressBudget seconds each; Standard
// lanes run longer work, bounded by their history instead.
const (
	LaneExpress  LaneType = "EXPRESS"
	LaneStandard LaneType = "STANDARD"
)

// LoopsPerLane is how many loops a run puts in a lane of this type at most (unless it needs
// more than MaxLanes lanes). An Express lane bills its whole life whatever runs in it, so it
// takes MaxLoops, its groups side by side. A Standard lane bills its transitions, not its
// life, and its history bounds its tasks (StandardLaneTasks: 4 a loop at 40 loops, 1 at
// 120), so it takes one group's MapLoops.
func (t LaneType) LoopsPerLane() int {
	if t == LaneStandard {
		return MapLoops
	}
	return MaxLoops
}

// setting is the codec of one variable: the field it fills. Durations are whole seconds.
type setting struct {
	name  string
	field func(*Settings) any // a pointer to the field
}

// settings are every variable, in the order of the fields of Settings.
var settings = []setting{
	{EnvTable, func(s *Settings) any { return &s.Table }},
	{EnvStatusCodes, func(s *Settings) any { return &s.Codes }},
	{EnvMaxRetry, func(s *Settings) any { return &s.MaxRetry }},
	{EnvLeaseSeconds, func(s *Settings) any { return &s.LeaseDuration }},
	{EnvBackoffSeconds, func(s *Settings) any { return &s.Backoff }},
	{EnvConcurrency, func(s *Settings) any { return &s.Concurrency }},
	{EnvLaneType, func(s *Settings) any { return &s.LaneType }},
	{EnvWorkerTimeout, func(s *Settings) any { return &s.WorkerTimeout }},
	{EnvMetrics, func(s *Settings) any { return &s.Metrics }},
	{EnvMetricsNamespace, func(s *Settings) any { return &s.MetricsNamespace }},
	{EnvPermanentErrors, func(s *Settings) any { return &s.PermanentErrors }},
	{EnvLogLevel, func(s *Settings) any { return &s.LogLevel }},
}

// SettingError is a variable that is missing or holds a value its setting refuses.
type SettingError struct {
	Name   string // the variable, e.g. TRACKER_MAX_RETRY
	Value  string // its text
	Reason string // why it is refused, e.g. "is not a whole number within 1..1000"
}

func (e *SettingError) Error() string {
	if e.Value == "" {
		return e.Name + " " + e.Reason
	}
	return fmt.Sprintf("%s=%q %s", e.Name, e.Value, e.Reason)
}

// FromEnv reads the settings through getenv (os.Getenv in a main), with the defaults filled
// in. It reports the first missing or malformed variable, or settings that Validate refuses,
// as a *SettingError.
func FromEnv(getenv func(string) string) (Settings, error) {
	var s Settings
	for _, v := range settings {
		if text := getenv(v.name); text != "" {
			if err := s.Set(v.name, text); err != nil {
				return s, err
			}
		}
	}
	if s.Table == "" {
		return s, &SettingError{Name: EnvTable, Reason: "is not set"}
	}
	s = s.WithDefaults()
	return s, s.Validate()
}

// Validate checks every setting of s, its defaults filled in, against its range, and the
// rules between them: the tracker's own ranges (tracker.Config.Validate), durations in whole
// seconds, Concurrency 1 to MaxConcurrency, WorkerTimeout up to MaxWorkerTimeout, a known lane
// type and log level, errorType names in PermanentErrors; a lease that outlasts the worker's timeout plus RetryAllowance; and in
// an Express lane, a worker's timeout and LaneMargin that fit in ExpressBudget after
// LaneStartAllowance. A refusal is a *SettingError naming the variable.
func (s Settings) Validate() error {
	s = s.WithDefaults()
	if err := s.TrackerConfig().Validate(); err != nil {
		var ve *tracker.ValidationError
		if errors.As(err, &ve) {
			name := trackerFields[ve.Field]
			return &SettingError{Name: name, Value: s.text(name), Reason: ve.Reason}
		}
		return err
	}
	refuse := func(name, reason string) error { return &SettingError{Name: name, Value: s.text(name), Reason: reason} }
	for name, d := range map[string]time.Duration{EnvLeaseSeconds: s.LeaseDuration, EnvBackoffSeconds: s.Backoff, EnvWorkerTimeout: s.WorkerTimeout} {
		if d%time.Second != 0 {
			return &SettingError{Name: name, Value: d.String(), Reason: "is not a whole number of seconds"}
		}
	}
	switch {
	case s.Concurrency < 1 || s.Concurrency > MaxConcurrency:
		return refuse(EnvConcurrency, fmt.Sprintf("is not between 1 and %d", MaxConcurrency))
	case s.WorkerTimeout < 0 || s.WorkerTimeout > MaxWorkerTimeout:
		return refuse(EnvWorkerTimeout, fmt.Sprintf("is not between 1 and %d (Lambda's longest timeout)", int(MaxWorkerTimeout/time.Second)))
	case s.LaneType != LaneExpress && s.LaneType != LaneStandard:
		return refuse(EnvLaneType, "is not EXPRESS or STANDARD")
	case !s.LogLevel.valid():
		return refuse(EnvLogLevel, "is not debug, info, warn or error")
	case s.PermanentErrors.check() != nil:
		return refuse(EnvPermanentErrors, s.PermanentErrors.check().Error())
	case s.WorkerTimeout+RetryAllowance >= s.LeaseDuration:
		return refuse(EnvWorkerTimeout, fmt.Sprintf("plus the state machine's %d s of step retries is not shorter than %s=%q: a worker could outlive its lease (lower the one or raise the other)",
			int(RetryAllowance/time.Second), EnvLeaseSeconds, s.text(EnvLeaseSeconds)))
	case s.LaneType == LaneExpress && s.WorkerTimeout+LaneMargin*time.Second > ExpressBudget*time.Second-LaneStartAllowance:
		return refuse(EnvWorkerTimeout, fmt.Sprintf("plus the lane margin (%d s) does not fit in the %d s an EXPRESS lane may run after its start (%d s): set %s to STANDARD",
			LaneMargin, ExpressBudget-int(LaneStartAllowance/time.Second), int(LaneStartAllowance/time.Second), EnvLaneType))
	}
	return nil
}

// trackerFields names the variable of each field tracker.Config.Validate names.
var trackerFields = map[string]string{
	"status_codes": EnvStatusCodes, "max_retry": EnvMaxRetry, "lease_duration": EnvLeaseSeconds, "backoff": EnvBackoffSeconds,
}

// text is the setting of variable name as its variable would hold it.
func (s Settings) text(name string) string { return s.env()[name] }

// Set sets the setting of the variable name from its text, as FromEnv reads it; a
// *SettingError says why the text is refused.
func (s *Settings) Set(name, text string) error {
	for _, v := range settings {
		if v.name == name {
			return v.parse(s, text)
		}
	}
	return &SettingError{Name: name, Value: text, Reason: "is not a tracker setting"}
}

func (v setting) parse(s *Settings, text string) error {
	refuse := func(reason string) error { return &SettingError{Name: v.name, Value: text, Reason: reason} }
	switch p := v.field(s).(type) {
	case *string:
		*p = text
	case *int, *time.Duration:
		// 0 would mean the default: a variable that is set says what it wants.
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 {
			return refuse("is not a whole number of 1 or more")
		}
		if d, ok := p.(*time.Duration); ok {
			*d = time.Duration(n) * time.Second
		} else {
			*p.(*int) = n
		}
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return refuse("is not true or false")
		}
		*p = b
	case *LaneType:
		*p = LaneType(strings.ToUpper(text))
		if *p != LaneExpress && *p != LaneStandard {
			return refuse("is not EXPRESS or STANDARD")
		}
	case *tracker.StatusCodes:
		c, err := tracker.ParseStatusCodes(text)
		if err != nil {
			return refuse(err.Error())
		}
		*p = c
	case *LogLevel:
		*p = LogLevel(strings.ToLower(text))
		if !p.valid() {
			return refuse("is not debug, info, warn or error")
		}
	case *ErrorTypes:
		names, err := ParseErrorTypes(text)
		if err != nil {
			return refuse(err.Error())
		}
		*p = names
	}
	return nil
}

// WithDefaults returns s with the default of every zero setting filled in.
func (s Settings) WithDefaults() Settings {
	if s.Codes == (tracker.StatusCodes{}) {
		s.Codes = tracker.DefaultStatusCodes
	}
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&s.MaxRetry, tracker.DefaultMaxRetry)
	fill(&s.Concurrency, DefaultConcurrency)
	if s.LaneType == "" {
		s.LaneType = LaneExpress
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&s.LeaseDuration, tracker.DefaultLeaseDuration}, {&s.Backoff, tracker.DefaultBackoff}, {&s.WorkerTimeout, DefaultWorkerTimeout},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.MetricsNamespace == "" {
		s.MetricsNamespace = DefaultMetricsNamespace
	}
	if s.LogLevel == "" {
		s.LogLevel = DefaultLogLevel
	}
	return s
}

// Env is the inverse of FromEnv: the variables that give s, by name. A zero setting is left
// out (the function then takes its default). Durations are written in whole seconds.
func (s Settings) Env() map[string]string { return s.env() }

func (s Settings) env() map[string]string {
	env := map[string]string{}
	for _, v := range settings {
		field := v.field(&s)
		if reflect.ValueOf(field).Elem().IsZero() {
			continue
		}
		switch p := field.(type) {
		case *string:
			env[v.name] = *p
		case *ErrorTypes:
			env[v.name] = string(*p)
		case *LaneType:
			env[v.name] = string(*p)
		case *LogLevel:
			env[v.name] = string(*p)
		case *int:
			env[v.name] = strconv.Itoa(*p)
		case *bool:
			env[v.name] = strconv.FormatBool(*p)
		case *time.Duration:
			env[v.name] = strconv.Itoa(int(*p / time.Second))
		case *tracker.StatusCodes:
			env[v.name] = p.String()
		}
	}
	return env
}

// EnvNames lists every variable of Settings, in the order of its fields.
func EnvNames() []string {
	names := make([]string, len(settings))
	for i, v := range settings {
		names[i] = v.name
	}
	return names
}

// TrackerConfig is the tracker.Config the settings give.
func (s Settings) TrackerConfig() tracker.Config {
	return tracker.Config{Table: s.Table, Codes: s.Codes, MaxRetry: s.MaxRetry, LeaseDuration: s.LeaseDuration, Backoff: s.Backoff}
}

// PermanentErrorSuffix ends the errorType of a worker's failure that no retry can cure, by
// convention: "PermanentError", "NotFoundPermanentError". The name works as a Python class,
// a JavaScript error's name and a Go type (aws-lambda-go names the errorType after it) alike.
const PermanentErrorSuffix = "PermanentError"

// ErrorTypes is a list of errorType names, comma-separated as TRACKER_PERMANENT_ERRORS
// holds it ("NoText,BadData"); its zero value is the empty list. It is text so that Settings
// compare with ==.
type ErrorTypes string

// errorTypeName is what an errorType may be: a name, dotted or not, as Lambda's runtimes and
// Step Functions name errors.
var errorTypeName = regexp.MustCompile(`^[A-Za-z_$][\w$.]{0,127}$`)

// ParseErrorTypes reads a comma-separated list of errorType names (spaces around each are
// dropped), refusing an empty or malformed name and a repeated one.
func ParseErrorTypes(text string) (ErrorTypes, error) {
	var names []string
	for name := range strings.SplitSeq(text, ",") {
		name = strings.TrimSpace(name)
		switch {
		case !errorTypeName.MatchString(name):
			return "", fmt.Errorf("%q is not an errorType name (letters, digits, _, $ and dots, at most 128)", name)
		case slices.Contains(names, name):
			return "", fmt.Errorf("names %s twice", name)
		}
		names = append(names, name)
	}
	return ErrorTypes(strings.Join(names, ",")), nil
}

// check refuses a list that ParseErrorTypes would not give: a malformed or repeated name, or
// spaces around one (a list set in Go rather than read from its variable).
func (l ErrorTypes) check() error {
	if l == "" {
		return nil
	}
	parsed, err := ParseErrorTypes(string(l))
	if err != nil {
		return err
	}
	if parsed != l {
		return fmt.Errorf("is not written as %q: names separated by commas alone", string(parsed))
	}
	return nil
}

// Names returns the list's names.
func (l ErrorTypes) Names() []string {
	if l == "" {
		return nil
	}
	return strings.Split(string(l), ",")
}

// IsPermanent reports whether a worker's failure of errorType is one no retry can cure: its
// name ends with PermanentErrorSuffix, or PermanentErrors lists it. The fail function then
// ignores the task at once.
func (s Settings) IsPermanent(errorType string) bool {
	return strings.HasSuffix(errorType, PermanentErrorSuffix) || slices.Contains(s.PermanentErrors.Names(), errorType)
}
