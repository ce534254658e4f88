// The fingerprints of real failures: the examples' Python and TypeScript workers run under
// stand-ins of their Lambda runtimes (testdata/runtime), and a Go worker that fails as
// worker.Pool records failures (testdata/goworker), each on inputs that make it fail. A
// missing python3 or Node.js is a failure, not a skip, as in examples/examples_test.go.
package fingerprint_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.txt from fresh runs (only with a new fingerprint.Version)")

// variant is a change to a baseline failure, and whether it must keep its fingerprint.
type variant struct {
	name  string
	edit  func(t *testing.T, source string) string // a change to the worker's source; nil keeps it
	input string                                   // the worker's input; "" is the baseline's
	same  bool                                     // the fingerprint must be the baseline's
	// framesOnly says the variant has the baseline's type and message, so that its
	// fingerprint differs, if it does, by its frames alone.
	framesOnly bool
}

// TestRealTracebacks runs each worker on an input that makes it fail, checks that the
// failure fingerprints as the one stored in testdata (the same failure in another process,
// its addresses and times different), then runs it again with a variant: another task id
// or the failing line moved down by one keeps the fingerprint; another error type, or the
// same error raised by another function, does not.
func TestRealTracebacks(t *testing.T) {
	noText := fixtureInput(t, nil)
	otherTask := fixtureInput(t, func(in map[string]any) {
		in["task_id"] = "t-1234"
		in["lease"].(map[string]any)["task_id"] = "t-1234"
		in["lease"].(map[string]any)["token"] = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
		in["attempt"] = 3
	})
	withData := func(data map[string]any) string {
		return fixtureInput(t, func(in map[string]any) { in["data"] = data })
	}
	for _, c := range []struct {
		name     string
		stored   string // testdata file of the baseline failure
		about    string // what ran, on what
		run      runner
		input    string
		variants []variant
	}{
		{
			name:   "python NoText",
			stored: "python-notext.txt",
			about:  "examples/python/handler.py on examples/fixtures/no-text.json, under testdata/runtime/bootstrap.py (awslambdaric's stackTrace)",
			run:    runPython,
			input:  noText,
			variants: []variant{
				{name: "another task, attempt and lease token", input: otherTask, same: true},
				{name: "the raise one line lower", edit: shift("#"), same: true},
				{name: "another exception type (AttributeError)", input: withData(map[string]any{"text": 5})},
				{name: "the same exception raised by another function", edit: pythonRaiseInHelper, framesOnly: true},
			},
		},
		{
			name:   "typescript NoText",
			stored: "node-notext.txt",
			about:  "examples/typescript/handler.ts on examples/fixtures/no-text.json, under testdata/runtime/index.mjs (err.stack)",
			run:    runNode,
			input:  noText,
			variants: []variant{
				{name: "another task, attempt and lease token", input: otherTask, same: true},
				{name: "the throw one line lower", edit: shift("//"), same: true},
				{name: "another error type (TypeError)", input: withData(map[string]any{"text": 5})},
				{name: "the same error thrown by another function", edit: typeScriptThrowInHelper, framesOnly: true},
			},
		},
		{
			name:   "go panic",
			stored: "go-panic.txt",
			about:  "testdata/goworker on task t-4 with an empty text: a panic and its debug.Stack()",
			run:    runGo,
			input:  withData(map[string]any{"text": ""}),
			variants: []variant{
				{name: "another task", input: fixtureInput(t, func(in map[string]any) {
					in["task_id"], in["data"] = "t-1234", map[string]any{"text": ""}
				}), same: true},
				{name: "the panic one line lower", edit: shift("//"), same: true},
				{name: "the same panic from another function", input: withData(map[string]any{"text": "  "}), framesOnly: true},
				{name: "a nil pointer dereference", input: withData(map[string]any{})},
				{name: "an error, not a panic", input: withData(map[string]any{"text": "a b", "limit": "ten"})},
			},
		},
		{
			name:   "go error",
			stored: "go-error.txt",
			about:  "testdata/goworker on task t-4 with a limit that is no number: an error, no traceback",
			run:    runGo,
			input:  withData(map[string]any{"text": "a b", "limit": "ten"}),
			variants: []variant{
				{name: "another task and value", input: fixtureInput(t, func(in map[string]any) {
					in["task_id"], in["data"] = "t-1234", map[string]any{"text": "a b", "limit": "12 x"}
				}), same: true},
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base := c.run(t, nil, c.input)
			got := fingerprint.Compute(base.Error, base.Traceback)
			if *update {
				writeStored(t, c.stored, c.about, base)
			}
			stored := readStored(t, c.stored)
			if want := fingerprint.Compute(stored.Error, stored.Traceback); got.String() != want.String() {
				t.Errorf("a fresh run fingerprints %s, the stored run of %s %s\nfresh: %+v\nstored: %+v", got, c.stored, want, got, want)
			}
			for _, v := range c.variants {
				t.Run(v.name, func(t *testing.T) {
					t.Parallel()
					input := v.input
					if input == "" {
						input = c.input
					}
					other := c.run(t, v.edit, input)
					if other.withoutDir() == base.withoutDir() {
						t.Fatalf("the variant failed exactly as the baseline: %+v", other)
					}
					fp := fingerprint.Compute(other.Error, other.Traceback)
					if (fp.String() == got.String()) != v.same {
						t.Errorf("fingerprint %s, baseline %s: want equal %v\nvariant: %+v\nbaseline: %+v", fp, got, v.same, fp, got)
					}
					if v.framesOnly && (fp.Type != got.Type || fp.Message != got.Message) {
						t.Errorf("type %q and message %q, baseline %q and %q: want the same", fp.Type, fp.Message, got.Type, got.Message)
					}
				})
			}
		})
	}
}

