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

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/fixtures"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Handle is a handler under test, adapted to return its result as any.
type Handle func(ctx context.Context, event json.RawMessage) (any, error)

// Run invokes every fixture of function through the handler newHandler builds, each against a
// freshly seeded table, and checks the result or the errorType. It also checks the handler's
// log lines: JSON, each naming the job, and none carrying task data.
func Run(t *testing.T, function string, newHandler func(tr *tracker.Tracker, log *slog.Logger) Handle) {
	t.Helper()
	root := RepoRoot(t)
	for _, c := range fixtures.For(function) {
		t.Run(c.Event, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := dynamotest.Client(t)
			table := dynamotest.TableName(t)
			if err := tracker.CreateTable(ctx, db, table); err != nil {
				t.Fatal(err)
			}
			if err := fixtures.Seed(ctx, db, table, time.Now()); err != nil {
				t.Fatal(err)
			}
			tr, err := tracker.New(db, tracker.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			handle := newHandler(tr, slog.New(slog.NewJSONHandler(&logs, nil)))
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
		})
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
