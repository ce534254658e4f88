package contract_test

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// sample sets every setting to a value other than its default.
var sample = contract.Settings{
	Table: "tasks", Codes: tracker.StatusCodes{Todo: 1, InProgress: 2, Failed: 4, Succeeded: 5, Ignored: 7},
	MaxRetry: 5, LeaseDuration: 10 * time.Minute, Backoff: 2 * time.Second, Concurrency: 3, LaneType: contract.LaneStandard,
	WorkerTimeout: 120 * time.Second, Metrics: true, MetricsNamespace: "team/tracker", PermanentErrors: "NoText,Runtime.ImportModuleError", LogLevel: contract.LogDebug,
}

func TestFromEnv(t *testing.T) {
	s, err := contract.FromEnv(env("TRACKER_TABLE", "tasks", "TRACKER_STATUS_CODES", "1,2,4,5,7",
		"TRACKER_MAX_RETRY", "5", "TRACKER_LEASE_SECONDS", "600", "LOG_LEVEL", "debug",
		"TRACKER_BACKOFF_SECONDS", "2", "TRACKER_CONCURRENCY", "3", "TRACKER_LANE_TYPE", "standard",
		"TRACKER_WORKER_TIMEOUT_SECONDS", "120"))
	if err != nil {
		t.Fatal(err)
	}
	if s.MetricsNamespace != "dynamodb-tracker" {
		t.Errorf("metrics namespace = %q, want the default", s.MetricsNamespace)
	}
	if c, err := contract.FromEnv(env("TRACKER_TABLE", "t", "TRACKER_METRICS_NAMESPACE", "team/tracker")); err != nil || c.MetricsNamespace != "team/tracker" {
		t.Errorf("TRACKER_METRICS_NAMESPACE: %q, %v", c.MetricsNamespace, err)
	}
	if s.Backoff != 2*time.Second || s.Concurrency != 3 || s.LaneType != contract.LaneStandard || s.WorkerTimeout != 120*time.Second {
		t.Errorf("run settings = %+v", s)
	}
	if def, err := contract.FromEnv(env("TRACKER_TABLE", "t")); err != nil || def.LaneType != contract.LaneExpress ||
		def.Concurrency != 200 || def.WorkerTimeout != 60*time.Second || def.Backoff != tracker.DefaultBackoff ||
		def.MaxRetry != tracker.DefaultMaxRetry || def.LeaseDuration != tracker.DefaultLeaseDuration || def.Codes != tracker.DefaultStatusCodes ||
		def.LogLevel != contract.LogWarn || def.Metrics {
		t.Errorf("defaults = %+v, %v", def, err)
	}
	want := tracker.StatusCodes{Todo: 1, InProgress: 2, Failed: 4, Succeeded: 5, Ignored: 7}
	if s.Table != "tasks" || s.Codes != want || s.MaxRetry != 5 || s.LeaseDuration != 10*time.Minute || s.LogLevel != contract.LogDebug || s.LogLevel.Slog() != slog.LevelDebug {
		t.Errorf("settings = %+v", s)
	}
	if cfg := s.TrackerConfig(); cfg.Table != "tasks" || cfg.Codes != want || cfg.MaxRetry != 5 || cfg.LeaseDuration != 10*time.Minute || cfg.Backoff != 2*time.Second {
		t.Errorf("TrackerConfig = %+v", cfg)
	}
}

func TestFromEnvNamesTheBadVariable(t *testing.T) {
	for name, bad := range map[string]func(string) string{
		"TRACKER_TABLE":                  env(),
		"TRACKER_STATUS_CODES":           env("TRACKER_TABLE", "t", "TRACKER_STATUS_CODES", "0,3,6,12,10"),
		"TRACKER_MAX_RETRY":              env("TRACKER_TABLE", "t", "TRACKER_MAX_RETRY", "zero"),
		"TRACKER_LEASE_SECONDS":          env("TRACKER_TABLE", "t", "TRACKER_LEASE_SECONDS", "-1"),
		"LOG_LEVEL":                      env("TRACKER_TABLE", "t", "LOG_LEVEL", "loud"),
		"TRACKER_LANE_TYPE":              env("TRACKER_TABLE", "t", "TRACKER_LANE_TYPE", "fast"),
		"TRACKER_CONCURRENCY":            env("TRACKER_TABLE", "t", "TRACKER_CONCURRENCY", "1200001"),
		"TRACKER_BACKOFF_SECONDS":        env("TRACKER_TABLE", "t", "TRACKER_BACKOFF_SECONDS", "1.5"),
		"TRACKER_WORKER_TIMEOUT_SECONDS": env("TRACKER_TABLE", "t", "TRACKER_WORKER_TIMEOUT_SECONDS", "x"),
		"TRACKER_METRICS":                env("TRACKER_TABLE", "t", "TRACKER_METRICS", "maybe"),
		"TRACKER_PERMANENT_ERRORS":       env("TRACKER_TABLE", "t", "TRACKER_PERMANENT_ERRORS", "NoText,,BadData"),
	} {
		_, err := contract.FromEnv(bad)
		var se *contract.SettingError
		if !errors.As(err, &se) || se.Name != name || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: error %v does not name it", name, err)
		}
	}
}

