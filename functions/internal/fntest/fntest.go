// Package fntest runs the event fixtures of a function through its handler in-process,
// against DynamoDB Local, for the functions' unit tests.
package fntest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/emf"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/fixtures"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Handle is a handler under test, adapted to return its result as any.
type Handle func(ctx context.Context, event json.RawMessage) (any, error)

// Metric is a metric line a fixture is expected to emit: its metric and value, for the
// fixtures' job, stamped MetricsTime.
type Metric struct {
	Metric emf.Metric
	Value  float64
}

// MetricsTime is the time on the metrics clock a handler under Run sees: it stands still, so
// every duration is 0 and every line is exact.
var MetricsTime = time.UnixMilli(1764633600000)

// Run invokes every fixture of function through the handler newHandler builds from deps,
// each against a freshly seeded table, and checks the result or the errorType. It also checks
// the handler's log lines: JSON, each naming the job, and none carrying task data. And it
// checks the metric lines, written apart from the logs: for each fixture exactly the lines of
// metrics[fixture], in order, in namespace emf.DefaultNamespace (none for a fixture metrics
// does not list; a nil map says the function emits none).
func Run(t *testing.T, function string, newHandler func(deps lambdafn.Deps) Handle, metrics map[string][]Metric) {
	t.Helper()
	root := RepoRoot(t)
	for _, c := range fixtures.For(function) {
		t.Run(c.Event, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tr, db := trackertest.New(t, tracker.Config{})
			if err := fixtures.Seed(ctx, db, tr.Config().Table, time.Now()); err != nil {
				t.Fatal(err)
			}
			var logs, lines bytes.Buffer
			handle := newHandler(lambdafn.Deps{Tracker: tr, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
				Metrics: &emf.Writer{Out: &lines, Now: func() time.Time { return MetricsTime }}})
			event, err := c.Read(root)
			if err != nil {
				t.Fatal(err)
			}
			out, err := handle(ctx, event)
			if c.ErrorType != "" {
				var ie messages.InvokeResponse_Error
				if !errors.As(err, &ie) || ie.Type != c.ErrorType || ie.Message == "" {
					t.Fatalf("error = %#v, want errorType %s", err, c.ErrorType)
				}
			} else {
				if err != nil {
					t.Fatalf("handler failed: %v", err)
				}
				result, _ := json.Marshal(out)
				if err := c.Check(result); err != nil {
					t.Error(err)
				}
			}
			checkLogs(t, logs.String())
			checkMetrics(t, lines.String(), metrics[c.Event])
		})
	}
}

// checkMetrics compares the metric lines with the lines want encodes, exactly.
func checkMetrics(t *testing.T, lines string, want []Metric) {
	t.Helper()
	var exp strings.Builder
	for _, m := range want {
		line, err := emf.Encode(MetricsTime, emf.DefaultNamespace, fixtures.Job, m.Metric, m.Value)
		if err != nil {
			t.Fatal(err)
		}
		exp.Write(line)
	}
	if lines != exp.String() {
		t.Errorf("metric lines:\n%s\nwant:\n%s", lines, exp.String())
	}
}

func checkLogs(t *testing.T, logs string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Error("the handler logged nothing")
		return
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		if strings.Contains(line, "s3://bucket") || strings.Contains(line, "n_records") {
			t.Errorf("log line carries task data: %s", line)
		}
		if rec["level"] == "INFO" {
			if _, ok := rec["job_id"]; !ok {
				t.Errorf("log line names no job: %s", line)
			}
		}
	}
}

// RepoRoot returns the repository root: the nearest folder above with a go.mod.
func RepoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
