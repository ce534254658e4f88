package fingerprint_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

// TestComputeTypeAndMessage checks how the error texts the tracker stores divide into a
// type and a normalised message.
func TestComputeTypeAndMessage(t *testing.T) {
	for _, c := range []struct{ name, errorText, typ, message string }{
		{"a Lambda error: errorType: errorMessage", "NoText: task t-4 has no text", "NoText", "task t-<num> has no text"},
		{"a Lambda error with no message", "NoText: ", "NoText", ""},
		{"a Step Functions error with no cause", "States.Timeout", "States.Timeout", ""},
		{"a Step Functions error with a cause", "States.TaskFailed: worker crashed", "States.TaskFailed", "worker crashed"},
		{"a Lambda timeout", "Sandbox.Timedout: RequestId: 8c3e4d1a-1b2c-4d5e-8f90-123456789abc Error: Task timed out after 3.00 seconds",
			"Sandbox.Timedout", "RequestId: <uuid> Error: Task timed out after <num> seconds"},
		{"a Python import error", "Runtime.ImportModuleError: Unable to import module 'handler': No module named 'requests'",
			"Runtime.ImportModuleError", "Unable to import module <str>: No module named <str>"},
		{"a Python KeyError", "KeyError: 'text'", "KeyError", "<str>"},
		{"a Go pool's panic", "panic: runtime error: index out of range [5] with length 3", "panic", "runtime error: index out of range [<num>] with length <num>"},
		{"a Go error with no type", "open /var/task/t-4.json: no such file or directory", "", "open <path>: no such file or directory"},
		{"a Go error of one word", "EOF", "EOF", ""},
		{"a colon with no space is no type", "Error:x", "", "Error:x"},
		{"a URL is no type", "https://example.com/x failed", "", "<path> failed"},
		{"the tracker's lease lost", "lease lost: ip-10-0-0-1-4242/3 held the task and its lease ran out at 2026-11-29T00:43:51.185247+0000 without the task finishing",
			"lease lost", "<holder> held the task and its lease ran out at <time> without the task finishing"},
		{"the tracker's lease lost, holder unnamed", "lease lost: an unnamed worker held the task and its lease ran out at 2026-11-30T10:00:00.000000+0000 without the task finishing",
			"lease lost", "<holder> held the task and its lease ran out at <time> without the task finishing"},
		{"empty", "", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fp := fingerprint.Compute(c.errorText, "")
			if fp.Type != c.typ || fp.Message != c.message {
				t.Errorf("Compute(%q): type %q, message %q; want %q, %q", c.errorText, fp.Type, fp.Message, c.typ, c.message)
			}
		})
	}
}

