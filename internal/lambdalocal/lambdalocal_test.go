//go:build linux

package lambdalocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// echoBootstrap is testdata/echofn built for this machine; rieBinary the RIE.
var echoBootstrap, rieBinary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdalocal-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	echoBootstrap = filepath.Join(dir, "echofn", "bootstrap")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", echoBootstrap, "./testdata/echofn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build echofn: %v\n%s", err, out)
		return 1
	}
	// The user cache, as Start's default: the RIE is built once, not on every run.
	if rieBinary, err = BuildRIE(ctx, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startServer serves fns (echofn unless they name a bootstrap) until the test ends.
func startServer(t testing.TB, fns ...Function) *Server {
	t.Helper()
	for i := range fns {
		if fns[i].Bootstrap == "" {
			fns[i].Bootstrap = echoBootstrap
		}
	}
	s, err := Start(t.Context(), Config{RIE: rieBinary, Functions: fns, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newClient is the real Lambda client, pointed at s, with retries off so every test sees
// the server's first answer.
func newClient(s *Server) *lambda.Client {
	return lambda.New(lambda.Options{
		BaseEndpoint: aws.String(s.URL()),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
	})
}

type echoed struct {
	Echo     any    `json:"echo"`
	Function string `json:"function"`
	ARN      string `json:"arn"`
	PID      int    `json:"pid"`
	Env      string `json:"env"`
}

type errorPayload struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func invoke(t testing.TB, c *lambda.Client, function, event string) *lambda.InvokeOutput {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(function), Payload: []byte(event)})
	if err != nil {
		t.Fatalf("invoke %s %s: %v", function, event, err)
	}
	return out
}

func decode[T any](t testing.TB, payload []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	return v
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "echo", PoolSize: 2, Env: map[string]string{"GREETING": "hello"}})
	c := newClient(s)

	result := func(want echoed) func(*testing.T, []byte) {
		return func(t *testing.T, payload []byte) {
			got := decode[echoed](t, payload)
			if got.Echo != want.Echo || got.Env != want.Env || got.Function != "echo" ||
				got.ARN != "arn:aws:lambda:us-east-1:012345678912:function:echo" {
				t.Errorf("payload %s, want echo %v env %q from function echo", payload, want.Echo, want.Env)
			}
		}
	}
	functionError := func(errorType, message string) func(*testing.T, []byte) {
		return func(t *testing.T, payload []byte) {
			got := decode[errorPayload](t, payload)
			if got.ErrorType != errorType || !strings.Contains(got.ErrorMessage, message) {
				t.Errorf("payload %s, want errorType %s and errorMessage with %q", payload, errorType, message)
			}
		}
	}
	tests := []struct {
		name          string
		function      string
		event         string
		functionError string
		check         func(*testing.T, []byte)
	}{
		{"a result is the payload", "echo", `{"echo":"hi"}`, "", result(echoed{Echo: "hi"})},
		{"a full ARN names the function", "arn:aws:lambda:us-east-1:012345678912:function:echo", `{"echo":"arn"}`, "", result(echoed{Echo: "arn"})},
		{"an ARN of another region and account names the function", "arn:aws:lambda:eu-west-1:111122223333:function:echo", `{"echo":1}`, "", result(echoed{Echo: 1.0})},
		{"no payload is an empty object", "echo", ``, "", result(echoed{})},
		{"the function sees its Env", "echo", `{"env":"GREETING"}`, "", result(echoed{Env: "hello"})},
		{"a returned error is Unhandled with the runtime's payload", "echo", `{"fail":"boom"}`, "Unhandled", functionError("errorString", "boom")},
		{"a panic is Unhandled with the panic's payload", "echo", `{"panic":true}`, "Unhandled", functionError("string", "echofn was asked to panic")},
		{"an exit is Unhandled Runtime.ExitError", "echo", `{"exit":3}`, "Unhandled", functionError("Runtime.ExitError", "exit status 3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := invoke(t, c, tt.function, tt.event)
			if out.StatusCode != http.StatusOK {
				t.Errorf("StatusCode %d, want 200", out.StatusCode)
			}
			if got := aws.ToString(out.FunctionError); got != tt.functionError {
				t.Errorf("FunctionError %q, want %q", got, tt.functionError)
			}
			if got := aws.ToString(out.ExecutedVersion); got != "$LATEST" {
				t.Errorf("ExecutedVersion %q, want $LATEST", got)
			}
			tt.check(t, out.Payload)
		})
	}
}

