//go:build linux

package runtimes_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/lambdalocal"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/repo"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/runtimes"
)

// handlers are the handlers TestErrorPayloads runs, by path: each raises from a helper it
// calls, so that the stack has two frames of the handler's file.
var handlers = map[string]string{
	"python/handler.py": `def check(n):
    if n < 0:
        raise ValueError(f"n is {n}")
    return n


def handler(event, context):
    return {"n": check(event["n"]), "function": context.function_name}
`,
	"node/index.mjs": `function check(n) {
  if (n < 0) throw new RangeError(` + "`n is ${n}`" + `);
  return n;
}

export const handler = async (event, context) => ({ n: check(event.n), function: context.functionName });
`,
}

// TestErrorPayloads runs a Python and a Node.js handler under the Runtime Interface Emulator
// through their runtime clients: what they return is the result, and what they raise is the
// error payload of Lambda's own runtimes, exactly (awslambdaric's stackTrace of formatted
// frames from the handler's file on; the Node.js runtime's trace, the stack's lines), as are
// the errors of a handler that is not there.
func TestErrorPayloads(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for name, src := range handlers {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	node, err := filepath.Abs(repo.Node(filepath.Join("..", "..")))
	if err != nil {
		t.Fatal(err)
	}
	var fns []lambdalocal.Function
	for name, path := range map[string]string{
		"python": filepath.Join(root, "python"), "python-missing": filepath.Join(root, "python") + ":handler.nope",
		"node": filepath.Join(root, "node"), "node-missing": filepath.Join(root, "node") + ":index.nope",
	} {
		bootstrap, err := runtimes.Bootstrap(t.Context(), path, runtimes.Config{Dir: filepath.Join(root, "build", name), Node: node})
		if err != nil {
			t.Fatal(err)
		}
		fns = append(fns, lambdalocal.Function{Name: name, Bootstrap: bootstrap, Timeout: 10 * time.Second})
	}
	srv, err := lambdalocal.Start(t.Context(), lambdalocal.Config{Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	pyFile, jsURL := filepath.Join(root, "python", "handler.py"), "file://"+filepath.Join(root, "node", "index.mjs")
	for _, tc := range []struct {
		name, function, event string
		functionError         bool
		// want is the payload; "$REQUEST_ID" stands for the invocation's request id. A trace
		// (Node.js) holds the frames of want's trace, then only the runtime client's.
		want string
	}{
		{"python returns the result", "python", `{"n": 2}`, false, `{"n": 2, "function": "python"}`},
		{"python raises", "python", `{"n": -2}`, true, mustJSON(t, map[string]any{
			"errorMessage": "n is -2", "errorType": "ValueError", "requestId": "$REQUEST_ID",
			"stackTrace": []string{
				"  File \"" + pyFile + "\", line 8, in handler\n    return {\"n\": check(event[\"n\"]), \"function\": context.function_name}\n",
				"  File \"" + pyFile + "\", line 3, in check\n    raise ValueError(f\"n is {n}\")\n",
			}})},
		{"python has no such handler", "python-missing", `{}`, true,
			`{"errorMessage": "Handler 'nope' missing on module 'handler'", "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []}`},
		{"node returns the result", "node", `{"n": 2}`, false, `{"n": 2, "function": "node"}`},
		{"node throws", "node", `{"n": -2}`, true, mustJSON(t, map[string]any{
			"errorType": "RangeError", "errorMessage": "n is -2",
			"trace": []string{
				"RangeError: n is -2",
				"    at check (" + jsURL + ":2:20)",
				"    at handler (" + jsURL + ":6:56)",
			}})},
		{"node has no such handler", "node-missing", `{}`, true, mustJSON(t, map[string]any{
			"errorType": "Runtime.HandlerNotFound", "errorMessage": "index.nope is undefined or not exported",
			"trace": []string{"Runtime.HandlerNotFound: index.nope is undefined or not exported"}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL()+"/2015-03-31/functions/"+tc.function+"/invocations", "application/json", strings.NewReader(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if fnErr := resp.Header.Get("X-Amz-Function-Error") == "Unhandled"; resp.StatusCode != http.StatusOK || fnErr != tc.functionError {
				t.Fatalf("HTTP %d, X-Amz-Function-Error %q: %s", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), body)
			}
			var got, want map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("payload %s: %v", body, err)
			}
			if err := json.Unmarshal([]byte(strings.ReplaceAll(tc.want, "$REQUEST_ID", resp.Header.Get("X-Amzn-RequestId"))), &want); err != nil {
				t.Fatal(err)
			}
			if trace, ok := got["trace"].([]any); ok {
				n := len(want["trace"].([]any))
				if len(trace) < n {
					t.Fatalf("payload %s: want the frames of %s first", body, tc.want)
				}
				for _, frame := range trace[n:] {
					if !runtimeFrame.MatchString(frame.(string)) {
						t.Errorf("frame %q after the handler's: want one of the runtime client's", frame)
					}
				}
				got["trace"] = trace[:n]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("payload\n%s\nwant\n%s", body, tc.want)
			}
		})
	}
}

// runtimeFrame is a frame of the Node.js runtime client, or of what it runs on.
var runtimeFrame = regexp.MustCompile(`^    at (async )?(.* \()?(file://.*/runtime\.mjs:\d+:\d+|node:internal/.*|<anonymous>)\)?$`)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
