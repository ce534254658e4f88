package fingerprint

import (
	"regexp"
	"strings"
)

// MaxFrames is the most frames a fingerprint holds: the ones closest to where the error was
// raised. Enough to tell apart two places that raise the same error, few enough that the
// same failure reached through another caller further out still groups together.
const MaxFrames = 5

// maxLine is the longest traceback line read as a frame; no frame a runtime prints is
// longer, and skipping longer lines bounds the work per line.
const maxLine = 4 << 10

// maxFrameField is the longest file or function name kept, in bytes.
const maxFrameField = 128

// Frame is one frame of a traceback as a fingerprint holds it: no line, column or address,
// which move with every edit of a file and every build.
type Frame struct {
	// File is the base name of the frame's file ("handler.py", "main.go"), as Sentry's
	// grouping keeps only a platform-independent base name (getsentry/sentry,
	// src/sentry/grouping/strategies/newstyle.py, get_filename_component).
	File string
	// Function is the function's name as the runtime prints it, without a Go package's
	// import path or closure numbers ("handler", "main.handle", "worker.call.func",
	// "new NoText"); "" for a Node.js frame outside any function.
	Function string
}

// String returns the frame as "function (file)".
func (f Frame) String() string {
	name := f.Function
	if name == "" {
		name = "<anonymous>"
	}
	return name + " (" + f.File + ")"
}

// origin says where a frame's code comes from: the user's code, a library or a language's
// standard library, or the runtime's machinery (the Lambda runtime, Go's panic and
// debug.Stack, Node.js internals), which says nothing about the failure.
type origin int

const (
	fromApp origin = iota
	fromLibrary
	fromRuntime
)

// frame is a parsed frame with its origin.
type frame struct {
	Frame
	origin origin
}

// parsers read the frames of a traceback in one language's format, innermost first; the
// first that finds any frame says what the traceback holds.
var parsers = []func(lines []string) []frame{pythonFrames, nodeFrames, goStackFrames, goLambdaFrames}

// frames returns the frames of traceback that identify a failure, innermost first, after
// Sentry's stack trace grouping: the runtime's frames are dropped; when any frame is the
// user's, only the user's frames count (Sentry's "in-app" frames); a recursion's repeated
// frames count once (Sentry's is_recursive_frames); and at most MaxFrames are kept. A
// traceback in no format it knows has no frames.
func frames(traceback string) []Frame {
	if traceback == "" {
		return nil
	}
	lines := strings.Split(traceback, "\n")
	var all []frame
	for _, parse := range parsers {
		if all = parse(lines); len(all) > 0 {
			break
		}
	}
	app := false
	for _, f := range all {
		app = app || f.origin == fromApp
	}
	var kept []Frame
	for _, f := range all {
		switch {
		case f.origin == fromRuntime, app && f.origin != fromApp:
			continue
		case len(kept) > 0 && kept[len(kept)-1] == f.Frame:
			continue
		}
		kept = append(kept, f.Frame)
		if len(kept) == MaxFrames {
			break
		}
	}
	return kept
}

// newFrame makes a frame from the path of its file and its function, both sanitised and cut.
func newFrame(path, function string, o origin) frame {
	return frame{Frame: Frame{File: field(baseName(path)), Function: field(function)}, origin: o}
}

// field makes a file or function name safe to show and short.
func field(s string) string { return truncate(strings.TrimSpace(sanitize(s)), maxFrameField) }

