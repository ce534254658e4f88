// Package localstack runs the whole pipeline on this machine: the function binaries under
// the Lambda Runtime Interface Emulator behind a local Lambda Invoke API
// (internal/lambdalocal), statemachine.asl.json executed by aws-local-stepfunctions
// (sfnlocal/run.mjs, on the pinned Node.js 22), and the tasks in DynamoDB Local. The
// end-to-end tests and cmd/runlocal (`make demo`, `make run`) use it.
package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/lambdalocal"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/runtimes"
)

// Functions are the names of the Lambda functions of the pipeline (contract.Functions());
// example-worker is the default worker.
var Functions = func() []string {
	names := make([]string, len(contract.Functions()))
	for i, f := range contract.Functions() {
		names[i] = f.Name
	}
	return names
}()

// Config configures a Stack.
type Config struct {
	// Root is the repository root (where statemachine.asl.json, functions/ and sfnlocal/ are).
	Root string
	// Table and DynamoEndpoint say where the tasks are.
	Table, DynamoEndpoint string
	// Bin is where the bootstraps are built; "" means a temporary folder removed by Close.
	Bin string
	// Pool is how many emulators serve each function (concurrent invocations); 0 means 4.
	Pool int
	// Env adds variables to every function's environment (contract.EnvMaxRetry, say), over
	// those of the settings the stack gives them (table, worker timeout; the rest are the
	// functions' defaults, as deployed).
	Env map[string]string
	// Timeout is a function's timeout; 0 means 30 s.
	Timeout time.Duration
	// Worker is the worker the state machine's Work step invokes (WorkerFunctionArn) instead
	// of example-worker, in any form runtimes.Find takes: a built bootstrap (linux/GOARCH); a
	// directory holding a Go main package, which Start builds like the functions (it must be
	// inside a module that can resolve its imports); or a Python or Node.js handler (a .py,
	// .js, .mjs, .cjs or .ts file, or a directory holding one, optionally followed by
	// :module.function), run by the project's runtime client on python3 and on the pinned
	// Node.js 22 as Lambda's runtimes run them. A relative path is relative to the current
	// directory. It is served under example-worker's name and ARN. "" means example-worker.
	Worker string
	// Logger receives the emulators' log and every line the functions write, at level info
	// with the attribute "function" naming the function (lambdalocal.Config.Logger); nil
	// means none.
	Logger *slog.Logger
}

// Stack is a running local pipeline.
type Stack struct {
	cfg     Config
	server  *lambdalocal.Server
	tempBin bool
}

