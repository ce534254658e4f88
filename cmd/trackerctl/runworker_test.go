package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestRunLocalWorker runs a job through the real runner (sfnlocal/run-job.sh, cmd/runlocal,
// the local stack) with --worker examples/go-worker: the worker the runner builds from that
// package is the one that ran, since the tasks hold what it returns.
func TestRunLocalWorker(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	runner, err := filepath.Abs(filepath.Join("..", "..", "sfnlocal", "run-job.sh"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.tr.CreateTasks(ctx, "count-words", []tracker.NewTask{
		{ID: "t-1", Data: json.RawMessage(`{"text": "hello world"}`)},
		{ID: "t-2", Data: json.RawMessage(`{"text": "one two three"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	c := f.cli()
	c.env[envLocalRunner] = runner
	r := c.run(t, "run", "count-words", "--local", "--worker", filepath.Join("..", "..", "examples", "go-worker"))
	r.wantCode(t, exitOK)
	for id, want := range map[string]map[string]any{
		"t-1": {"task_id": "t-1", "attempt": 1.0, "words": 2.0},
		"t-2": {"task_id": "t-2", "attempt": 1.0, "words": 3.0},
	} {
		task, err := f.tr.Get(ctx, "count-words", id)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(task.Data, &got); err != nil {
			t.Fatal(err)
		}
		if task.Status != tracker.Succeeded || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s with %s, want succeeded with %v\n%s", id, task.Status, task.Data, want, r.transcript())
		}
	}
}
