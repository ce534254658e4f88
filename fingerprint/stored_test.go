package fingerprint_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
)

// A stored failure (testdata/*.txt) is a real failure captured by TestRealTracebacks, its
// run's temporary directory removed from its paths (so the code reads from /var/task, as on
// Lambda), with the fingerprint version 1 gives it and that fingerprint's parts:
//
//	# what ran, on what
//	error: NoText: task t-4 has no text
//	fingerprint: v1:…
//	type: NoText
//	message: task t-<num> has no text
//	frame: handler (handler.py)
//	--
//	the traceback, exactly
//
// The fingerprint and its parts are what the algorithm of its version computes, forever:
// a change to them is a new fingerprint.Version, and the files are then rewritten with
// go test -run TestRealTracebacks -update.

// stored is a parsed testdata file.
type stored struct {
	capture
	about, fingerprint, typ, message string
	frames                           []string
}

// readStored reads testdata/name.
func readStored(t testing.TB, name string) stored {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	head, traceback, ok := strings.Cut(string(raw), "\n--\n")
	if !ok {
		t.Fatalf("%s: no -- line before the traceback", name)
	}
	s := stored{capture: capture{Traceback: traceback}}
	for line := range strings.SplitSeq(head, "\n") {
		key, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch key {
		case "error":
			s.Error = value
		case "fingerprint":
			s.fingerprint = value
		case "type":
			s.typ = value
		case "message":
			s.message = value
		case "frame":
			s.frames = append(s.frames, value)
		default:
			if !strings.HasPrefix(line, "#") {
				t.Fatalf("%s: unknown line %q", name, line)
			}
			s.about += strings.TrimSpace(strings.TrimPrefix(line, "#")) + " "
		}
	}
	return s
}

// writeStored writes c as testdata/name, with what ran and the fingerprint it has now.
func writeStored(t *testing.T, name, about string, c capture) {
	t.Helper()
	c = c.withoutDir()
	errorText, traceback := c.Error, c.Traceback
	if strings.Contains(errorText, "\n") {
		t.Fatalf("error %q: one line only in a stored failure", errorText)
	}
	fp := fingerprint.Compute(errorText, traceback)
	var b strings.Builder
	line := func(key, value string) {
		if value != "" {
			key += ": " + value
		} else {
			key += ":"
		}
		b.WriteString(key + "\n")
	}
	b.WriteString("# " + about + "\n")
	line("error", errorText)
	line("fingerprint", fp.String())
	line("type", fp.Type)
	line("message", fp.Message)
	for _, f := range fp.Frames {
		line("frame", f.String())
	}
	b.WriteString("--\n" + traceback)
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStoredTracebacks holds each stored real failure to the fingerprint and parts recorded
// with it: version 1 computes the same fingerprint from the same failure, whatever machine
// and process run it.
func TestStoredTracebacks(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no stored failures: %v", err)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			s := readStored(t, name)
			fp := fingerprint.Compute(s.Error, s.Traceback)
			var frames []string
			for _, f := range fp.Frames {
				frames = append(frames, f.String())
			}
			if fp.String() != s.fingerprint || fp.Type != s.typ || fp.Message != s.message ||
				strings.Join(frames, "\n") != strings.Join(s.frames, "\n") {
				t.Errorf("%s (%s) computes %s, type %q, message %q, frames %q;\nstored %s, type %q, message %q, frames %q",
					name, s.about, fp, fp.Type, fp.Message, frames, s.fingerprint, s.typ, s.message, s.frames)
			}
		})
	}
}