func TestInvokeRecoversAfterRuntimeFailures(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "echo", Timeout: time.Second})
	c := newClient(s)
	before := s.pools["echo"].pids()
	for _, event := range []string{`{"panic":true}`, `{"exit":1}`, `{"sleep_ms":3000}`} {
		if out := invoke(t, c, "echo", event); aws.ToString(out.FunctionError) != "Unhandled" {
			t.Fatalf("%s: FunctionError %q, payload %q; want Unhandled", event, aws.ToString(out.FunctionError), out.Payload)
		}
		if out := invoke(t, c, "echo", `{"echo":"next"}`); out.FunctionError != nil {
			t.Fatalf("after %s: %s", event, out.Payload)
		}
	}
	// The RIE restarts the runtime after each of these itself; it is not replaced.
	if after := s.pools["echo"].pids(); !slices.Equal(before, after) {
		t.Errorf("RIE pids %v, then %v: want the same instance", before, after)
	}
}

func TestTimeoutIsSandboxTimedout(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "slow", Timeout: time.Second})
	c := newClient(s)

	start := time.Now()
	out := invoke(t, c, "slow", `{"sleep_ms":3000}`)
	elapsed := time.Since(start)
	if got := aws.ToString(out.FunctionError); got != "Unhandled" {
		t.Errorf("FunctionError %q, want Unhandled", got)
	}
	got := decode[errorPayload](t, out.Payload)
	if got.ErrorType != "Sandbox.Timedout" || !strings.HasPrefix(got.ErrorMessage, "RequestId: ") ||
		!strings.HasSuffix(got.ErrorMessage, "Error: Task timed out after 1.00 seconds") {
		t.Errorf("payload %s, want Sandbox.Timedout after 1.00 seconds", out.Payload)
	}
	if elapsed < time.Second || elapsed > 2500*time.Millisecond {
		t.Errorf("answered after %v, want about the 1s timeout", elapsed)
	}
}

