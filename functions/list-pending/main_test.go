package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/fntest"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

func TestFixtures(t *testing.T) {
	fntest.Run(t, "list-pending", func(deps lambdafn.Deps) fntest.Handle {
		h := handler{deps}
		return func(ctx context.Context, event json.RawMessage) (any, error) { return h.Handle(ctx, event) }
	}, nil)
}

// TestPageStaysWithinItsBytes lists the largest page (1,000 tasks) of the longest ids
// validation accepts, made of characters JSON escapes: the page is cut at MaxPageBytes, and
// its cursor resumes where it was cut, so every task is listed once.
func TestPageStaysWithinItsBytes(t *testing.T) {
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	const job = "j"
	long := strings.Repeat(`"\`, (tracker.MaxKeyBytes-len(job)-len(tracker.Separator)-4)/2)
	var tasks []tracker.NewTask
	for i := range 300 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("%04d", i) + long})
	}
	if _, err := tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	h := handler{lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		event, _ := json.Marshal(contract.ListPendingInput{JobID: job, Limit: tracker.MaxPageLimit, BatchSize: contract.MaxBatchSize, Cursor: cursor})
		res, err := h.Handle(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		enc.Encode(res)
		page := res.(*contract.ListPendingOutput)
		batches, _ := json.Marshal(page.Batches)
		if len(batches) > contract.MaxPageBytes {
			t.Fatalf("page %d: its batches are %d bytes, over %d", pages, len(batches), contract.MaxPageBytes)
		}
		if out.Len() > contract.MaxPageBytes+4096 {
			t.Fatalf("page %d: the answer is %d bytes", pages, out.Len())
		}
		for _, b := range page.Batches {
			if len(b) > contract.MaxBatchSize {
				t.Fatalf("a batch of %d ids", len(b))
			}
			for _, id := range b {
				if seen[id] {
					t.Fatalf("%q listed twice", id[:4])
				}
				seen[id] = true
			}
		}
		pages++
		if cursor = page.Cursor; !page.HasMore {
			break
		}
	}
	if len(seen) != len(tasks) || pages < 2 {
		t.Errorf("listed %d of %d tasks in %d pages; a page must be cut by its bytes", len(seen), len(tasks), pages)
	}
}

// TestSweepOfAllJobs checks {"run": {"all_jobs": true}}: the registered jobs with a pending
// task, the least recently run first, a job created after the first sweep included.
func TestSweepOfAllJobs(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := trackertest.New(t, tracker.Config{Now: func() time.Time { return now }})
	h := handler{lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	sweep := func() []string {
		t.Helper()
		res, err := h.Handle(ctx, json.RawMessage(`{"run": {"all_jobs": true}}`))
		if err != nil {
			t.Fatal(err)
		}
		state := res.(*contract.RunState)
		if !state.Run.Sweep {
			t.Fatalf("state %+v is not a sweep", state)
		}
		return state.Run.JobIDs
	}
	for _, job := range []string{"b-pending", "a-done", "c-pending"} {
		if _, err := tr.CreateTasks(ctx, job, []tracker.NewTask{{ID: "t"}}); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := tr.Claim(ctx, "a-done", "t", "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Complete(ctx, *lease, nil); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	// A run of c-pending is recorded when its execution checks its input.
	if _, err := h.Handle(ctx, json.RawMessage(`{"run": {"job_id": "c-pending"}}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := sweep(), []string{"b-pending", "c-pending"}; !slices.Equal(got, want) {
		t.Errorf("sweep = %v, want %v (never-run jobs first)", got, want)
	}
	if _, err := tr.CreateTasks(ctx, "d-new", []tracker.NewTask{{ID: "t"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := sweep(), []string{"b-pending", "d-new", "c-pending"}; !slices.Equal(got, want) {
		t.Errorf("sweep after a new job = %v, want %v", got, want)
	}
	if _, err := h.Handle(ctx, json.RawMessage(`{"run": {"all_jobs": true, "job_id": "x"}}`)); err == nil {
		t.Error("all_jobs with job_id was accepted")
	}
}