// TestEnvRoundTrips checks that Env is FromEnv's inverse for every field: one set alone
// (the others at their defaults) and all at once. A field without a codec, or one the sample
// leaves at its default, fails it.
func TestEnvRoundTrips(t *testing.T) {
	def := contract.Settings{Table: "t"}.WithDefaults()
	sv, dv := reflect.ValueOf(sample), reflect.ValueOf(def)
	if n := sv.NumField(); n != len(contract.EnvNames()) {
		t.Errorf("Settings has %d fields and %d variables", n, len(contract.EnvNames()))
	}
	for i := range sv.NumField() {
		name := sv.Type().Field(i).Name
		if reflect.DeepEqual(sv.Field(i).Interface(), dv.Field(i).Interface()) {
			t.Errorf("the sample leaves %s at its default: give it another value", name)
			continue
		}
		one := def
		reflect.ValueOf(&one).Elem().Field(i).Set(sv.Field(i))
		got, err := contract.FromEnv(env(flatten(one.Env())...))
		if err != nil || got != one {
			t.Errorf("%s: FromEnv(Env()) = %+v, %v; want %+v", name, got, err, one)
		}
	}
	got, err := contract.FromEnv(env(flatten(sample.Env())...))
	if err != nil || got != sample {
		t.Errorf("FromEnv(Env()) = %+v, %v; want %+v", got, err, sample)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range sample.Env() {
			if !yield(k) {
				return
			}
		}
	})
	if want := slices.Sorted(slices.Values(contract.EnvNames())); !slices.Equal(names, want) {
		t.Errorf("Env names %v, want %v", names, want)
	}
	if e := (contract.Settings{Table: "t"}).Env(); len(e) != 1 {
		t.Errorf("Env of the zero settings = %v, want only the table", e)
	}
}

func flatten(m map[string]string) []string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k, v)
	}
	return kv
}

// TestFromEnvRefusesAWorkerTheLeaseCannotCover: the lease must outlast the worker's timeout
// plus the state machine's step retries (RetryAllowance), as the CDK construct requires, or a
// slow worker outlives its lease and another execution claims its task. FromEnv refuses
// such settings whichever variable is set, and names both.
func TestFromEnvRefusesAWorkerTheLeaseCannotCover(t *testing.T) {
	const refusal = `TRACKER_WORKER_TIMEOUT_SECONDS=%q plus the state machine's 120 s of step retries is not shorter than TRACKER_LEASE_SECONDS=%q: a worker could outlive its lease (lower the one or raise the other)`
	tests := []struct {
		name          string
		worker, lease string // "" leaves the variable unset (the default: 60 and 900)
		refusedWorker string // the values the error names; "" means accepted
		refusedLease  string
	}{
		{"a worker timeout that ends with the lease is refused", "780", "900", "780", "900"},
		{"a worker timeout as long as the lease is refused", "900", "900", "900", "900"},
		{"a worker timeout the default lease cannot cover is refused", "800", "", "800", "900"},
		{"a lease shorter than the default worker timeout is refused", "", "60", "60", "60"},
		{"a lease of exactly the default worker timeout and the allowance is refused", "", "180", "60", "180"},
		{"a worker timeout a second shorter than the lease less the allowance is accepted", "779", "900", "", ""},
		{"a lease a second longer than the default worker timeout and the allowance is accepted", "", "181", "", ""},
		{"the defaults are accepted", "", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Standard lanes: an Express lane's 5 minutes would refuse long workers first.
			s, err := contract.FromEnv(env("TRACKER_TABLE", "t", "TRACKER_WORKER_TIMEOUT_SECONDS", tc.worker, "TRACKER_LEASE_SECONDS", tc.lease,
				"TRACKER_LANE_TYPE", "STANDARD"))
			if tc.refusedWorker == "" {
				if err != nil || s.WorkerTimeout+contract.RetryAllowance >= s.LeaseDuration {
					t.Fatalf("FromEnv = %+v, %v; want accepted", s, err)
				}
				return
			}
			var se *contract.SettingError
			if !errors.As(err, &se) || se.Name != contract.EnvWorkerTimeout {
				t.Fatalf("FromEnv error = %v, want a *SettingError on %s", err, contract.EnvWorkerTimeout)
			}
			if want := fmt.Sprintf(refusal, tc.refusedWorker, tc.refusedLease); err.Error() != want {
				t.Errorf("FromEnv error\n%s\nwant\n%s", err, want)
			}
		})
	}
	if contract.RetryAllowance != 2*time.Minute {
		t.Errorf("RetryAllowance = %v, want the construct's 2 minutes", contract.RetryAllowance)
	}
}