// TestComputeFrames checks which frames of each traceback format a fingerprint keeps.
func TestComputeFrames(t *testing.T) {
	for _, c := range []struct {
		name, traceback string
		want            []string
	}{
		{"awslambdaric's stackTrace, joined", "  File \"/var/task/handler.py\", line 18, in handler\n    raise NoText(msg)\n",
			[]string{"handler (handler.py)"}},
		{"a Python traceback: the last exception's frames, innermost first, without the runtime's and the standard library's", `Traceback (most recent call last):
  File "/var/task/handler.py", line 10, in load
    return json.loads(raw)
  File "/var/lang/lib/python3.12/json/decoder.py", line 337, in decode
    obj, end = self.raw_decode(s, idx=_w(s, 0).end())
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/var/runtime/bootstrap.py", line 60, in handle_event_request
    response = request_handler(event, lambda_context)
  File "/var/task/handler.py", line 20, in handler
    data = load(event["data"])
  File "/var/task/handler.py", line 12, in load
    raise BadData("not JSON") from None
  File "/var/lang/lib/python3.12/site-packages/boto3/session.py", line 99, in client
    raise x
BadData: not JSON`, []string{"load (handler.py)", "handler (handler.py)"}},
		{"a Python traceback of libraries only keeps them", `  File "/var/runtime/bootstrap.py", line 60, in handle_event_request
  File "/var/lang/lib/python3.12/site-packages/boto3/session.py", line 99, in client
  File "<frozen importlib._bootstrap>", line 1, in _find_and_load`, []string{"client (session.py)"}},
		{"a deep Python traceback keeps the 5 innermost frames", pythonFrames("a", "b", "c", "d", "e", "f", "g"),
			[]string{"g (app.py)", "f (app.py)", "e (app.py)", "d (app.py)", "c (app.py)"}},
		{"a Node.js stack on Lambda", `NoText: task t-4 has no text
    at Runtime.handler (file:///var/task/index.mjs:22:29)
    at Runtime.handleOnceNonStreaming (file:///var/runtime/index.mjs:1173:29)`, []string{"Runtime.handler (index.mjs)"}},
		{"a Node.js stack: async, anonymous, node_modules, Promise.all", `TypeError: Cannot read properties of undefined (reading 'x')
    at parse (/var/task/node_modules/lib/parse.js:10:5)
    at new Reader (/var/task/reader.js:4:11)
    at async handler (/var/task/app.js:5:3)
    at async Promise.all (index 0)
    at file:///var/task/app.mjs?v=2:30:1
    at node:internal/process/task_queues:95:5`, []string{"new Reader (reader.js)", "handler (app.js)", "<anonymous> (app.mjs)"}},
		{"a Node.js recursion counts once", `RangeError: Maximum call stack size exceeded
    at walk (/app/tree.js:3:10)
    at walk (/app/tree.js:5:12)
    at walk (/app/tree.js:5:12)
    at visit (/app/tree.js:9:3)`, []string{"walk (tree.js)", "visit (tree.js)"}},
		{"a recovered Go panic in a pool from the module cache", `goroutine 42 [running]:
runtime/debug.Stack()
	/usr/local/go/src/runtime/debug/stack.go:26 +0x5e
github.com/dynamodb-tracker/dynamodb-tracker/worker.call.func1()
	/root/go/pkg/mod/github.com/dynamodb-tracker/dynamodb-tracker@v0.3.0/worker/worker.go:509 +0x45
panic({0x6a1b20?, 0xc000012345?})
	/usr/local/go/src/runtime/panic.go:787 +0x132
runtime.panicmem(...)
	/usr/local/go/src/runtime/panic.go:262
runtime.sigpanic()
	/usr/local/go/src/runtime/signal_unix.go:925 +0x359
encoding/json.(*decodeState).object(0xc0000b4000, {0x0, 0x0})
	/usr/local/go/src/encoding/json/decode.go:640 +0x1d
example.com/app/parse.Record(...)
	/src/app/parse/record.go:31
main.handle.func2({0xc0000a0000, 0x10})
	/src/app/main.go:42 +0x1d
github.com/dynamodb-tracker/dynamodb-tracker/worker.call(...)
	/root/go/pkg/mod/github.com/dynamodb-tracker/dynamodb-tracker@v0.3.0/worker/worker.go:512
created by github.com/dynamodb-tracker/dynamodb-tracker/worker.(*Pool).Run in goroutine 1
	/root/go/pkg/mod/github.com/dynamodb-tracker/dynamodb-tracker@v0.3.0/worker/worker.go:130 +0x2f
`, []string{"parse.Record (record.go)", "main.handle.func (main.go)"}},
		{"a Go crash: the first goroutine only", `panic: boom

goroutine 1 [running]:
main.(*server).serve(0xc000010000)
	/src/app/main.go:5 +0x25
main.main()
	/src/app/main.go:9 +0x1d

goroutine 6 [chan receive]:
main.other()
	/src/app/other.go:3 +0x1d
`, []string{"main.(*server).serve (main.go)", "main.main (main.go)"}},
		{"aws-lambda-go's panic stack, as the fail function stores it", `github.com/aws/aws-lambda-go@v1.55.1/lambda/invoke_loop.go:88 callBytesHandlerFunc.func1
runtime/panic.go:787 gopanic
runtime/panic.go:262 panicmem
runtime/signal_unix.go:925 sigpanic
go-worker/main.go:42 handle.func1
go-worker/main.go:40 handle
github.com/aws/aws-lambda-go@v1.55.1/lambda/handler.go:253 NewHandlerWithOptions.func4`, []string{"handle.func (main.go)", "handle (main.go)"}},
		{"a format it does not know: no frames", "Exception in thread \"main\" java.lang.IllegalStateException\n\tat com.x.Foo.bar(Foo.java:10)\n", nil},
		{"no traceback", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, f := range fingerprint.Compute("E: x", c.traceback).Frames {
				got = append(got, f.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("frames %q, want %q", got, c.want)
			}
		})
	}
}

// pythonFrames returns a Python traceback of calls to the named functions of app.py, the
// first outermost.
func pythonFrames(functions ...string) string {
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for i, f := range functions {
		b.WriteString("  File \"/app/app.py\", line " + strings.Repeat("1", i+1) + ", in " + f + "\n    " + f + "()\n")
	}
	return b.String() + "ValueError: x"
}

// TestComputeGroups checks which failures share a fingerprint.
func TestComputeGroups(t *testing.T) {
	type failure struct{ errorText, traceback string }
	for _, c := range []struct {
		name string
		a, b failure
		same bool
	}{
		{"leases lost by two holders at two times", failure{"lease lost: a-1/0 held the task and its lease ran out at 2026-11-29T00:43:51.185247+0000 without the task finishing", ""},
			failure{"lease lost: b-7/3 held the task and its lease ran out at 2026-12-01T10:00:00.000000+0000 without the task finishing", ""}, true},
		{"two Step Functions errors", failure{"States.Timeout", ""}, failure{"States.TaskFailed", ""}, false},
		{"one message, two types", failure{"ValueError: bad", ""}, failure{"TypeError: bad", ""}, false},
		{"one failure with and without its traceback", failure{"ValueError: bad", "  File \"/var/task/h.py\", line 1, in h\n"}, failure{"ValueError: bad", ""}, false},
		{"one raise at two lines of a file in two directories", failure{"ValueError: bad 1", "  File \"/var/task/h.py\", line 1, in h\n"},
			failure{"ValueError: bad 2", "  File \"/home/me/src/h.py\", line 9, in h\n"}, true},
		{"type and message are not confused (length-prefixed encoding)", failure{"A: b", ""}, failure{"A: ", "  File \"b\", line 1, in x"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := fingerprint.Compute(c.a.errorText, c.a.traceback), fingerprint.Compute(c.b.errorText, c.b.traceback)
			if (a.String() == b.String()) != c.same {
				t.Errorf("%s and %s: want equal %v\n%+v\n%+v", a, b, c.same, a, b)
			}
		})
	}
}

