package contract

import (
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
	EnvMetricsNamespace = "TRACKER_METRICS_NAMESPACE"
	EnvPermanentErrors  = "TRACKER_PERMANENT_ERRORS"
	EnvLogLevel         = "LOG_LEVEL"
)

// Defaults of the settings that the tracker package does not default itself.
const (
	// DefaultWorkerTimeout is the worker's timeout when none is set: the example worker's.
	DefaultWorkerTimeout = 60 * time.Second
	// DefaultMetricsNamespace is the CloudWatch namespace of the functions' metrics.
	DefaultMetricsNamespace = emf.DefaultNamespace
	// DefaultLogLevel is the functions' log level.
	DefaultLogLevel = slog.LevelInfo
)

// RetryAllowance is how long a task may stay claimed beyond its worker's timeout: the state
// machine retries the claim, complete and fail steps and a throttled worker invocation with
// backoff, and the lease must cover those waits too. Settings are valid only when
// WorkerTimeout + RetryAllowance is shorter than LeaseDuration (see Validate), or the lease
// of a task still being worked on could expire and another execution claim it. The CDK
// construct holds its props to the same rule.
const RetryAllowance = 2 * time.Minute

// Settings are what every function reads from its environment: the tracker's configuration,
// the defaults of a run (list-pending answers them to the state machine) and how the
// functions log. Every field is one variable (see settings, the codec); the zero value of
// every field but Table means its default (WithDefaults).
type Settings struct {
	// Table is the task table's name. Required.
	Table string
	// Codes are the status codes; zero means tracker.DefaultStatusCodes.
	Codes tracker.StatusCodes
	// MaxRetry is how many failed attempts ignore a task; 0 means tracker.DefaultMaxRetry.
	MaxRetry int
	// LeaseDuration is how long a claim holds a task, in whole seconds; 0 means
	// tracker.DefaultLeaseDuration.
	LeaseDuration time.Duration
	// Backoff is the wait after a task's first failure, doubling per failure, in whole
	// seconds; 0 means tracker.DefaultBackoff.
	Backoff time.Duration
	// Concurrency is how many tasks a run works at once unless its input says; 0 means
	// DefaultConcurrency.
	Concurrency int
	// LaneType is the type of the state machine's lanes, its Distributed Map's child
	// executions (the definition's ${ChildExecutionType}); "" means LaneExpress.
	LaneType LaneType
	// WorkerTimeout is the worker's timeout, the Work step's TimeoutSeconds, in whole
	// seconds; 0 means DefaultWorkerTimeout.
	WorkerTimeout time.Duration
	// MetricsNamespace is the CloudWatch namespace of the functions' metrics; "" means
	// DefaultMetricsNamespace.
	MetricsNamespace string
	// PermanentErrors lists errorTypes, beyond those ending with PermanentErrorSuffix, whose
	// failures no retry can cure (see IsPermanent); "" means none.
	PermanentErrors ErrorTypes
	// LogLevel is the functions' log level (its zero value is info, DefaultLogLevel).
	LogLevel slog.Level
}

// LaneType is the type of the state machine's lanes (its child executions).
type LaneType string

// Lane types: Express lanes are cheap and run at most ExpressBudget seconds each; Standard
// lanes run longer work, bounded by their history instead.
const (
	LaneExpress  LaneType = "EXPRESS"
	LaneStandard LaneType = "STANDARD"
)

// setting is the codec of one variable: the field it fills and, for numbers, the range it
// accepts (durations in whole seconds).
type setting struct {
	name     string
	field    func(*Settings) any // a pointer to the field
	min, max int
}

// settings are every variable, in the order of the fields of Settings.
var settings = []setting{
	{EnvTable, func(s *Settings) any { return &s.Table }, 0, 0},
	{EnvStatusCodes, func(s *Settings) any { return &s.Codes }, 0, 0},
	{EnvMaxRetry, func(s *Settings) any { return &s.MaxRetry }, 1, 1 << 30},
	{EnvLeaseSeconds, func(s *Settings) any { return &s.LeaseDuration }, 1, 1 << 30},
	{EnvBackoffSeconds, func(s *Settings) any { return &s.Backoff }, 1, 86400},
	{EnvConcurrency, func(s *Settings) any { return &s.Concurrency }, 1, MaxConcurrency},
	{EnvLaneType, func(s *Settings) any { return &s.LaneType }, 0, 0},
	{EnvWorkerTimeout, func(s *Settings) any { return &s.WorkerTimeout }, 1, 86400},
	{EnvMetricsNamespace, func(s *Settings) any { return &s.MetricsNamespace }, 0, 0},
	{EnvPermanentErrors, func(s *Settings) any { return &s.PermanentErrors }, 0, 0},
	{EnvLogLevel, func(s *Settings) any { return &s.LogLevel }, 0, 0},
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

// Validate checks the rules between settings, on s with its defaults filled in: the lease
// must outlast the worker's timeout plus RetryAllowance. A refusal is a *SettingError on
// TRACKER_WORKER_TIMEOUT_SECONDS whose message names TRACKER_LEASE_SECONDS too.
func (s Settings) Validate() error {
	s = s.WithDefaults()
	if s.WorkerTimeout+RetryAllowance >= s.LeaseDuration {
		return &SettingError{Name: EnvWorkerTimeout, Value: strconv.Itoa(int(s.WorkerTimeout / time.Second)),
			Reason: fmt.Sprintf("plus the state machine's %d s of step retries is not shorter than %s=%q: a worker could outlive its lease (lower the one or raise the other)",
				int(RetryAllowance/time.Second), EnvLeaseSeconds, strconv.Itoa(int(s.LeaseDuration/time.Second)))}
	}
	return nil
}

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
	number := func() (int, error) {
		n, err := strconv.Atoi(text)
		if err != nil || n < v.min || n > v.max {
			return 0, refuse(fmt.Sprintf("is not a whole number within %d..%d", v.min, v.max))
		}
		return n, nil
	}
	switch p := v.field(s).(type) {
	case *string:
		*p = text
	case *int:
		n, err := number()
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		n, err := number()
		if err != nil {
			return err
		}
		*p = time.Duration(n) * time.Second
	case *LaneType:
		t := LaneType(strings.ToUpper(text))
		if t != LaneExpress && t != LaneStandard {
			return refuse("is not EXPRESS or STANDARD")
		}
		*p = t
	case *tracker.StatusCodes:
		c, err := tracker.ParseStatusCodes(text)
		if err != nil {
			return refuse(err.Error())
		}
		*p = c
	case *slog.Level:
		if err := p.UnmarshalText([]byte(strings.ToUpper(text))); err != nil {
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
	return s
}

// Env is the inverse of FromEnv: the variables that give s, by name. A zero setting is left
// out (the function then takes its default), but the log level, whose zero value is info, is
// always written. Durations are written in whole seconds.
func (s Settings) Env() map[string]string {
	env := map[string]string{}
	for _, v := range settings {
		field := v.field(&s)
		if reflect.ValueOf(field).Elem().IsZero() && v.name != EnvLogLevel {
			continue
		}
		switch p := field.(type) {
		case *string:
			env[v.name] = *p
		case *ErrorTypes:
			env[v.name] = string(*p)
		case *LaneType:
			env[v.name] = string(*p)
		case *int:
			env[v.name] = strconv.Itoa(*p)
		case *time.Duration:
			env[v.name] = strconv.Itoa(int(*p / time.Second))
		case *tracker.StatusCodes:
			env[v.name] = p.String()
		case *slog.Level:
			env[v.name] = strings.ToLower(p.String())
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
