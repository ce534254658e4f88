package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/fntest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/fixtures"
)

func TestFixtures(t *testing.T) {
	root := fntest.RepoRoot(t)
	logFile := filepath.Join(t.TempDir(), "invocations.jsonl")
	w := &worker{logFile: logFile, log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	cases := fixtures.For("example-worker")
	for _, c := range cases {
		raw, err := c.Read(root)
		if err != nil {
			t.Fatal(err)
		}
		var in contract.ClaimOutput
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatal(err)
		}
		out, err := w.Handle(context.Background(), in)
		if c.ErrorType != "" {
			var ie messages.InvokeResponse_Error
			if !errors.As(err, &ie) || ie.Type != c.ErrorType {
				t.Errorf("%s: error %v, want %s", c.Event, err, c.ErrorType)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Event, err)
		}
		result, _ := json.Marshal(out)
		if err := c.Check(result); err != nil {
			t.Errorf("%s: %v", c.Event, err)
		}
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec["task_id"] == nil {
			t.Errorf("invocation record %q", sc.Text())
		}
	}
	if lines != len(cases) {
		t.Errorf("%d invocations recorded, want %d", lines, len(cases))
	}
}

func TestFailTimes(t *testing.T) {
	w := &worker{log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	for retry, wantErr := range []bool{true, true, false} {
		_, err := w.Handle(context.Background(), contract.ClaimOutput{JobID: "j", TaskID: "t", Retry: retry, Data: json.RawMessage(`{"fail_times":2}`)})
		if (err != nil) != wantErr {
			t.Errorf("retry %d: error %v, want error %v", retry, err, wantErr)
		}
	}
}