// hashForm is the form of every fingerprint's String for version 1.
var hashForm = regexp.MustCompile(`^v1:[0-9a-f]{12}$`)

// TestHostileInput checks that no part of a fingerprint carries a control character, a
// terminal escape or a bidirectional-text control, wherever in a failure they were.
func TestHostileInput(t *testing.T) {
	const evil = "\x1b[2J\x1b]0;title\x07\u202e\u2066\x00\u009b31m\r"
	for _, c := range []struct{ name, errorText, traceback string }{
		{"in the type and the message", "No" + evil + "Text: task " + evil + " t-4", ""},
		{"in a Python frame", "E: x", "  File \"/var/task/h" + evil + ".py\", line 1, in h" + evil + "x\n"},
		{"in a Node.js frame", "E: x", "E: x\n    at h" + evil + "x (/var/task/h" + evil + ".js:1:2)"},
		{"in a Go frame", "panic: x", "goroutine 1 [running]:\nmain.h" + evil + "x()\n\t/src/m" + evil + ".go:3 +0x1d\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fp := fingerprint.Compute(c.errorText, c.traceback)
			parts := []string{fp.String(), fp.Type, fp.Message}
			for _, f := range fp.Frames {
				parts = append(parts, f.File, f.Function)
			}
			if len(fp.Frames) == 0 && c.traceback != "" {
				t.Errorf("no frame read from %q", c.traceback)
			}
			for _, p := range parts {
				if bad := unsafeRune(p); bad >= 0 {
					t.Errorf("part %q holds %U", p, bad)
				}
			}
		})
	}
}

// unsafeRune returns the first rune of s that is not safe to show on a terminal, or -1.
func unsafeRune(s string) rune {
	if !utf8.ValidString(s) {
		return utf8.RuneError
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return r
		}
	}
	return -1
}

// megabyte is a 1 MB input of the worst kind for the normaliser: patterns that start
// matching everywhere and stop late (unclosed quotes, long paths, hex and digits).
var megabyte = strings.Repeat("'a /b/c 0x1f 12.5.6 \"x fe80:: 2026-11-29T00:43", 1<<20/48)

// TestLongInput checks that a 1 MB message, a 1 MB traceback and a 1 MB traceback line
// are fingerprinted, within a time that shows no quadratic work.
func TestLongInput(t *testing.T) {
	deep := strings.Repeat("  File \"/var/task/h.py\", line 1, in h\n    h()\n", 1<<20/44)
	for _, c := range []struct{ name, errorText, traceback string }{
		{"a 1 MB message", "ValueError: " + megabyte, ""},
		{"a 1 MB Python traceback", "ValueError: x", deep},
		{"a 1 MB traceback line", "ValueError: x", "    at " + megabyte + " (" + megabyte + ":1:2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fp := fingerprint.Compute(c.errorText, c.traceback)
			if !hashForm.MatchString(fp.String()) || utf8.RuneCountInString(fp.Message) > 256 || len(fp.Frames) > fingerprint.MaxFrames {
				t.Errorf("fingerprint %s of a long input: %q, %d frames", fp, fp.Message, len(fp.Frames))
			}
		})
	}
}

// FuzzCompute checks, for any input, that Compute is deterministic and its parts are within
// their limits and safe to show.
func FuzzCompute(f *testing.F) {
	f.Add("NoText: task t-4 has no text", "  File \"/var/task/handler.py\", line 17, in handler\n")
	f.Add("panic: x", "goroutine 1 [running]:\nmain.h()\n\t/src/m.go:3 +0x1d\n")
	f.Add("E: 'a \"b `c", "E\n    at h (/x.js:1:2)\n    at async Promise.all (index 0)")
	f.Add("lease lost: x", "x.go:1 y")
	f.Fuzz(func(t *testing.T, errorText, traceback string) {
		a, b := fingerprint.Compute(errorText, traceback), fingerprint.Compute(errorText, traceback)
		if a.String() != b.String() || !hashForm.MatchString(a.String()) {
			t.Fatalf("fingerprints %s and %s of one failure", a, b)
		}
		if utf8.RuneCountInString(a.Message) > 256 || len(a.Frames) > fingerprint.MaxFrames {
			t.Errorf("message %q, %d frames: over the limits", a.Message, len(a.Frames))
		}
		parts := []string{a.Type, a.Message}
		for _, f := range a.Frames {
			parts = append(parts, f.File, f.Function)
		}
		for _, p := range parts {
			if bad := unsafeRune(p); bad >= 0 {
				t.Errorf("part %q holds %U", p, bad)
			}
		}
	})
}
