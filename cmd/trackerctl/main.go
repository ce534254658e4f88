// Command trackerctl is the operator's command line over a tracker table: enqueue the tasks
// of a job, watch its progress, list and inspect tasks, retry or ignore them, start a run of
// the state machine, create the table on DynamoDB Local and delete a finished job.
//
// Usage:
//
//	trackerctl <command> [flags] [arguments]
//
// Every command takes --help. Exit codes: 0 success, 1 operational error (DynamoDB, Step
// Functions, invalid input data, a refused change), 2 usage error (unknown command or flag,
// missing argument, bad flag value). See README.md beside this file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0 // success
	exitError = 1 // operational error: DynamoDB, Step Functions, bad input data, refusals
	exitUsage = 2 // usage error: unknown command or flag, missing argument, bad value
)

// run is the whole program with its environment passed in: the arguments after the program
// name, the standard streams and the environment lookup. It returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	return newApp(stdin, stdout, stderr, env).run(ctx, args)
}

// app holds what every command shares: the streams, the environment, the clock, and the
// options of the command line being run. Tests build one with newApp and replace the clock,
// the watch wait or the terminal flags before calling run.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// now is the clock, given to the tracker (tracker.Config.Now) and used for ages.
	now func() time.Time
	// wait blocks for d between two refreshes of status --watch, or until ctx ends.
	wait func(ctx context.Context, d time.Duration) error
	// stdinTTY, stdoutTTY and stderrTTY say whether each stream is a terminal: prompts need
	// stdin to be one, colors stdout, the progress bar stderr.
	stdinTTY, stdoutTTY, stderrTTY bool
	// version is what the version command prints: version.Get() outside tests.
	version string

	opts options // the common flags of the running command
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, env func(string) string) *app {
	return &app{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: env,
		now:       time.Now,
		wait:      sleepCtx,
		stdinTTY:  isTerminal(stdin),
		stdoutTTY: isTerminal(stdout),
		stderrTTY: isTerminal(stderr),
		version:   version.Get(),
	}
}

// isTerminal reports whether v is an *os.File on a character device other than the null
// device: a terminal, in practice.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// command is one subcommand.
type command struct {
	name    string
	args    string // the positional arguments, for the usage line
	summary string // one line, for the command list
	help    string // the paragraph under the usage line
	// flags registers the command's own flags; newFlagSet adds the common ones.
	flags func(fs *flagSet)
	// run executes the command with its positional arguments, once the flags are checked.
	run func(ctx context.Context, a *app, args []string) error
	// nArg is the least and most positional arguments; a most of -1 means no limit.
	nArg [2]int
}

func commands() []*command {
	return []*command{
		enqueueCommand(),
		statusCommand(),
		errorsCommand(),
		listCommand(),
		showCommand(),
		retryCommand(),
		ignoreCommand(),
		runCommand(),
		createTableCommand(),
		upgradeTableCommand(),
		deleteJobCommand(),
		jobsCommand(),
		consoleCommand(),
		versionCommand(),
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (a *app) run(ctx context.Context, args []string) int {
	a.opts.json = wantsJSON(args)
	if len(args) == 0 {
		a.topUsage(a.stderr)
		return exitUsage
	}
	args, err := commandFirst(args)
	if err != nil {
		return a.fail(err)
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := findCommand(args[1])
			if c == nil {
				return a.fail(usagef("unknown command %q (see trackerctl help)", args[1]))
			}
			a.commandUsage(a.stdout, c, newFlagSet(c, a))
			return exitOK
		}
		a.topUsage(a.stdout)
		return exitOK
	}
	c := findCommand(name)
	if c == nil {
		return a.fail(usagef("unknown command %q (see trackerctl help)", name))
	}
	fs := newFlagSet(c, a)
	pos, err := fs.parse(args[1:])
	if errors.Is(err, errHelp) {
		a.commandUsage(a.stdout, c, fs)
		return exitOK
	}
	if err == nil {
		err = a.setOptions(fs)
	}
	if err == nil && (len(pos) < c.nArg[0] || (c.nArg[1] >= 0 && len(pos) > c.nArg[1])) {
		err = usagef("%s takes %s, got %d argument(s) (see trackerctl %s --help)", c.name, argsPhrase(c), len(pos), c.name)
	}
	if err != nil {
		return a.fail(err)
	}
	return a.fail(c.run(ctx, a, pos))
}

// commandFirst moves common flags given before the command (trackerctl --table t status j)
// after it, where the command's flag set parses them.
func commandFirst(args []string) ([]string, error) {
	common := newFlagSet(&command{name: "trackerctl"}, newApp(nil, io.Discard, io.Discard, func(string) string { return "" }))
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && len(args[i]) > 1 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case name == "h" || name == "help":
			return args[i:], nil
		case !common.common[name]:
			return nil, usagef("flag %s must follow the command (trackerctl <command> %s ...)", args[i], args[i])
		case hasValue:
			i++
		default:
			i += 2
		}
	}
	if i >= len(args) {
		return nil, usagef("no command (see trackerctl help)")
	}
	return append(append([]string{args[i]}, args[:i]...), args[i+1:]...), nil
}

