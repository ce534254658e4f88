package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files with the current output")

// t0 is the tests' "now": every time the CLI prints derives from it.
var t0 = trackertest.T0

// cli runs trackerctl in-process with a fixed environment and clock.
type cli struct {
	env   map[string]string
	clock *trackertest.Clock
	// tty forces the terminal flags of the streams (all false by default, as under go test).
	stdinTTY, stdoutTTY, stderrTTY bool
	// wait replaces the pause between two refreshes of status --watch.
	wait func(ctx context.Context, d time.Duration) error
	// stdin is standard input.
	stdin string
	// version replaces the version the version command prints, when set.
	version string
	// stderrTee, when set, also receives everything written on standard error as it is
	// written (the memory test samples the heap on each progress bar update).
	stderrTee io.Writer
}

// result is what one run printed and returned.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (c *cli) run(t testing.TB, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return c.env[k] }
	var errw io.Writer = &stderr
	if c.stderrTee != nil {
		errw = io.MultiWriter(&stderr, c.stderrTee)
	}
	a := newApp(strings.NewReader(c.stdin), &stdout, errw, getenv)
	if c.clock != nil {
		a.now = c.clock.Now
	}
	a.stdinTTY, a.stdoutTTY, a.stderrTTY = c.stdinTTY, c.stdoutTTY, c.stderrTTY
	if c.wait != nil {
		a.wait = c.wait
	}
	if c.version != "" {
		a.version = c.version
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := a.run(ctx, args)
	return result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// transcript renders a run like a terminal session, for golden files.
func (r result) transcript() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ trackerctl %s\n", strings.Join(r.args, " "))
	b.WriteString(r.stdout)
	if r.stderr != "" {
		b.WriteString("--- stderr\n")
		b.WriteString(r.stderr)
	}
	fmt.Fprintf(&b, "--- exit %d\n", r.code)
	return b.String()
}

// wantCode fails the test unless the run exited with code.
func (r result) wantCode(t testing.TB, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("trackerctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// wantOneLineError checks that a failed run printed exactly one line on stderr, holding
// every part of want.
func (r result) wantOneLineError(t testing.TB, want ...string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("trackerctl %s succeeded, want an error", strings.Join(r.args, " "))
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "trackerctl: ") {
		t.Errorf("trackerctl %s: stderr is not one 'trackerctl: ' line:\n%s", strings.Join(r.args, " "), r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("trackerctl %s: stderr %q lacks %q", strings.Join(r.args, " "), r.stderr, w)
		}
	}
}

// jsonErrorLine is the schema of an error on stderr under --output json.
type jsonErrorLine struct {
	Error string `json:"error"`
	Type  string `json:"type"`
}

// wantJSONError checks that a failed run printed exactly one line on stderr, the JSON
// object {"error": msg, "type": kind}; an empty msg is not compared.
func (r result) wantJSONError(t testing.TB, kind, msg string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("trackerctl %s succeeded, want an error", strings.Join(r.args, " "))
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Fatalf("trackerctl %s: stderr is not one line:\n%s", strings.Join(r.args, " "), r.stderr)
	}
	var got jsonErrorLine
	decodeStrict(t, r.stderr, &got, "error", "type")
	if got.Type != kind || (msg != "" && got.Error != msg) || got.Error == "" {
		t.Errorf("trackerctl %s: stderr error %+v, want type %q and message %q", strings.Join(r.args, " "), got, kind, msg)
	}
}

// checkGolden compares got with testdata/name.golden, or rewrites it under -update.
// replace pairs normalise per-run values (the table name, the endpoint) first.
func checkGolden(t testing.TB, name, got string, replace ...string) {
	t.Helper()
	got = strings.NewReplacer(replace...).Replace(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update to accept it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// decodeStrict decodes the JSON output into v, refusing unknown fields and trailing data,
// and checks that every key in required is present (even when null).
func decodeStrict(t testing.TB, out string, v any, required ...string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("JSON output does not match the schema: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("JSON output holds more than one value:\n%s", out)
	}
	requireKeys(t, out, required...)
}

// requireKeys checks that the JSON object out has every key of required; a dotted key
// ("lease.expires") looks inside a nested object, "tasks[].task_id" inside each element.
func requireKeys(t testing.TB, out string, required ...string) {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("JSON output is not an object: %v", err)
	}
	for _, key := range required {
		checkKey(t, obj, key, key)
	}
}

func checkKey(t testing.TB, obj map[string]any, key, full string) {
	t.Helper()
	head, rest, nested := strings.Cut(key, ".")
	name, each := strings.CutSuffix(head, "[]")
	v, ok := obj[name]
	if !ok {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("JSON output lacks required field %q (has %v)", full, keys)
		return
	}
	if !nested {
		return
	}
	if each {
		list, _ := v.([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				checkKey(t, m, rest, full)
			}
		}
		return
	}
	if m, ok := v.(map[string]any); ok {
		checkKey(t, m, rest, full)
	}
}

// closedPort returns a loopback URL on which nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// writeFile writes content to a file in a fresh temporary directory and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