// capture is a failure as the tracker stores it, and the directory the run's files were in.
type capture struct {
	Error, Traceback string
	dir              string
}

// withoutDir returns c with its run's directory removed from its paths, as stored.
func (c capture) withoutDir() capture {
	return capture{Error: strings.ReplaceAll(c.Error, c.dir, ""), Traceback: strings.ReplaceAll(c.Traceback, c.dir, "")}
}

// runner runs a worker, its source changed by edit, on input, and returns its failure.
type runner func(t *testing.T, edit func(t *testing.T, source string) string, input string) capture

// runPython runs examples/python/handler.py under testdata/runtime/bootstrap.py, laid out as
// Lambda lays them out (var/task and var/runtime in a temporary directory), and returns its
// error as the fail function stores a Lambda error (functions/internal/handler/fail.go):
// "errorType: errorMessage", and the stackTrace's strings joined by newlines.
func runPython(t *testing.T, edit func(*testing.T, string) string, input string) capture {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to run examples/python: %v", err)
	}
	dir := t.TempDir()
	task := install(t, dir, "var/task/handler.py", "../examples/python/handler.py", edit)
	boot := install(t, dir, "var/runtime/bootstrap.py", "testdata/runtime/bootstrap.py", nil)
	cmd := exec.Command(python, boot, filepath.Dir(task))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var out struct {
		ErrorType    string   `json:"errorType"`
		ErrorMessage string   `json:"errorMessage"`
		StackTrace   []string `json:"stackTrace"`
	}
	runJSON(t, cmd, input, &out)
	return capture{Error: out.ErrorType + ": " + out.ErrorMessage, Traceback: strings.Join(out.StackTrace, "\n"), dir: dir}
}

