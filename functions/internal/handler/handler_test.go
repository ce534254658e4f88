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
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

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
				"next.json":              claimed, "next-named.json": claimed,
				"bulk.json": {duration}, // a step refused nothing
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
				"permanent.json":    {{Metric: lambdafn.Ignored, Value: 1}, duration},
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
	for _, fn := range contract.Functions() {
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
		if !slices.ContainsFunc(contract.Functions(), func(f contract.Function) bool { return f.Name == c.Function }) {
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

// TestRunRefusedBeforeAnyWrite checks that a run's input naming a task that does not exist,
// a job with no task, or a resume that is not one the state machine hands over, fails the
// check with its error name and takes no lease on the job.
func TestRunRefusedBeforeAnyWrite(t *testing.T) {
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "t"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ input, want string }{
		{`{"run": {"job_id": "j", "task_ids": ["t", "missing"]}, "execution": "e"}`, contract.ErrTaskNotFound},
		{`{"run": {"job_id": "typo"}, "execution": "e"}`, contract.ErrJobNotFound},
		{`{"run": {"job_id": "j", "task_ids": []}, "execution": "e"}`, contract.ErrInvalidInput},
		{`{"run": {"job_id": "j", "task_ids": ["t", "t"]}, "execution": "e"}`, contract.ErrInvalidInput},
		{`{"run": {"job_id": "j", "resume": {"passes": 0}}, "execution": "e"}`, contract.ErrInvalidInput},
		{`{"run": {"job_id": "j", "concurrency": 1200001}, "execution": "e"}`, contract.ErrInvalidInput},
		{`{"run": {"job_id": "j", "page_size": 10}, "execution": "e"}`, contract.ErrInvalidInput},
		{`{"run": {"job_id": "j"}, "plan": {}}`, contract.ErrInvalidInput},
	} {
		_, err := h.Handle(ctx, json.RawMessage(tc.input))
		if ie := (messages.InvokeResponse_Error{}); !errors.As(err, &ie) || ie.Type != tc.want {
			t.Errorf("%s: error %v, want the errorType %s", tc.input, err, tc.want)
		}
	}
	reg, err := tr.Jobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.Jobs) != 1 || reg.Jobs[0].JobID != "j" || !reg.Jobs[0].LastRun.IsZero() || reg.Jobs[0].Run.Owner != "" {
		t.Fatalf("jobs %+v, want j with no run recorded", reg.Jobs)
	}
}