func argsPhrase(c *command) string {
	if c.args == "" {
		return "no arguments"
	}
	return c.args
}

// usageError is a mistake on the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// opError is an operational error (exit code 1) of a kind scripts can tell apart: kind is
// the "type" of the error under --output json.
type opError struct{ kind, msg string }

func (e *opError) Error() string { return e.msg }

// Kinds of operational errors, the "type" of a JSON error. Errors of no kind below are
// "error".
const (
	kindNotFound     = "not_found"     // the job, or the task, does not exist
	kindRefused      = "refused"       // a transition did not apply to a task
	kindAborted      = "aborted"       // the operator declined the confirmation
	kindInvalidInput = "invalid_input" // enqueue's input holds invalid lines
	kindTableLayout  = "table_layout"  // create-table found a table of another layout
)

// failf returns an operational error of kind.
func failf(kind, format string, args ...any) error {
	return &opError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// silentError carries an exit code for a failure already reported on stderr.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// fail reports err as one line on stderr and returns the exit code it calls for. Under
// --output json the line is a JSON object, {"error": message, "type": kind}; else it is
// "trackerctl: message", escaped for the terminal.
func (a *app) fail(err error) int {
	if err == nil {
		return exitOK
	}
	var se *silentError
	if errors.As(err, &se) {
		return se.code
	}
	msg, kind := a.describe(err)
	msg = oneLine(msg)
	if a.opts.json {
		line, _ := json.Marshal(jsonError{Error: msg, Type: kind})
		fmt.Fprintf(a.stderr, "%s\n", line)
	} else {
		fmt.Fprintf(a.stderr, "trackerctl: %s\n", escape(msg))
	}
	if kind == kindUsage {
		return exitUsage
	}
	return exitError
}

// jsonError is an error on stderr under --output json.
type jsonError struct {
	Error string `json:"error"`
	// Type is the kind of error: usage (exit code 2), interrupted, not_found, refused,
	// aborted, invalid_input, table_not_found, table_layout, unreachable, no_credentials,
	// or error for any other (exit code 1).
	Type string `json:"type"`
}

// wantsJSON reports whether args ask for --output json, for the errors found before the
// flags are parsed (or when parsing stops before the flag).
func wantsJSON(args []string) bool {
	for i, arg := range args {
		if arg == "--" {
			return false
		}
		switch arg {
		case "-o", "--o", "-output", "--output":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		case "-o=json", "--o=json", "-output=json", "--output=json":
			return true
		}
	}
	return false
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (a *app) topUsage(w io.Writer) {
	fmt.Fprint(w, `trackerctl: the operator's command line over a tracker table.

Usage:
  trackerctl <command> [flags] [arguments]
  trackerctl <command> --help

Commands:
`)
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes the common flags below; each defaults to its environment variable.
`)
	fs := newFlagSet(&command{name: "help"}, a)
	fs.printFlags(w, true)
	fmt.Fprint(w, `
Exit codes: 0 success, 1 operational error, 2 usage error.
`)
}