// Start builds the functions for this machine, starts the local Lambda endpoint over them and
// checks that the Node runner is installed (`make deps` installs it).
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.Pool == 0 {
		cfg.Pool = 4
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	s := &Stack{cfg: cfg}
	if _, err := os.Stat(s.node()); err != nil {
		return nil, fmt.Errorf("localstack: %s is missing: run `make deps` (npm ci --prefix sfnlocal)", s.node())
	}
	if s.cfg.Bin == "" {
		dir, err := os.MkdirTemp("", "localstack-")
		if err != nil {
			return nil, err
		}
		s.cfg.Bin, s.tempBin = dir, true
	}
	if err := Build(ctx, cfg.Root, s.cfg.Bin, runtime.GOARCH); err != nil {
		s.Close()
		return nil, err
	}
	worker, err := s.worker(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	// The Work state's timeout is the worker's, as the CDK app sets it.
	env := contract.Settings{Table: cfg.Table, WorkerTimeout: cfg.Timeout.Truncate(time.Second)}.Env()
	env["AWS_ENDPOINT_URL_DYNAMODB"] = cfg.DynamoEndpoint
	env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"] = "local", "local", "us-east-1"
	maps.Copy(env, cfg.Env)
	lc := lambdalocal.Config{Logger: cfg.Logger}
	for _, fn := range Functions {
		bootstrap := filepath.Join(s.cfg.Bin, fn, "bootstrap")
		if fn == workerFunction {
			bootstrap = worker
		}
		lc.Functions = append(lc.Functions, lambdalocal.Function{
			Name: fn, Bootstrap: bootstrap, Env: env, Timeout: cfg.Timeout, PoolSize: cfg.Pool,
		})
	}
	if s.server, err = lambdalocal.Start(ctx, lc); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// workerFunction is the function the state machine's Work step invokes.
var workerFunction = contract.WorkerFunction.Name

// worker returns the bootstrap to serve as the worker: example-worker's, or what
// runtimes.Bootstrap makes of Config.Worker in Bin/worker.
func (s *Stack) worker(ctx context.Context) (string, error) {
	if s.cfg.Worker == "" {
		return filepath.Join(s.cfg.Bin, workerFunction, "bootstrap"), nil
	}
	bootstrap, err := runtimes.Bootstrap(ctx, s.cfg.Worker, runtimes.Config{Dir: filepath.Join(s.cfg.Bin, "worker"), Node: s.node()})
	if err != nil {
		return "", fmt.Errorf("localstack: worker: %w", err)
	}
	return bootstrap, nil
}

// Build builds every function for linux/arch into dir/<name>/bootstrap, as `make build` does.
// The functions are built at once; into a folder that holds them already, `go build` only
// checks that each is up to date (a fraction of a second), so a runner that keeps its folder
// (cmd/runlocal uses build/<arch>, as `make build` does) rebuilds only what changed.
func Build(ctx context.Context, root, dir, arch string) error {
	errs := make([]error, len(Functions))
	var wg sync.WaitGroup
	for i, fn := range Functions {
		wg.Go(func() {
			if err := runtimes.BuildGo(ctx, root, "./functions/"+fn, filepath.Join(dir, fn, "bootstrap"), arch); err != nil {
				errs[i] = fmt.Errorf("localstack: build %s: %w", fn, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// LambdaURL is the local Lambda Invoke API endpoint.
func (s *Stack) LambdaURL() string { return s.server.URL() }

// FunctionArn is the ARN the state machine uses for a function.
func FunctionArn(name string) string {
	return "arn:aws:lambda:us-east-1:123456789012:function:" + name
}

// Execution is the outcome of one state machine execution, as sfnlocal/run.mjs reports it.
type Execution struct {
	Status string          `json:"status"` // SUCCEEDED or FAILED
	Output json.RawMessage `json:"output,omitempty"`
	Error  string          `json:"error,omitempty"`
	Cause  string          `json:"cause,omitempty"`
	// Name and Arn name the execution; StartedBy is the execution whose startExecution state
	// started it (continue-as-new, a sweep), empty for the first.
	Name      string `json:"name,omitempty"`
	Arn       string `json:"arn,omitempty"`
	StartedBy string `json:"started_by,omitempty"`
	// States counts the states the execution entered, by name, its Distributed Map's children
	// apart: Children of them entered ChildStates states in all. Retries counts retries by
	// state name.
	States      map[string]int `json:"states,omitempty"`
	Retries     map[string]int `json:"retries,omitempty"`
	Children    int            `json:"children,omitempty"`
	ChildStates int            `json:"child_states,omitempty"`
	// ChildStatesByName counts the children's states by name.
	ChildStatesByName map[string]int `json:"child_states_by_name,omitempty"`
	// ChildMs lists how long each child (lane) lived, in milliseconds.
	ChildMs []int `json:"child_ms,omitempty"`
	// ErrorEvents counts the events Step Functions logs at level ERROR (every failure of a
	// state, retried, caught or not; a failed Map iteration; the execution's failure), its
	// children's included; ErrorBytes sums their error names' and causes' bytes.
	ErrorEvents int `json:"error_events,omitempty"`
	ErrorBytes  int `json:"error_bytes,omitempty"`
	// PeakInFlight is, on the first execution, the most Lambda calls the run had in flight at
	// once, by state name: at Work, the concurrency its worker really ran at.
	PeakInFlight map[string]int `json:"peak_in_flight,omitempty"`
	// MaxPayload is the largest state input or output, or Lambda request or result, it carried.
	MaxPayload struct {
		Bytes int    `json:"bytes"`
		State string `json:"state"`
		What  string `json:"what"`
	} `json:"max_payload"`
	// Executions lists, on the first execution, every execution of the run in start order
	// (the first included).
	Executions []Execution `json:"executions,omitempty"`
}

// Last returns the last execution of the run whose chain (continue-as-new) starts at the
// first: the one whose output is the job's summary (a bulk action's end). Sweeps start several chains; Last
// follows the first.
func (e *Execution) Last() *Execution {
	if len(e.Executions) == 0 {
		return e
	}
	cur := &e.Executions[0]
	for {
		var next *Execution
		for i := range e.Executions {
			if cur.States["Handover"]+cur.States["BulkHandover"] > 0 && e.Executions[i].StartedBy == cur.Arn {
				next = &e.Executions[i]
				break
			}
		}
		if next == nil {
			return cur
		}
		cur = next
	}
}

// RunOptions tunes one execution.
type RunOptions struct {
	// Name is the execution's name; "" means a random one.
	Name string
	// Waits keeps Retry intervals as written; by default they take no time. Wait states
	// always wait as written (they wait for a failed task's due time).
	Waits bool
	// LambdaURL overrides the Lambda endpoint the machine calls (a fault-injecting proxy).
	LambdaURL string
	// Definition runs another definition file instead of statemachine.asl.json.
	Definition string
	// LoseStartAnswers makes the first N starts of executions by the definition's
	// startExecution states start their execution and then fail as a lost answer does
	// (run.mjs's SFNLOCAL_LOSE_START_ANSWERS): a fault for tests.
	LoseStartAnswers int
}

// Run executes statemachine.asl.json with input (a contract.RunInput, or any JSON, to try
// inputs the state machine must refuse) to the end, with the function ARNs pointing
// at this stack and errors named as Step Functions names them.
func (s *Stack) Run(ctx context.Context, input any, opts RunOptions) (*Execution, error) {
	in, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	definition := filepath.Join(s.cfg.Root, "statemachine.asl.json")
	if opts.Definition != "" {
		definition = opts.Definition
	}
	args := []string{filepath.Join(s.cfg.Root, "sfnlocal", "run.mjs"),
		"--definition", definition,
		"--input-file", "-", "--state-machine-name", "tracker-run",
		"--subst"}
	for _, f := range contract.Functions() {
		args = append(args, f.ArnPlaceholder+"="+FunctionArn(f.Name))
	}
	args = append(args, contract.ChildExecutionTypePlaceholder+"=EXPRESS")
	if !opts.Waits {
		args = append(args, "--no-retry-waits")
	}
	if opts.Name != "" {
		args = append(args, "--execution-name", opts.Name)
	}
	url := s.LambdaURL()
	if opts.LambdaURL != "" {
		url = opts.LambdaURL
	}
	cmd := exec.CommandContext(ctx, s.node(), args...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL_LAMBDA="+url, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", fmt.Sprintf("SFNLOCAL_LOSE_START_ANSWERS=%d", opts.LoseStartAnswers))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var ex Execution
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &ex); err != nil || ex.Status == "" {
		return nil, fmt.Errorf("localstack: run.mjs: %v: %s%s", runErr, stdout.String(), strings.TrimSpace(stderr.String()))
	}
	return &ex, nil
}

// Close stops the emulators and removes a temporary build folder.
func (s *Stack) Close() error {
	var err error
	if s.server != nil {
		err = s.server.Close()
	}
	if s.tempBin {
		os.RemoveAll(s.cfg.Bin)
	}
	return err
}

func (s *Stack) node() string {
	return repo.Node(s.cfg.Root)
}