func TestUnknownFunctionIsResourceNotFound(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "echo"})
	c := newClient(s)
	tests := []struct {
		name, function, message string
	}{
		{"by name", "nope", "Function not found: arn:aws:lambda:us-east-1:012345678912:function:nope"},
		{"by ARN", "arn:aws:lambda:eu-west-1:111122223333:function:nope", "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(tt.function), Payload: []byte(`{}`)})
			var notFound *types.ResourceNotFoundException
			if !errors.As(err, &notFound) {
				t.Fatalf("err %v, want a ResourceNotFoundException", err)
			}
			if got := aws.ToString(notFound.Message); got != tt.message {
				t.Errorf("message %q, want %q", got, tt.message)
			}
		})
	}

	t.Run("the answer is Lambda's, byte for byte", func(t *testing.T) {
		t.Parallel()
		resp, err := http.Post(s.URL()+"/2015-03-31/functions/nope/invocations", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		want := `{"Type":"User","message":"Function not found: arn:aws:lambda:us-east-1:012345678912:function:nope"}`
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" ||
			strings.TrimSpace(string(body)) != want {
			t.Errorf("got %d %q %s, want 404 ResourceNotFoundException %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, want)
		}
	})
}

// TestInvokeRefusesBadRequests: what Lambda refuses, the server refuses with Lambda's
// exception, before any function runs.
func TestInvokeRefusesBadRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "echo"})
	c := newClient(s)

	t.Run("an asynchronous invocation is InvalidParameterValueException", func(t *testing.T) {
		t.Parallel()
		_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent})
		if _, ok := errors.AsType[*types.InvalidParameterValueException](err); !ok {
			t.Errorf("err %v, want an InvalidParameterValueException", err)
		}
	})
	t.Run("a payload that is no JSON is InvalidRequestContentException", func(t *testing.T) {
		t.Parallel()
		_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{not json`)})
		if _, ok := errors.AsType[*types.InvalidRequestContentException](err); !ok {
			t.Errorf("err %v, want an InvalidRequestContentException", err)
		}
	})
	t.Run("a client context that is no base64 is InvalidRequestContentException", func(t *testing.T) {
		t.Parallel()
		_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("echo"), ClientContext: aws.String("{not base64}")})
		if _, ok := errors.AsType[*types.InvalidRequestContentException](err); !ok {
			t.Errorf("err %v, want an InvalidRequestContentException", err)
		}
	})
	t.Run("a payload over 6 MB is RequestTooLargeException", func(t *testing.T) {
		t.Parallel()
		big := []byte(`"` + strings.Repeat("x", maxPayload) + `"`)
		_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: big})
		if _, ok := errors.AsType[*types.RequestTooLargeException](err); !ok {
			t.Errorf("err %v, want a RequestTooLargeException", err)
		}
	})
}

func TestPoolServesOneInvocationPerRIE(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "echo", PoolSize: 2})
	c := newClient(s)
	before := s.pools["echo"].pids()

	const n, sleep = 8, 200 * time.Millisecond
	outs := make([]*lambda.InvokeOutput, n)
	errs := make([]error, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			outs[i], errs[i] = c.Invoke(t.Context(), &lambda.InvokeInput{
				FunctionName: aws.String("echo"),
				Payload:      fmt.Appendf(nil, `{"echo":%d,"sleep_ms":%d}`, i, sleep.Milliseconds()),
			})
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	runtimes := map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("invocation %d: %v", i, errs[i])
			continue
		}
		if outs[i].FunctionError != nil {
			t.Errorf("invocation %d: %s", i, outs[i].Payload)
			continue
		}
		got := decode[echoed](t, outs[i].Payload)
		if got.Echo != float64(i) {
			t.Errorf("invocation %d answered %s", i, outs[i].Payload)
		}
		runtimes[got.PID] = true
	}
	if len(runtimes) != 2 {
		t.Errorf("%d function processes served, want the pool's 2", len(runtimes))
	}
	// Two at a time: four rounds of the sleep at least.
	if elapsed < n/2*sleep {
		t.Errorf("%d invocations took %v, less than %v: more than 2 ran at once", n, elapsed, n/2*sleep)
	}
	if after := s.pools["echo"].pids(); !slices.Equal(before, after) {
		t.Errorf("RIE pids %v, then %v: an RIE was replaced", before, after)
	}
}

func TestQueuedInvocationHonoursItsContext(t *testing.T) {
	t.Parallel()
	s := startServer(t, Function{Name: "echo"})
	c := newClient(s)

	file := filepath.Join(t.TempDir(), "touched")
	busy := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"sleep_ms":1000}`)})
		busy <- err
	}()
	waitFor(t, 5*time.Second, "the first invocation to hold the only RIE", func() bool { return len(s.pools["echo"].idle) == 0 })

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: fmt.Appendf(nil, `{"touch":%q}`, file)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued invocation: err %v, want its deadline", err)
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	// Once the RIE is free again, the abandoned invocation must not run on it.
	invoke(t, c, "echo", `{}`)
	if _, err := os.Stat(file); err == nil {
		t.Error("the invocation whose caller gave up in line ran anyway")
	}
}

func TestDeadRIEIsReplaced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// kill kills the RIE rie while the function is idle or busy; it returns what the
		// invocation running meanwhile, if any, answered.
		kill func(t *testing.T, c *lambda.Client, rie int) *lambda.InvokeOutput
		want string // that answer's errorType
	}{
		{"an idle RIE that is killed is replaced", func(t *testing.T, c *lambda.Client, rie int) *lambda.InvokeOutput {
			if err := syscall.Kill(rie, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			return nil
		}, ""},
		{"an RIE killed mid-invocation fails that invocation and is replaced", func(t *testing.T, c *lambda.Client, rie int) *lambda.InvokeOutput {
			started := filepath.Join(t.TempDir(), "started")
			type result struct {
				out *lambda.InvokeOutput
				err error
			}
			res := make(chan result, 1)
			go func() {
				out, err := c.Invoke(context.Background(), &lambda.InvokeInput{
					FunctionName: aws.String("echo"),
					Payload:      fmt.Appendf(nil, `{"touch":%q,"sleep_ms":5000}`, started),
				})
				res <- result{out, err}
			}()
			waitFor(t, 5*time.Second, "the function to start", func() bool {
				_, err := os.Stat(started)
				return err == nil
			})
			if err := syscall.Kill(rie, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			r := <-res
			if r.err != nil {
				t.Fatal(r.err)
			}
			return r.out
		}, "Runtime.Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, Function{Name: "echo"})
			c := newClient(s)
			first := decode[echoed](t, invoke(t, c, "echo", `{}`).Payload)
			rie := s.pools["echo"].pids()[0]

			if out := tt.kill(t, c, rie); out != nil {
				if got := decode[errorPayload](t, out.Payload); aws.ToString(out.FunctionError) != "Unhandled" || got.ErrorType != tt.want {
					t.Errorf("the interrupted invocation answered %s, want an Unhandled %s", out.Payload, tt.want)
				}
			}
			waitFor(t, 10*time.Second, "a new RIE", func() bool {
				pids := s.pools["echo"].pids()
				return len(pids) == 1 && pids[0] != rie
			})
			for _, pid := range []int{rie, first.PID} {
				if stillRunning(pid) {
					t.Errorf("process %d of the dead RIE still runs", pid)
				}
			}
			next := decode[echoed](t, invoke(t, c, "echo", `{"echo":"again"}`).Payload)
			if next.Echo != "again" || next.PID == first.PID {
				t.Errorf("after the kill: %+v, want an answer from a new function process", next)
			}
		})
	}
}