// baseName returns the last element of a path or URL, whichever separator it uses, without
// a query or fragment.
func baseName(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	return path[strings.LastIndexAny(path, `/\`)+1:]
}

// pythonFrame matches a frame of a Python traceback, as traceback.format_list and the
// interpreter print it: `  File "/var/task/handler.py", line 18, in handler`.
var pythonFrame = regexp.MustCompile(`^\s*File "(.+)", line \d+, in (.+?)\s*$`)

// pythonFrames reads a Python traceback: awslambdaric's stackTrace (traceback.format_list's
// strings, the runtime's own frames cut) or a traceback as the interpreter prints it, of
// which only the last exception's frames count. Python prints the innermost frame last.
func pythonFrames(lines []string) []frame {
	var out []frame
	for _, line := range lines {
		if len(line) > maxLine {
			continue
		}
		if strings.HasPrefix(line, "Traceback (most recent call last)") {
			out = out[:0] // a chained exception: the last one is what failed
			continue
		}
		m := pythonFrame.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		out = append(out, newFrame(m[1], m[2], pythonOrigin(m[1])))
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// pythonOrigin classifies a Python frame by its file: the Lambda runtime (/var/runtime,
// awslambdaric) and the import machinery (<frozen importlib._bootstrap>) are the runtime;
// installed packages and the standard library (lib/python3.x) are libraries.
func pythonOrigin(path string) origin {
	switch {
	case strings.Contains(path, "/var/runtime/"), strings.Contains(path, "/awslambdaric/"), strings.HasPrefix(path, "<frozen "):
		return fromRuntime
	case strings.Contains(path, "/site-packages/"), strings.Contains(path, "/dist-packages/"), strings.Contains(path, "/lib/python"):
		return fromLibrary
	}
	return fromApp
}

// nodeFrame matches a frame of a V8 stack (Node.js's err.stack): "    at handler
// (file:///var/task/handler.mjs:5:11)", or "    at file:///var/task/handler.mjs:5:11"
// outside a function.
var nodeFrame = regexp.MustCompile(`^\s+at (?:(.+?) \((.+)\)|(.+))\s*$`)

// nodeLocation matches the end of a V8 frame's location: ":line:column" or ":line".
var nodeLocation = regexp.MustCompile(`(?::\d+){1,2}$`)

// nodeFrames reads the first run of frames of a Node.js stack, innermost first; the lines
// before it are the error's name and message.
func nodeFrames(lines []string) []frame {
	var out []frame
	for _, line := range lines {
		if len(line) > maxLine {
			continue
		}
		m := nodeFrame.FindStringSubmatch(line)
		if m == nil {
			if len(out) > 0 && strings.TrimSpace(line) != "" {
				break // past the stack: a cause or anything appended
			}
			continue
		}
		function, location := m[1], m[2]
		if location == "" {
			location = m[3]
		}
		function = strings.TrimPrefix(function, "async ")
		file := nodeLocation.ReplaceAllString(location, "")
		out = append(out, newFrame(file, function, nodeOrigin(location)))
	}
	return out
}

// nodeOrigin classifies a Node.js frame by its location: Node.js's own modules (node:...),
// the Lambda runtime (/var/runtime) and locations that are no file ("native", "<anonymous>",
// Promise.all's "index 0") are the runtime; node_modules are libraries.
func nodeOrigin(location string) origin {
	switch {
	case strings.HasPrefix(location, "node:"), strings.HasPrefix(location, "internal/"),
		strings.Contains(location, "/var/runtime/"), !nodeLocation.MatchString(location):
		return fromRuntime
	case strings.Contains(location, "/node_modules/"):
		return fromLibrary
	}
	return fromApp
}

// goFileLine matches the file line of a Go stack frame: "\t/src/app/main.go:42 +0x1d".
var goFileLine = regexp.MustCompile(`^\t(.+):\d+(?: \+0x[0-9a-f]+)?\s*$`)

// goStackFrames reads a Go goroutine stack as debug.Stack and a crash print it, a function
// line ("main.handle(...)") and a file line each, of the first goroutine only. A recovered
// panic's stack starts in the deferred function that recovered it: the frames above the
// last panic call are that machinery, not the failure, and are dropped.
func goStackFrames(lines []string) []frame {
	var out []frame
	for i := 1; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(line, "goroutine ") && len(out) > 0 {
			break
		}
		m := goFileLine.FindStringSubmatch(line)
		if m == nil || len(line) > maxLine || len(lines[i-1]) > maxLine {
			continue
		}
		function, ok := goFunction(lines[i-1])
		if !ok {
			continue
		}
		if function == "panic" || function == "runtime.gopanic" {
			out = out[:0]
			continue
		}
		out = append(out, newFrame(m[1], goShortName(function), goOrigin(function, m[1])))
	}
	return out
}

// goFunction returns the function of a Go stack's function line: "main.(*T).run(0xc000010000,
// {0x1, 0x2})" is main.(*T).run. Lines that begin a goroutine's creator ("created by") are
// not frames of the stack.
func goFunction(line string) (string, bool) {
	if !strings.HasSuffix(line, ")") || strings.HasPrefix(line, "created by ") || strings.HasPrefix(line, "\t") {
		return "", false
	}
	i := strings.LastIndex(line, "(")
	if i <= 0 {
		return "", false
	}
	return line[:i], true
}

// goClosure matches the numbers Go gives closures and wrappers ("run.func2.1",
// "gowrap1", "deferwrap1"), which change when a closure is added before them.
var goClosure = regexp.MustCompile(`\.(func|gowrap|deferwrap)\d+(?:\.\d+)*`)

// goShortName returns a Go function's name without its package's import path and closure
// numbers: "github.com/x/worker.call.func1" is "worker.call.func".
func goShortName(function string) string {
	return goClosure.ReplaceAllString(function[strings.LastIndex(function, "/")+1:], ".$1")
}

// goOrigin classifies a Go frame: the runtime package (panics, debug.Stack, goexit) is the
// runtime; the standard library (an import path whose first element has no dot, other than
// main) and modules read from the module cache (a path with an @version) are libraries.
func goOrigin(function, path string) origin {
	pkg := goPackage(function)
	first, _, _ := strings.Cut(pkg, "/")
	switch {
	case first == "runtime":
		return fromRuntime
	case strings.Contains(path, "@v"), first != "main" && !strings.Contains(first, "."):
		return fromLibrary
	}
	return fromApp
}

// goPackage returns the import path of a Go function's package: "main" for main.handle,
// "github.com/x/worker" for github.com/x/worker.(*Pool).run. The package's name ends at the
// first dot after the path's last slash.
func goPackage(function string) string {
	slash := strings.LastIndex(function, "/")
	dot := strings.Index(function[slash+1:], ".")
	if dot < 0 {
		return function
	}
	return function[:slash+1+dot]
}

// goLambdaFrame matches a frame of aws-lambda-go's stackTrace as the tracker stores it
// ("path:line label", functions/internal/handler/fail.go): "go-worker/main.go:42 handle",
// its path cut to the package's and its label to the function without its package
// (aws-lambda-go, lambda/panic.go).
var goLambdaFrame = regexp.MustCompile(`^(\S+\.go):\d+ (\S+)\s*$`)

// goLambdaFrames reads aws-lambda-go's stack of a panic, innermost first: it starts in the
// handler's deferred recover and runtime/panic.go's gopanic, which are dropped with what is
// above them.
func goLambdaFrames(lines []string) []frame {
	var out []frame
	for _, line := range lines {
		if len(line) > maxLine {
			continue
		}
		m := goLambdaFrame.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		path, label := m[1], m[2]
		if strings.HasSuffix(path, "runtime/panic.go") && label == "gopanic" {
			out = out[:0]
			continue
		}
		o := fromApp
		switch {
		case strings.HasPrefix(path, "runtime/"):
			o = fromRuntime
		case strings.Contains(path, "@v"), strings.Contains(path, "/pkg/mod/"):
			o = fromLibrary
		}
		out = append(out, newFrame(path, goClosure.ReplaceAllString(label, ".$1"), o))
	}
	return out
}