// TestSweepOfAllJobs checks {"run": {"all_jobs": true}}: the registered jobs with a pending
// task and no live run, the least recently run first, a job created after the first sweep
// included, each with an execution name of its own.
func TestSweepOfAllJobs(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := trackertest.New(t, tracker.Config{Now: func() time.Time { return now }})
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	sweep := func() (starts []string, live []string) {
		t.Helper()
		res, err := h.Handle(ctx, json.RawMessage(`{"run": {"all_jobs": true}, "execution": "sweep-1"}`))
		if err != nil {
			t.Fatal(err)
		}
		state := res.(*contract.RunState)
		if !state.Run.Sweep {
			t.Fatalf("state %+v is not a sweep", state)
		}
		for _, s := range state.Run.Starts {
			if s.Name != contract.ExecutionName(s.JobID, "sweep-1", "sweep") {
				t.Errorf("%s starts as %q", s.JobID, s.Name)
			}
			starts = append(starts, s.JobID)
		}
		return starts, state.Run.Live
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
	// A run of c-pending takes the job's run lease when its execution checks its input: the
	// sweep leaves it to that run.
	res, err := h.Handle(ctx, json.RawMessage(`{"run": {"job_id": "c-pending"}, "execution": "run-c"}`))
	if err != nil {
		t.Fatal(err)
	}
	run := res.(*contract.RunState).Run
	if starts, live := sweep(); !slices.Equal(starts, []string{"b-pending"}) || !slices.Equal(live, []string{"c-pending"}) {
		t.Errorf("sweep = %v, live %v", starts, live)
	}
	if _, err := tr.CreateTasks(ctx, "d-new", []tracker.NewTask{{ID: "t"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, json.RawMessage(fmt.Sprintf(`{"end": {"run": %s}}`, mustJSON(run)))); err != nil {
		t.Fatal(err)
	}
	if starts, _ := sweep(); !slices.Equal(starts, []string{"b-pending", "d-new", "c-pending"}) {
		t.Errorf("sweep after a new job and the run's end = %v (never-run jobs first)", starts)
	}
	if _, err := h.Handle(ctx, json.RawMessage(`{"run": {"all_jobs": true, "job_id": "x"}}`)); err == nil {
		t.Error("all_jobs with job_id was accepted")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestShape: a run's concurrency in lanes: Express lanes of up to 120 loops (three groups of
// 40), Standard lanes of up to 40, more a lane only past 10,000 lanes.
func TestShape(t *testing.T) {
	t.Parallel()
	express, standard := contract.LaneExpress.LoopsPerLane(), contract.LaneStandard.LoopsPerLane()
	for _, tc := range []struct {
		concurrency, perLane, lanes, loops int
	}{
		{1, express, 1, 1},
		{100, express, 1, 100},
		{120, express, 1, 120},
		{121, express, 2, 61},
		{250, express, 3, 84},
		{contract.MaxConcurrency, express, contract.MaxLanes, contract.MaxLoops},
		{100, standard, 3, 34},
		{400_000, standard, contract.MaxLanes, 40},
		{400_001, standard, contract.MaxLanes, 41},
		{contract.MaxConcurrency, standard, contract.MaxLanes, contract.MaxLoops},
	} {
		lanes, loops := handler.Shape(tc.concurrency, tc.perLane)
		if lanes != tc.lanes || loops != tc.loops {
			t.Errorf("Shape(%d, %d) = %d lanes of %d, want %d of %d", tc.concurrency, tc.perLane, lanes, loops, tc.lanes, tc.loops)
		}
	}
	if express != 120 || standard != 40 || contract.LaneType("").LoopsPerLane() != express {
		t.Errorf("loops a lane: Express %d, Standard %d, default %d", express, standard, contract.LaneType("").LoopsPerLane())
	}
}

// TestPlan: what a run does next, step by step, as its job's tasks move.
func TestPlan(t *testing.T) {
	ctx := context.Background()
	clock := trackertest.NewClock(trackertest.T0)
	tr, _ := trackertest.New(t, tracker.Config{Now: clock.Now, MaxRetry: 2})
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler),
		Settings: contract.Settings{Concurrency: 250}}}
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "a"}, {ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(ctx, json.RawMessage(`{"run": {"job_id": "j", "max_rounds": 2, "max_steps": 4}, "execution": "arn:aws:states:us-east-1:1:execution:m:e1"}`))
	if err != nil {
		t.Fatal(err)
	}
	state := res.(*contract.RunState)
	if r := state.Run; r.Concurrency != 252 || r.Lanes != 3 || r.Loops != 84 || r.Lease == nil {
		t.Fatalf("run = %+v", r)
	}
	plan := func(n contract.Progress) *contract.Plan {
		t.Helper()
		in := contract.ListPendingInput{Plan: &contract.PlanInput{Run: state.Run, N: n,
			Execution: "arn:aws:states:us-east-1:1:execution:m:e1", Machine: "arn:aws:states:us-east-1:1:stateMachine:m"}}
		res, err := h.Handle(ctx, json.RawMessage(mustJSON(in)))
		if err != nil {
			t.Fatal(err)
		}
		return res.(*contract.Plan)
	}
	// Tasks are due: a round of 3 lanes over 4 slots (the first 3, and one more for the job's
	// 2 tasks).
	p := plan(contract.Progress{})
	if p.Action != contract.ActionLanes || p.Lanes != 3 || len(p.Slots) != 4 || p.N.Rounds != 1 || p.N.Steps != 1 ||
		p.Lane.Loops != 84 || p.Lane.Budget != contract.ExpressBudget || p.Lane.Token != state.Run.Lease.Token {
		t.Fatalf("plan with due tasks: %+v, lane %+v", p, p.Lane)
	}
	// a fails and waits 5 s; b succeeds: the run waits until a is due, whole seconds up.
	for _, id := range []string{"a", "b"} {
		l, err := tr.Claim(ctx, "j", id, "x")
		if err != nil {
			t.Fatal(err)
		}
		if id == "a" {
			_, err = tr.Fail(ctx, *l, tracker.Failure{Error: "boom"})
		} else {
			_, err = tr.Complete(ctx, *l, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	p = plan(p.N)
	due := trackertest.T0.Add(6 * time.Second).Truncate(time.Second).Format(time.RFC3339)
	if p.Action != contract.ActionWait || p.WaitUntil != due || p.N.Waits != 1 || p.N.Steps != 2 {
		t.Fatalf("plan with a waiting failure: %+v, want a wait until %s", p, due)
	}
	// Its rounds spent (max_rounds 2), a run ends, a task due or not.
	if p2 := plan(contract.Progress{Rounds: 2, Waits: 1, Steps: 3}); p2.Action != contract.ActionDone {
		t.Errorf("plan past max_rounds: %+v", p2)
	}
	// At max_steps the run continues as a new execution, holding its lease.
	if p2 := plan(contract.Progress{Rounds: 1, Waits: 1, Steps: 4}); p2.Action != contract.ActionHandover ||
		p2.Handover.Arn != "arn:aws:states:us-east-1:1:execution:m:"+p2.Handover.Name ||
		p2.Handover.Input.Resume.Lease.Token != state.Run.Lease.Token || p2.Handover.Input.Resume.Executions != 1 {
		t.Errorf("plan at max_steps: %+v", p2.Handover)
	}
	// Past the lease and the skew, another run takes the job: this one is superseded.
	clock.Advance(tr.Config().LeaseDuration + tr.Config().ClockSkew + time.Second)
	if _, err := tr.AcquireRun(ctx, "j", "e2"); err != nil {
		t.Fatal(err)
	}
	if p2 := plan(p.N); p2.Action != contract.ActionSuperseded || !strings.Contains(p2.Holder, "e2") {
		t.Errorf("plan of a run that lost its lease: %+v", p2)
	}
}

// TestLaneBudget: a loop of an Express lane claims a task only while the worker's timeout and
// the lane margin fit in what is left of the lane's budget.
func TestLaneBudget(t *testing.T) {
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "a"}, {ID: "b"}, {ID: "c"}}); err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := started
	h := handler.Claim{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}, Now: func() time.Time { return now }}
	next := func(at tracker.Position) *contract.NextOutput {
		t.Helper()
		in := map[string]any{"next": contract.NextInput{JobID: "j", Item: contract.LoopItem{Loop: 0}, At: at, ExecutionID: "e",
			Lane: contract.Lane{Slot: 0, Loops: 1, Started: started, Budget: contract.ExpressBudget, WorkTimeout: 60}}}
		res, err := h.Handle(ctx, json.RawMessage(mustJSON(in)))
		if err != nil {
			t.Fatal(err)
		}
		return res.(*contract.NextOutput)
	}
	out := next(tracker.Position{})
	if !out.Claimed || out.Claim.TaskID != "a" {
		t.Fatalf("first = %+v", out)
	}
	// 300 s budget, 60 s timeout, 30 s margin: a task may start up to 210 s in.
	now = started.Add(210 * time.Second)
	if out = next(out.At); !out.Claimed || out.Claim.TaskID != "b" {
		t.Fatalf("at 210 s = %+v", out)
	}
	now = now.Add(time.Millisecond)
	if out = next(out.At); out.Claimed || out.Why != contract.WhyBudget {
		t.Fatalf("past 210 s = %+v", out)
	}
	if task, err := tr.Get(ctx, "j", "c"); err != nil || task.Status != tracker.Todo {
		t.Errorf("c = %+v, %v: a loop out of budget claims nothing", task, err)
	}
}

// TestLaneStartStaggersTheFirstLanes: a lane start gives the lanes of a pass's first
// generation staggered budgets (contract.LaneBudget), its loops in groups, and later lanes the
// whole budget.
func TestLaneStartStaggersTheFirstLanes(t *testing.T) {
	ctx := context.Background()
	tr, _ := trackertest.New(t, tracker.Config{})
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	lease, err := tr.AcquireRun(ctx, "j", "e")
	if err != nil {
		t.Fatal(err)
	}
	h := handler.Claim{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	// 300 s budget, 60 s timeout, 30 s margin: a claiming window of 210 s, 105 s shorter in
	// the second lane of the first generation.
	for _, tc := range []struct{ slot, budget int }{{0, 300}, {1, 195}, {2, 300}, {3, 300}} {
		in := map[string]any{"lane": contract.LaneInput{JobID: "j", Slot: tc.slot,
			Run: contract.LaneRun{Owner: "e", Token: lease.Token, Pass: 1, Lanes: 2, Loops: 50, WorkTimeout: 60, Budget: contract.ExpressBudget}}}
		res, err := h.Handle(ctx, json.RawMessage(mustJSON(in)))
		if err != nil {
			t.Fatal(err)
		}
		out := res.(*contract.LaneOutput)
		if out.Lane.Budget != tc.budget {
			t.Errorf("slot %d: budget %d, want %d", tc.slot, out.Lane.Budget, tc.budget)
		}
		if !out.Go || len(out.Groups) != 2 || len(out.Groups[0]) != 25 || out.Groups[1][24].Loop != 49 {
			t.Errorf("slot %d: go %v, groups %v: want 50 loops in 2 groups", tc.slot, out.Go, out.Groups)
		}
	}
}

// TestLogsAtTheDefaultLevel: at the deployed level (contract.DefaultLogLevel, warn) a task
// that succeeds or fails and will be retried writes nothing, and one ignored after its last
// attempt writes the warning the construct's IgnoredTasks alarm counts ("msg":"failed",
// "status":"ignored"); metrics are off unless asked for.
func TestLogsAtTheDefaultLevel(t *testing.T) {
	ctx := context.Background()
	clock := trackertest.NewClock(trackertest.T0)
	tr, _ := trackertest.New(t, tracker.Config{MaxRetry: 2, Now: clock.Now})
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "ok"}, {ID: "bad"}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	deps := lambdafn.Deps{Tracker: tr, Log: slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: contract.DefaultLogLevel.Slog()}))}
	complete, fail := handler.Complete{Deps: deps}, handler.Fail{Deps: deps}
	lease, err := tr.Claim(ctx, "j", "ok", "w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := complete.Handle(ctx, json.RawMessage(mustJSON(contract.CompleteInput{Lease: lease}))); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		clock.Advance(time.Hour) // past the backoff
		lease, err := tr.Claim(ctx, "j", "bad", "w")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fail.Handle(ctx, json.RawMessage(mustJSON(contract.FailInput{Lease: lease, Error: &contract.StepError{Error: "Boom"}}))); err != nil {
			t.Fatal(err)
		}
		if attempt == 1 && out.Len() != 0 {
			t.Fatalf("a success and a failure to retry logged %q at the default level", out.String())
		}
	}
	var line struct {
		Level, Msg, Status string
	}
	if err := json.Unmarshal(out.Bytes(), &line); err != nil || line.Level != "WARN" || line.Msg != "failed" || line.Status != "ignored" ||
		strings.Count(out.String(), "\n") != 1 {
		t.Errorf("logged %q, want one warning that the task failed and is ignored", out.String())
	}
}