// TestValidate: every range and rule of the settings lives in Validate, which FromEnv, the
// construct and the local stack all call; each refusal names the variable.
func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    contract.Settings
		want string // the error, "" for none
	}{
		{"zero settings are the defaults", contract.Settings{}, ""},
		{"the sample", sample, ""},
		{"max retry over the tracker's limit", contract.Settings{MaxRetry: 1001}, `TRACKER_MAX_RETRY="1001" must be between 0 (the default) and 1000`},
		{"a lease over a day", contract.Settings{LeaseDuration: 25 * time.Hour}, `TRACKER_LEASE_SECONDS="90000" must be between 0 (the default) and 24h0m0s`},
		{"a backoff over the tracker's cap", contract.Settings{Backoff: 301 * time.Second}, `TRACKER_BACKOFF_SECONDS="301" must be between 0 (the default) and 5m0s`},
		{"part of a second", contract.Settings{LeaseDuration: 1500 * time.Second / 1000}, `TRACKER_LEASE_SECONDS="1.5s" is not a whole number of seconds`},
		{"a concurrency beyond 10,000 lanes of 120 loops", contract.Settings{Concurrency: 1200001}, `TRACKER_CONCURRENCY="1200001" is not between 1 and 1200000`},
		{"a worker timeout beyond Lambda's", contract.Settings{WorkerTimeout: 901 * time.Second, LaneType: contract.LaneStandard, LeaseDuration: time.Hour},
			`TRACKER_WORKER_TIMEOUT_SECONDS="901" is not between 1 and 900 (Lambda's longest timeout)`},
		{"an unknown lane type", contract.Settings{LaneType: "fast"}, `TRACKER_LANE_TYPE="fast" is not EXPRESS or STANDARD`},
		{"an unknown log level", contract.Settings{LogLevel: "warn+1"}, `LOG_LEVEL="warn+1" is not debug, info, warn or error`},
		{"an Express lane cannot fit the worker", contract.Settings{WorkerTimeout: 261 * time.Second},
			`TRACKER_WORKER_TIMEOUT_SECONDS="261" plus the lane margin (30 s) does not fit in the 290 s an EXPRESS lane may run after its start (10 s): set TRACKER_LANE_TYPE to STANDARD`},
		{"an Express lane just fits the worker", contract.Settings{WorkerTimeout: 260 * time.Second}, ""},
		{"a Standard lane takes it", contract.Settings{WorkerTimeout: 261 * time.Second, LaneType: contract.LaneStandard}, ""},
		{"a malformed permanent errorType", contract.Settings{PermanentErrors: "NoText,No Text"}, `TRACKER_PERMANENT_ERRORS="NoText,No Text" "No Text" is not an errorType name (letters, digits, _, $ and dots, at most 128)`},
		{"a permanent errorType named twice", contract.Settings{PermanentErrors: "NoText,NoText"}, `TRACKER_PERMANENT_ERRORS="NoText,NoText" names NoText twice`},
		{"spaces in the permanent errorTypes", contract.Settings{PermanentErrors: "NoText, BadData"}, `TRACKER_PERMANENT_ERRORS="NoText, BadData" is not written as "NoText,BadData": names separated by commas alone`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var se *contract.SettingError
			if !errors.As(err, &se) || err.Error() != tc.want {
				t.Errorf("Validate = %v, want %q as a *SettingError", err, tc.want)
			}
		})
	}
}

// TestPermanentErrors: an errorType is permanent by the naming convention or by the
// settings' list, which the codec reads strictly.
func TestPermanentErrors(t *testing.T) {
	s, err := contract.FromEnv(env("TRACKER_TABLE", "t", "TRACKER_PERMANENT_ERRORS", " NoText , Runtime.ImportModuleError"))
	if err != nil || s.PermanentErrors != "NoText,Runtime.ImportModuleError" {
		t.Fatalf("FromEnv = %q, %v", s.PermanentErrors, err)
	}
	for _, c := range []struct {
		errorType string
		want      bool
	}{
		{"PermanentError", true},
		{"NotFoundPermanentError", true},
		{"NoText", true},
		{"Runtime.ImportModuleError", true},
		{"NoTextAtAll", false},
		{"PermanentErrors", false},
		{"WorkerError", false},
		{"States.Timeout", false},
		{"", false},
	} {
		if got := s.IsPermanent(c.errorType); got != c.want {
			t.Errorf("IsPermanent(%q) = %v, want %v", c.errorType, got, c.want)
		}
	}
	for _, bad := range []string{"NoText,NoText", "No Text", "a,", "1st", strings.Repeat("x", 129), "x\x1b[31m"} {
		if _, err := contract.ParseErrorTypes(bad); err == nil {
			t.Errorf("ParseErrorTypes(%q) accepted", bad)
		}
	}
}