func TestCloseStopsEveryProcess(t *testing.T) {
	t.Parallel()
	s, err := Start(t.Context(), Config{RIE: rieBinary, Logger: testLogger(t), Functions: []Function{
		{Name: "a", Bootstrap: echoBootstrap, PoolSize: 2},
		{Name: "b", Bootstrap: echoBootstrap, Timeout: time.Minute},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := newClient(s)
	for _, fn := range []string{"a", "a", "b"} {
		invoke(t, c, fn, `{}`) // starts the function processes
	}
	// One invocation still running when Close comes.
	running := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("b"), Payload: []byte(`{"sleep_ms":10000}`)})
		running <- err
	}()
	waitFor(t, 5*time.Second, "the long invocation to start", func() bool { return len(s.pools["b"].idle) == 0 })

	var pids []int
	for _, p := range s.pools {
		for _, rie := range p.pids() {
			procs, err := sessionProcs(rie)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range procs {
				pids = append(pids, pr.pid)
			}
			t.Logf("RIE %d of %s: session %+v", rie, p.fn.Name, procs)
		}
	}
	if len(pids) < 6 {
		t.Fatalf("processes %v, want 3 RIEs and their 3 functions", pids)
	}

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v", took)
	}
	for _, pid := range pids {
		if _, _, exists := readStat(pid); exists {
			t.Errorf("process %d exists after Close", pid)
		}
	}
	if err := <-running; err == nil {
		t.Error("the invocation Close cut short succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartRefusesBadFunctions(t *testing.T) {
	t.Parallel()
	notExecutable := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fns  []Function
		want string
	}{
		{"no functions", nil, "no functions"},
		{"a name Lambda refuses", []Function{{Name: "a b", Bootstrap: echoBootstrap}}, "invalid function name"},
		{"a missing bootstrap", []Function{{Name: "a", Bootstrap: "/nonexistent/bootstrap"}}, "no such file"},
		{"a bootstrap that is not executable", []Function{{Name: "a", Bootstrap: notExecutable}}, "not an executable"},
		{"a name given twice", []Function{{Name: "a", Bootstrap: echoBootstrap}, {Name: "a", Bootstrap: echoBootstrap}}, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Start(t.Context(), Config{RIE: rieBinary, Functions: tt.fns})
			if err == nil {
				s.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// BenchmarkInvoke measures a warm invocation of echofn through the server with the Go SDK,
// against the same invocation sent straight to the RIE.
func BenchmarkInvoke(b *testing.B) {
	s := startServer(b, Function{Name: "echo"})
	c := newClient(s)
	invoke(b, c, "echo", `{}`) // warm
	b.Run("server", func(b *testing.B) {
		for b.Loop() {
			invoke(b, c, "echo", `{"echo":"hi"}`)
		}
	})
	b.Run("rie", func(b *testing.B) {
		url := s.pools["echo"].slots[0].inst.invokeURL
		for b.Loop() {
			resp, err := http.Post(url, "application/json", strings.NewReader(`{"echo":"hi"}`))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkColdStart measures Start with one RIE up to the first answer of echofn, then Close.
func BenchmarkColdStart(b *testing.B) {
	for b.Loop() {
		s, err := Start(b.Context(), Config{RIE: rieBinary, Functions: []Function{{Name: "echo", Bootstrap: echoBootstrap}}})
		if err != nil {
			b.Fatal(err)
		}
		invoke(b, newClient(s), "echo", `{}`)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("gave up after %v waiting for %s", d, what)
		case <-tick.C:
		}
	}
}

// stillRunning reports whether process pid exists and is not a zombie.
func stillRunning(pid int) bool {
	p, _, ok := readStat(pid)
	return ok && p.state != 'Z'
}