// TestPlanSeesATaskThatFallsDueMeanwhile: a failed task that comes due between the plan's
// look for pending tasks and its look for waiting ones is in neither answer; the plan looks
// again rather than end the run with the task left failed. Here the clock jumps past the
// task's backoff once the first query is answered.
func TestPlanSeesATaskThatFallsDueMeanwhile(t *testing.T) {
	ctx := context.Background()
	clock := trackertest.NewClock(trackertest.T0)
	var jumped, armed atomic.Bool
	jump := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("jump", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if armed.Load() && awsmiddleware.GetOperationName(ctx) == "Query" && !jumped.Swap(true) {
					clock.Advance(time.Hour)
				}
				return out, md, err
			}), middleware.After)
		})
	}
	tr, _ := trackertest.New(t, tracker.Config{Now: clock.Now}, jump)
	h := handler.ListPending{Deps: lambdafn.Deps{Tracker: tr, Log: slog.New(slog.DiscardHandler)}}
	if _, err := tr.CreateTasks(ctx, "j", []tracker.NewTask{{ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(ctx, json.RawMessage(`{"run": {"job_id": "j"}, "execution": "arn:aws:states:us-east-1:1:execution:m:e1"}`))
	if err != nil {
		t.Fatal(err)
	}
	run := res.(*contract.RunState).Run
	lease, err := tr.Claim(ctx, "j", "a", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fail(ctx, *lease, tracker.Failure{Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	res, err = h.Handle(ctx, json.RawMessage(mustJSON(contract.ListPendingInput{Plan: &contract.PlanInput{Run: run,
		Execution: "arn:aws:states:us-east-1:1:execution:m:e1", Machine: "arn:aws:states:us-east-1:1:stateMachine:m"}})))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.(*contract.Plan); p.Action != contract.ActionLanes || p.N.Rounds != 1 || !jumped.Load() {
		t.Errorf("plan = %+v (clock jumped: %v), want a round of lanes for the task now due", p, jumped.Load())
	}
}
