package handler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/fntest"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/handler"
	"github.com/dynamodb-tracker/dynamodb-tracker/functions/internal/lambdafn"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/fixtures"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// adapt turns a handler's Handle into the fntest form.
func adapt[T any](handle func(context.Context, json.RawMessage) (T, error)) fntest.Handle {
	return func(ctx context.Context, event json.RawMessage) (any, error) { return handle(ctx, event) }
}

// TestFixtures runs every fixture of every function of the roster through its handler
// in-process (fntest.Run: the result or the errorType, the logs, the metric lines).
func TestFixtures(t *testing.T) {
	// Every step of a job that got past decoding records its duration; a claim records
	// claimed, a completion succeeded, a failure failed or, on the last attempt, ignored, a
	// refusal refused; a release only its duration. list-pending and the worker record none.
	duration := fntest.Metric{Metric: lambdafn.Duration}
	refused := []fntest.Metric{{Metric: lambdafn.Refused, Value: 1}, duration}
	claimed := []fntest.Metric{{Metric: lambdafn.Claimed, Value: 1}, duration}
	workerLog := filepath.Join(t.TempDir(), "invocations.jsonl")
	functions := map[string]struct {
		newHandler func(lambdafn.Deps) fntest.Handle
		metrics    map[string][]fntest.Metric
	}{
		contract.ClaimFunction.Name: {func(d lambdafn.Deps) fntest.Handle { return adapt(handler.Claim{Deps: d}.Handle) },
			map[string][]fntest.Metric{
				"ok.json": claimed, "expired-lease.json": claimed,
				"locked.json": refused, "succeeded.json": refused, "ignored.json": refused, "not-found.json": refused,
				"invalid-separator.json": {duration},
			}},
		contract.CompleteFunction.Name: {func(d lambdafn.Deps) fntest.Handle { return adapt(handler.Complete{Deps: d}.Handle) },
			map[string][]fntest.Metric{
				"ok.json":             {{Metric: lambdafn.Succeeded, Value: 1}, duration},
				"stale-lease.json":    refused,
				"invalid-result.json": {duration},
			}},
		contract.FailFunction.Name: {func(d lambdafn.Deps) fntest.Handle { return adapt(handler.Fail{Deps: d}.Handle) },
			map[string][]fntest.Metric{
				"ok.json":           {{Metric: lambdafn.Failed, Value: 1}, duration},
				"last-attempt.json": {{Metric: lambdafn.Ignored, Value: 1}, duration},
				"release.json":      {duration},
				"stale-lease.json":  refused,
			}},
		contract.ListPendingFunction.Name: {func(d lambdafn.Deps) fntest.Handle { return adapt(handler.ListPending{Deps: d}.Handle) }, nil},
		contract.WorkerFunction.Name: {func(d lambdafn.Deps) fntest.Handle {
			w := &handler.Worker{LogFile: workerLog, Log: d.Log}
			return func(ctx context.Context, event json.RawMessage) (any, error) {
				var in contract.ClaimOutput
				if err := json.Unmarshal(event, &in); err != nil {
					return nil, err
				}
				return w.Handle(ctx, in)
			}
		}, nil},
	}
	for _, fn := range contract.Functions {
		h, ok := functions[fn.Name]
		if !ok {
			t.Errorf("function %s has no handler under test", fn.Name)
			continue
		}
		if len(fixtures.For(fn.Name)) == 0 {
			t.Errorf("function %s has no fixtures under events/", fn.Name)
		}
		t.Run(fn.Name, func(t *testing.T) { fntest.Run(t, fn.Name, h.newHandler, h.metrics) })
	}
	for _, c := range fixtures.Cases {
		if !slices.ContainsFunc(contract.Functions, func(f contract.Function) bool { return f.Name == c.Function }) {
			t.Errorf("fixture %s is of no function of the roster", c.Name())
		}
	}
	// The example worker appends one line per invocation to its log.
	f, err := os.Open(workerLog)
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
	if want := len(fixtures.For(contract.WorkerFunction.Name)); lines != want {
		t.Errorf("%d invocations recorded, want %d", lines, want)
	}
}

func TestFailTimes(t *testing.T) {
	w := &handler.Worker{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	for retry, wantErr := range []bool{true, true, false} {
		_, err := w.Handle(context.Background(), contract.ClaimOutput{JobID: "j", TaskID: "t", Lease: tracker.Lease{Retry: retry}, Data: json.RawMessage(`{"fail_times":2}`)})
		if (err != nil) != wantErr {
			t.Errorf("retry %d: error %v, want error %v", retry, err, wantErr)
		}
	}
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
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
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

// TestRunRefusedBeforeAnyWrite checks that a run's input naming a task that does not exist,
// or a resume that is not one the state machine hands over, fails the check with its error
// name and records no run of the job.
func TestRunRefusedBeforeAnyWrite(t *testing.T) {
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "t"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ input, want string }{
		{`{"run": {"job_id": "j", "task_ids": ["t", "missing"]}}`, contract.ErrTaskNotFound},
		{`{"run": {"job_id": "j", "resume": {"round": 0}}}`, contract.ErrInvalidInput},
	} {
		_, err := h.Handle(ctx, json.RawMessage(tc.input))
		if ie := (messages.InvokeResponse_Error{}); !errors.As(err, &ie) || ie.Type != tc.want {
			t.Errorf("%s: error %v, want the errorType %s", tc.input, err, tc.want)
		}
	}
	jobs, err := tr.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].JobID != "j" || !jobs[0].LastRun.IsZero() {
		t.Fatalf("jobs %+v, want j with no run recorded", jobs)
	}
}

// TestSweepOfAllJobs checks {"run": {"all_jobs": true}}: the registered jobs with a pending
// task, the least recently run first, a job created after the first sweep included.
func TestSweepOfAllJobs(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := trackertest.New(t, tracker.Config{Now: func() time.Time { return now }})
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
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