// runNode runs examples/typescript/handler.ts with the pinned Node.js 22 (types stripped, as
// examples/examples_test.go runs it) under testdata/runtime/index.mjs, laid out as Lambda
// lays them out, and returns its error as the fail function would store it: "errorType:
// errorMessage", and the trace (err.stack's lines) joined by newlines.
func runNode(t *testing.T, edit func(*testing.T, string) string, input string) capture {
	t.Helper()
	node, err := filepath.Abs(repo.Node(".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(node); err != nil {
		t.Fatalf("Node.js is needed to run examples/typescript: %v (run make deps)", err)
	}
	dir := t.TempDir()
	task := install(t, dir, "var/task/handler.ts", "../examples/typescript/handler.ts", edit)
	index := install(t, dir, "var/runtime/index.mjs", "testdata/runtime/index.mjs", nil)
	cmd := exec.Command(node, "--experimental-strip-types", "--no-warnings", index, "file://"+task)
	var out struct {
		ErrorType    string   `json:"errorType"`
		ErrorMessage string   `json:"errorMessage"`
		Trace        []string `json:"trace"`
	}
	runJSON(t, cmd, input, &out)
	return capture{Error: out.ErrorType + ": " + out.ErrorMessage, Traceback: strings.Join(out.Trace, "\n"), dir: dir}
}

// goBuilds are the goworker builds made so far, by source, under goBuildDir.
var goBuilds = struct {
	sync.Mutex
	dirs map[string]string
}{dirs: map[string]string{}}

// runGo builds testdata/goworker (once per source, in a module of its own) and runs it on
// input: its failure is what worker.Pool stores, err.Error() or a panic with its
// debug.Stack().
func runGo(t *testing.T, edit func(*testing.T, string) string, input string) capture {
	t.Helper()
	dir := buildGo(t, edit)
	var out struct {
		Error     string `json:"error"`
		Traceback string `json:"traceback"`
	}
	runJSON(t, exec.Command(filepath.Join(dir, "src", "goworker", "goworker")), input, &out)
	return capture{Error: out.Error, Traceback: out.Traceback, dir: dir}
}

// buildGo builds testdata/goworker, changed by edit, unless a test built that source already,
// and returns the directory of the build (the binary is src/goworker/goworker in it).
func buildGo(t *testing.T, edit func(*testing.T, string) string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is needed to build testdata/goworker: %v", err)
	}
	source, err := os.ReadFile("testdata/goworker/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		source = []byte(edit(t, string(source)))
	}
	goBuilds.Lock()
	defer goBuilds.Unlock()
	if dir, ok := goBuilds.dirs[string(source)]; ok {
		return dir
	}
	dir, err := os.MkdirTemp(goBuildDir, "build")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src", "goworker")
	write(t, filepath.Join(src, "main.go"), source)
	write(t, filepath.Join(src, "go.mod"), []byte("module goworker\n\ngo 1.26\n"))
	build := exec.Command(goCmd, "build", "-o", "goworker", ".")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build goworker: %v\n%s", err, out)
	}
	goBuilds.dirs[string(source)] = dir
	return dir
}

// install copies the file at from (relative to the package) to dir/to, changed by edit, and
// returns its path.
func install(t *testing.T, dir, to, from string, edit func(*testing.T, string) string) string {
	t.Helper()
	source, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		source = []byte(edit(t, string(source)))
	}
	path := filepath.Join(dir, to)
	write(t, path, source)
	return path
}

// write writes a file, making its directory.
func write(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runJSON runs cmd with input on stdin and decodes what it prints into v.
func runJSON(t *testing.T, cmd *exec.Cmd, input string, v any) {
	t.Helper()
	cmd.Stdin = strings.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Args[0], err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s printed %q: %v\n%s", cmd.Args[0], out, err, stderr.String())
	}
}

// fixtureInput returns the input of examples/fixtures/no-text.json (task t-4, no text),
// changed by edit.
func fixtureInput(t *testing.T, edit func(map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile("../examples/fixtures/no-text.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Input map[string]any `json:"input"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(fx.Input)
	}
	in, err := json.Marshal(fx.Input)
	if err != nil {
		t.Fatal(err)
	}
	return string(in)
}

// shift returns an edit that adds a comment line at the top of a source, moving every line
// of it down by one.
func shift(comment string) func(*testing.T, string) string {
	return func(_ *testing.T, source string) string {
		return comment + " one line added, every line one lower\n" + source
	}
}

// pythonRaiseInHelper moves handler.py's raise into a function of its own.
func pythonRaiseInHelper(t *testing.T, source string) string {
	const raise = `raise NoText(f"task {event['task_id']} has no text")`
	return replaceOnce(t, source, raise, "no_text(event)") +
		"\n\ndef no_text(event):\n    " + raise + "\n"
}

// typeScriptThrowInHelper moves handler.ts's throw into a function of its own.
func typeScriptThrowInHelper(t *testing.T, source string) string {
	const throw = "throw new NoText(`task ${event.task_id} has no text`);"
	return replaceOnce(t, source, throw, "noText(event);") +
		"\nfunction noText(event: Claim): never {\n  " + throw + "\n}\n"
}

// replaceOnce replaces old, which must occur exactly once in s, by new.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times in the source, want once: has the example changed?", old, n)
	}
	return strings.Replace(s, old, new, 1)
}
