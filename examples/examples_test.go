// The examples' tests: every fixture is a valid worker input with an answer the contract
// allows, and the Python and TypeScript handlers, run on each fixture's input as Lambda would
// call them, give that answer. (The Go worker's own test runs it in-process on the same
// fixtures; internal/localstack runs all three end to end, under the Runtime Interface
// Emulator.) A missing python3 or Node.js is a failure, not a skip: `make deps` installs
// Node.js, python3 is on every machine we test on.
package examples_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/functions/contract"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
)

// fixture is one file of fixtures/: a worker's input and the answer expected from it.
type fixture struct {
	Name   string
	Input  json.RawMessage `json:"input"`
	Output json.RawMessage `json:"output,omitempty"`
	Error  *struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"error,omitempty"`
}

func fixtures(t *testing.T) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("fixtures", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var fxs []fixture
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fx := fixture{Name: filepath.Base(path)}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fx); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		fxs = append(fxs, fx)
	}
	return fxs
}

// TestFixturesFollowTheContract checks each fixture against the worker contract: the input
// is exactly a claim's output, and the answer is a JSON object within the size limit or an
// error with a type and a message.
func TestFixturesFollowTheContract(t *testing.T) {
	for _, fx := range fixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			dec := json.NewDecoder(bytes.NewReader(fx.Input))
			dec.DisallowUnknownFields()
			var in contract.ClaimOutput
			if err := dec.Decode(&in); err != nil {
				t.Fatalf("input is not a claim's output: %v", err)
			}
			if in.JobID == "" || in.TaskID == "" || in.Attempt < 1 || in.Lease.Token == "" || in.WorkTimeout < 1 {
				t.Errorf("input lacks what a claim always gives: %+v", in)
			}
			var data map[string]any
			if err := json.Unmarshal(in.Data, &data); err != nil || data == nil {
				t.Errorf("input data %s is not a JSON object", in.Data)
			}
			switch {
			case (fx.Output == nil) == (fx.Error == nil):
				t.Fatal("want exactly one of output and error")
			case fx.Error != nil:
				if fx.Error.ErrorType == "" || fx.Error.ErrorMessage == "" {
					t.Errorf("error %+v: want an errorType and an errorMessage", *fx.Error)
				}
			default:
				var out map[string]any
				if err := json.Unmarshal(fx.Output, &out); err != nil || out == nil {
					t.Errorf("output %s is not a JSON object: a worker's result must be one", fx.Output)
				}
				if len(fx.Output) > 192*1024 {
					t.Errorf("output of %d bytes: over 192 KiB", len(fx.Output))
				}
			}
		})
	}
}

// pythonLambda calls handler.handler as the Lambda Python runtime does and prints what the
// runtime would report: {"output": result} or {"error": {errorType, errorMessage}}.
const pythonLambda = `
import json, sys
sys.path.insert(0, sys.argv[1])
import handler
event = json.load(sys.stdin)
try:
    print(json.dumps({"output": handler.handler(event, None)}))
except Exception as e:
    print(json.dumps({"error": {"errorType": type(e).__name__, "errorMessage": str(e)}}))
`

func TestPythonHandler(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to test examples/python: %v", err)
	}
	for _, fx := range fixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			checkAnswer(t, fx, exec.Command(python, "-c", pythonLambda, "python"))
		})
	}
}

// nodeLambda imports handler.ts, awaits handler(event) as the Lambda Node.js runtime does and
// prints what the runtime would report (errorType is the error's name).
const nodeLambda = `
import { handler } from "./typescript/handler.ts";
let input = "";
for await (const chunk of process.stdin) input += chunk;
try {
  console.log(JSON.stringify({ output: await handler(JSON.parse(input)) }));
} catch (e) {
  console.log(JSON.stringify({ error: { errorType: e.name, errorMessage: e.message } }));
}
`

func TestTypeScriptHandler(t *testing.T) {
	// The Node.js 22 that `make deps` installs for sfnlocal runs TypeScript by stripping its
	// types: the file is run as it is, not compiled with tsc.
	node, err := filepath.Abs(repo.Node(".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(node); err != nil {
		t.Fatalf("Node.js is needed to test examples/typescript: %v (run make deps)", err)
	}
	for _, fx := range fixtures(t) {
		t.Run(fx.Name, func(t *testing.T) {
			checkAnswer(t, fx, exec.Command(node, "--experimental-strip-types", "--no-warnings", "--input-type=module", "-e", nodeLambda))
		})
	}
}

// checkAnswer runs cmd with the fixture's input on stdin and compares the answer it prints
// with the fixture's.
func checkAnswer(t *testing.T, fx fixture, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin = bytes.NewReader(fx.Input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args[0], err, stderr.String())
	}
	var got, want any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("answer %q: %v\n%s", out, err, stderr.String())
	}
	answer := map[string]any{"output": fx.Output}
	if fx.Error != nil {
		answer = map[string]any{"error": fx.Error}
	}
	wantJSON, _ := json.Marshal(answer)
	json.Unmarshal(wantJSON, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answer %s, want %s", bytes.TrimSpace(out), wantJSON)
	}
}
