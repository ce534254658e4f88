package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// These tests need no DynamoDB: they stop before the first call, or point the CLI at a
// port where nothing listens.

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	base := map[string]string{envTable: "tasks", envEndpoint: "http://127.0.0.1:9"}
	with := func(k, v string) map[string]string {
		env := map[string]string{}
		for key, val := range base {
			env[key] = val
		}
		env[k] = v
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no command prints the usage", base, nil, nil},
		{"an unknown command is named", base, []string{"stats", "j"}, []string{`unknown command "stats"`}},
		{"an unknown flag is named with dashes", base, []string{"status", "--wach", "j"}, []string{"unknown flag --wach", "trackerctl status --help"}},
		{"a missing job id says what the command takes", base, []string{"status"}, []string{"status takes JOB, got 0"}},
		{"an extra argument is refused", base, []string{"status", "j", "k"}, []string{"status takes JOB, got 2"}},
		{"a job id holding the separator is refused", base, []string{"status", "a____b"}, []string{`job id "a____b"`, "separator"}},
		{"a wrong status name lists the right ones", base, []string{"list", "j", "--status", "done"}, []string{`unknown status "done"`, "todo, in_progress, failed, succeeded or ignored"}},
		{"a limit out of range is refused", base, []string{"list", "j", "--limit", "0"}, []string{"--limit 0: want 1..1000"}},
		{"an unknown output format is refused", base, []string{"status", "j", "-o", "yaml"}, []string{`--output "yaml": want text or json`}},
		{"a bad max retry in the environment names the variable", with(envMaxRetry, "three"), []string{"status", "j"}, []string{`TRACKER_MAX_RETRY="three"`}},
		{"a bad max retry flag names the flag", base, []string{"status", "j", "--max-retry", "0"}, []string{`--max-retry="0"`}},
		{"a max retry over the functions' range names the flag", base, []string{"status", "j", "--max-retry", "5000"}, []string{`--max-retry="5000" must be between 0 (the default) and 1000`}},
		{"bad status codes name the variable", with(envCodes, "0,3,6"), []string{"status", "j"}, []string{"TRACKER_STATUS_CODES", "want 5 comma-separated codes"}},
		{"a bad lease names the variable", with(envLeaseSeconds, "-5"), []string{"status", "j"}, []string{`TRACKER_LEASE_SECONDS="-5"`}},
		{"an endpoint without a scheme is refused", with(envEndpoint, "localhost:8000"), []string{"status", "j"}, []string{"TRACKER_ENDPOINT or AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000"}},
		{"no table says how to give one", with(envTable, ""), []string{"status", "j"}, []string{"no table: pass --table or set TRACKER_TABLE"}},
		{"retry needs ids or a status", base, []string{"retry", "j"}, []string{"retry needs task ids, a selection (--fingerprint, --error, --status) or --resume"}},
		{"retry takes ids or a status, not both", base, []string{"retry", "j", "t-1", "--status", "failed"}, []string{"not both"}},
		{"retry refuses a status it cannot start from", base, []string{"retry", "j", "--status", "todo"}, []string{"--status todo: retry applies to failed, ignored tasks"}},
		{"ignore refuses succeeded tasks as a status", base, []string{"ignore", "j", "--status", "succeeded"}, []string{"ignore applies to todo, in_progress, failed tasks"}},
		{"a malformed fingerprint is refused before any call", base, []string{"retry", "j", "--fingerprint", "v1:\x1b[31mred"}, []string{`is not a fingerprint`, `\x1b[31mred`}},
		{"a fingerprint selects failed and ignored tasks", base, []string{"ignore", "j", "--fingerprint", "v1:0123456789ab", "--status", "todo"},
			[]string{"--status todo: a selection by --fingerprint or --error holds failed and ignored tasks"}},
		{"a listing by fingerprint holds failed and ignored tasks", base, []string{"list", "j", "--fingerprint", "v1:0123456789ab", "--status", "todo"},
			[]string{"a listing by fingerprint or error text holds failed and ignored tasks, not todo ones"}},
		{"--resume goes with no selection", base, []string{"retry", "j", "--resume", "retry-1", "--status", "failed"}, []string{"--resume goes on with an action's own selection"}},
		{"show takes a task or a fingerprint", base, []string{"show", "j"}, []string{"show takes JOB TASK, or JOB --fingerprint F"}},
		{"errors refuses a negative limit", base, []string{"errors", "j", "--limit", "-1"}, []string{"--limit -1: want 0 or more"}},
		{"a selection off DynamoDB Local needs a state machine", with(envEndpoint, ""), []string{"retry", "j", "--status", "failed", "--yes", "--region", "eu-west-1"},
			[]string{"a selection runs on the server", "--state-machine-arn"}},
		{"run needs a state machine", base, []string{"run", "j"}, []string{"no state machine: pass --state-machine-arn or set TRACKER_STATE_MACHINE_ARN"}},
		{"run has no --limit", base, []string{"run", "j", "--limit", "5"}, []string{"-limit"}},
		{"run names at most 100 tasks", base, append([]string{"run", "j"}, numberedArgs(101)...), []string{"101 tasks named"}},
		{"create-table refuses AWS without --aws", with(envEndpoint, ""), []string{"create-table"}, []string{"create-table is for DynamoDB Local", "--aws"}},
		{"enqueue refuses a batch size out of range", base, []string{"enqueue", "j", "--batch", "0"}, []string{"--batch 0: want 1..10000"}},
		{"enqueue refuses an unknown format", base, []string{"enqueue", "j", "--format", "xml"}, []string{`--format "xml"`}},
		{"a bulk change without a terminal needs --yes", base, []string{"retry", "j", "t-1", "t-2"}, []string{"refusing to retry 2 tasks of job j without confirmation", "pass --yes"}},
		{"delete-job of a bad job id is refused before any call", base, []string{"delete-job", "j_"}, []string{`job id "j_"`}},
		{"an interval that is not a duration is refused", base, []string{"status", "j", "--watch", "--interval", "soon"}, []string{"--interval"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &cli{env: tc.env}
			r := c.run(t, tc.args...).wantCode(t, exitUsage)
			if tc.args == nil {
				if !strings.Contains(r.stderr, "Usage:") {
					t.Errorf("no usage on stderr:\n%s", r.stderr)
				}
				return
			}
			r.wantOneLineError(t, tc.want...)
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	c := &cli{env: map[string]string{}}
	var all strings.Builder
	for _, args := range [][]string{{"help"}, {"--help"}} {
		r := c.run(t, args...).wantCode(t, exitOK)
		if args[0] == "help" {
			all.WriteString(r.transcript())
		} else if r.stdout != c.run(t, "help").stdout {
			t.Error("--help and help differ")
		}
	}
	for _, cmd := range commands() {
		r := c.run(t, cmd.name, "--help").wantCode(t, exitOK)
		if r.stderr != "" {
			t.Errorf("%s --help wrote on stderr: %s", cmd.name, r.stderr)
		}
		if h := c.run(t, "help", cmd.name); h.stdout != r.stdout {
			t.Errorf("help %s differs from %s --help", cmd.name, cmd.name)
		}
		all.WriteString(r.transcript())
	}
	checkGolden(t, "help", all.String())
}

func TestHelpShowsEnvironmentDefaults(t *testing.T) {
	t.Parallel()
	c := &cli{env: map[string]string{envTable: "prod-tasks", envMaxRetry: "5"}}
	r := c.run(t, "status", "-h").wantCode(t, exitOK)
	for _, want := range []string{"(env TRACKER_TABLE; default prod-tasks)", "(env TRACKER_MAX_RETRY; default 5)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	fs := newFlagSet(listCommand(), newApp(nil, io.Discard, io.Discard, func(string) string { return "" }))
	pos, err := fs.parse([]string{"job-1", "--limit", "7", "-o", "json", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"job-1", "--not-a-flag"}; !reflect.DeepEqual(pos, want) {
		t.Errorf("positional = %q, want %q", pos, want)
	}
	if fs.output != "json" || fs.Lookup("limit").Value.String() != "7" {
		t.Errorf("flags after the argument were not parsed: output %q, limit %s", fs.output, fs.Lookup("limit").Value)
	}
}

func TestCommonFlagsBeforeTheCommand(t *testing.T) {
	t.Parallel()
	endpoint := closedPort(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"common flags move after the command", []string{"--table", "tasks", "--endpoint=" + endpoint, "-o", "text", "status", "j"}, exitError, "cannot reach DynamoDB at " + endpoint},
		{"a command flag before the command is refused", []string{"--watch", "status", "j"}, exitUsage, "flag --watch must follow the command"},
		{"flags without a command", []string{"--table", "tasks"}, exitUsage, "no command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			(&cli{env: map[string]string{}}).run(t, tc.args...).wantCode(t, tc.code).wantOneLineError(t, tc.want)
		})
	}
}

func TestParseJSONLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		input  string
		tasks  []string // "line:id"
		reject []string // "line:reason fragment"
	}{
		{"tasks with and without data, blank lines skipped",
			"{\"task_id\":\"t-1\",\"data\":{\"a\":1}}\n\n  {\"task_id\": \"t-2\"}\r\n{\"task_id\":\"t-3\",\"data\":null}",
			[]string{"1:t-1", "3:t-2", "4:t-3"}, nil},
		{"a line that is not JSON is rejected with its number",
			"{\"task_id\":\"t-1\"}\n{\"task_id\":\"t-2\",}\n",
			[]string{"1:t-1"}, []string{"2:invalid JSON"}},
		{"a line that is not an object",
			"[\"t-1\"]\n", nil, []string{"1:not a JSON object"}},
		{"an unknown field is rejected",
			"{\"taskid\":\"t-1\"}\n", nil, []string{`1:unknown field "taskid" (want task_id and data)`}},
		{"a missing task id",
			"{\"data\":{}}\n", nil, []string{"1:missing task_id"}},
		{"a numeric task id",
			"{\"task_id\":7}\n", nil, []string{"1:task_id must be a string, got 7"}},
		{"two objects on a line",
			"{\"task_id\":\"a\"} {\"task_id\":\"b\"}\n", nil, []string{"1:text after the object"}},
		{"a line over 4 MiB is rejected without holding it, and the next line is read",
			"{\"task_id\":\"a\",\"data\":{\"pad\":\"" + strings.Repeat("x", 5<<20) + "\"}}\n{\"task_id\":\"b\"}\n",
			[]string{"2:b"}, []string{"1:line longer than 4 MiB"}},
		{"a line longer than the read buffer is read whole",
			"{\"task_id\":\"a\",\"data\":{\"pad\":\"" + strings.Repeat("x", 200<<10) + "\"}}\n",
			[]string{"1:a"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks, rej, err := parseJSONLines(bufio.NewReader(strings.NewReader(tc.input)))
			if err != nil {
				t.Fatal(err)
			}
			checkParsed(t, tasks, rej, tc.tasks, tc.reject)
		})
	}
}

func TestParseCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		input  string
		tasks  []string
		reject []string
		err    string
	}{
		{"header task_id,data with quoted JSON and empty data",
			"task_id,data\nt-1,\"{\"\"a\"\": 1}\"\nt-2,\n", []string{"2:t-1", "3:t-2"}, nil, ""},
		{"a header of task_id alone, with a byte order mark",
			"\ufefftask_id\nt-1\nt-2\n", []string{"2:t-1", "3:t-2"}, nil, ""},
		{"columns in the other order",
			"data,task_id\n,t-1\n", []string{"2:t-1"}, nil, ""},
		{"a record with too many fields",
			"task_id,data\nt-1,{},{}\nt-2,\n", []string{"3:t-2"}, []string{"2:want 2 fields (task_id,data), got 3: quote data"}, ""},
		{"unquoted JSON data is a CSV error with a hint",
			"task_id,data\nt-1,{\"a\":1}\n", nil, []string{`2:invalid CSV: bare " in non-quoted-field (quote data`}, ""},
		{"a multi-line quoted field keeps the line of its record",
			"task_id,data\nt-1,\"{\n\"\"a\"\": 1}\"\nt-2,\n", []string{"2:t-1", "4:t-2"}, nil, ""},
		{"a bare quote is a CSV error on its line",
			"task_id,data\nt-1,\nt\"2,\nt-3,\n", []string{"2:t-1", "4:t-3"}, []string{"3:invalid CSV"}, ""},
		{"a wrong header refuses the file",
			"id,payload\nt-1,\n", nil, nil, `the CSV header must be task_id,data`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks, rej, err := parseCSV(strings.NewReader(tc.input))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkParsed(t, tasks, rej, tc.tasks, tc.reject)
		})
	}
}

func checkParsed(t *testing.T, tasks []inputTask, rej []rejection, wantTasks, wantRej []string) {
	t.Helper()
	var got []string
	for _, it := range tasks {
		got = append(got, itoa(it.line)+":"+it.task.ID)
	}
	if !reflect.DeepEqual(got, wantTasks) {
		t.Errorf("tasks = %q, want %q", got, wantTasks)
	}
	if len(rej) != len(wantRej) {
		t.Fatalf("rejections = %+v, want %q", rej, wantRej)
	}
	for i, r := range rej {
		line, frag, _ := strings.Cut(wantRej[i], ":")
		if itoa(r.Line) != line || !strings.Contains(r.Reason, frag) {
			t.Errorf("rejection %d = line %d %q, want line %s containing %q", i, r.Line, r.Reason, line, frag)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestValidateRejectsWhatCreateTasksWould(t *testing.T) {
	t.Parallel()
	in := []inputTask{
		{line: 1, task: tracker.NewTask{ID: "t-1", Data: json.RawMessage(`{ "a" : 1 }`)}},
		{line: 2, task: tracker.NewTask{ID: "a____b"}},
		{line: 3, task: tracker.NewTask{ID: ""}},
		{line: 4, task: tracker.NewTask{ID: "t-2", Data: json.RawMessage(`[1,2]`)}},
		{line: 5, task: tracker.NewTask{ID: "t-1"}},
		{line: 6, task: tracker.NewTask{ID: "t-3", Data: json.RawMessage(`{"a":`)}},
	}
	valid, rej := validate("job", in, []rejection{{Line: 0, Reason: "earlier"}})
	if len(valid) != 1 || valid[0].task.ID != "t-1" || string(valid[0].task.Data) != `{"a":1}` {
		t.Errorf("valid = %+v, want t-1 with compact data", valid)
	}
	want := []string{"earlier", "separator", "must not be empty", "must be a JSON object", `"t-1" repeats line 1`, "not valid JSON"}
	if len(rej) != len(want) {
		t.Fatalf("rejections = %+v", rej)
	}
	for i, w := range want {
		if !strings.Contains(rej[i].Reason, w) {
			t.Errorf("rejection %d = %q, want %q", i, rej[i].Reason, w)
		}
	}
}

func TestBar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, full, width int
		want               string
	}{
		{0, 10, 10, ""},
		{10, 10, 10, "██████████"},
		{5, 10, 10, "█████"},
		{1, 1000, 10, "▏"}, // a non-zero count always shows
		{3, 8, 5, "█▉"},    // 15/8 cells
		{20, 10, 4, "████"},
	}
	for _, tc := range tests {
		if got := bar(tc.value, tc.full, tc.width); got != tc.want {
			t.Errorf("bar(%d, %d, %d) = %q, want %q", tc.value, tc.full, tc.width, got, tc.want)
		}
	}
}

func TestProgressDrawsOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	a := newApp(nil, io.Discard, &out, func(string) string { return "" })
	p := a.progress("enqueue j", 4)
	p.set(2)
	p.done()
	if out.Len() != 0 {
		t.Errorf("progress drew on a non-terminal: %q", out.String())
	}
	a.stderrTTY = true
	p = a.progress("enqueue j", 4)
	p.set(1)
	p.set(4)
	p.done()
	want := "\renqueue j [██████████                              ] 1/4  25%" +
		"\renqueue j [████████████████████████████████████████] 4/4 100%\n"
	if out.String() != want {
		t.Errorf("progress = %q, want %q", out.String(), want)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	endpoint := closedPort(t)
	c := &cli{env: map[string]string{envTable: "tasks", envEndpoint: endpoint}}
	for _, args := range [][]string{{"status", "j"}, {"list", "j"}, {"show", "j", "t-1"}, {"delete-job", "j", "--yes"}, {"create-table"}} {
		c.run(t, args...).wantCode(t, exitError).wantOneLineError(t, "cannot reach DynamoDB at "+endpoint, "connection refused")
	}
}

func TestEnqueueRefusesInvalidInputBeforeAnyWrite(t *testing.T) {
	t.Parallel()
	// Nothing listens at the endpoint: reaching it would fail differently.
	env := map[string]string{envTable: "tasks", envEndpoint: closedPort(t)}
	tests := []struct {
		name, file, content string
		want                []string
		lines               []string // per-line reports before the error
	}{
		{"one malformed JSON line is one line with its number", "tasks.jsonl",
			"{\"task_id\":\"t-1\"}\n{\"task_id\":\"t-2\"\n{\"task_id\":\"t-3\"}\n",
			[]string{"tasks.jsonl:2: invalid JSON", "nothing was written", "--skip-invalid to write the 2 valid tasks"}, nil},
		{"several bad lines are listed, then one error", "tasks.csv",
			"task_id,data\nt-1,\"{\"\"a\"\":1}\"\nt-1,\nt-3,[1]\n",
			[]string{"2 of 3 lines of", "are invalid; nothing was written", "1 valid task)"},
			[]string{`tasks.csv:3: task_id "t-1" repeats line 2`, "tasks.csv:4: invalid data: must be a JSON object"}},
		{"a wrong CSV header refuses the file", "tasks.csv", "id\nt-1\n",
			[]string{"tasks.csv:1: the CSV header must be task_id,data"}, nil},
		{"an empty file holds no tasks", "tasks.jsonl", "\n\n", []string{"holds no tasks"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tc.file, tc.content)
			r := (&cli{env: env}).run(t, "enqueue", "j", path).wantCode(t, exitError)
			if strings.Contains(r.stderr, "cannot reach") {
				t.Fatalf("enqueue called DynamoDB before refusing the input: %s", r.stderr)
			}
			got := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(got) != len(tc.lines)+1 {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(got), len(tc.lines)+1, r.stderr)
			}
			for i, l := range tc.lines {
				if !strings.HasSuffix(got[i], l) {
					t.Errorf("stderr line %d = %q, want it to end with %q", i+1, got[i], l)
				}
			}
			(result{args: r.args, code: r.code, stderr: got[len(got)-1] + "\n"}).wantOneLineError(t, tc.want...)
		})
	}
}

func TestEnqueueDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	c := &cli{env: map[string]string{envTable: "tasks", envEndpoint: closedPort(t)},
		stdin: "{\"task_id\":\"t-1\"}\n{\"task_id\":\"t-1\"}\n{\"task_id\":\"t-2\",\"data\":{\"k\":\"v\"}}\n"}
	r := c.run(t, "enqueue", "j", "--dry-run", "--skip-invalid").wantCode(t, exitOK)
	checkGolden(t, "enqueue-dry-run", r.transcript())
}

func TestConfirmation(t *testing.T) {
	t.Parallel()
	env := map[string]string{envTable: "tasks", envEndpoint: closedPort(t)}
	t.Run("an answer other than yes aborts before any write", func(t *testing.T) {
		t.Parallel()
		c := &cli{env: env, stdinTTY: true, stdin: "n\n"}
		r := c.run(t, "ignore", "j", "t-1", "t-2").wantCode(t, exitError)
		if want := "Ignore 2 tasks of job j? [y/N] trackerctl: aborted: nothing was changed\n"; r.stderr != want {
			t.Errorf("stderr = %q, want %q", r.stderr, want)
		}
	})
	t.Run("yes goes on to the writes", func(t *testing.T) {
		t.Parallel()
		c := &cli{env: env, stdinTTY: true, stdin: "yes\n"}
		r := c.run(t, "ignore", "j", "t-1", "t-2").wantCode(t, exitError)
		if !strings.Contains(r.stderr, "cannot reach DynamoDB") {
			t.Errorf("stderr = %q, want the unreachable endpoint after the confirmation", r.stderr)
		}
	})
	t.Run("a single task needs no confirmation", func(t *testing.T) {
		t.Parallel()
		c := &cli{env: env}
		c.run(t, "retry", "j", "t-1").wantCode(t, exitError).wantOneLineError(t, "cannot reach DynamoDB")
	})
}

// TestRunStartsExecution points the Step Functions client at a stand-in for the one
// StartExecution call (there is no local Step Functions service API to run against).
func TestRunStartsExecution(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:tracker"
	tests := []struct {
		name  string
		args  []string
		input string
	}{
		{"with task ids", []string{"run", "parse-json", "t-1", "t-2", "--name", "rerun-1"}, `{"job_id":"parse-json","task_ids":["t-1","t-2"]}`},
		{"with neither", []string{"run", "parse-json"}, `{"job_id":"parse-json"}`},
		{"with a concurrency", []string{"run", "parse-json", "--concurrency", "4"}, `{"concurrency":4,"job_id":"parse-json"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req struct {
					StateMachineArn string `json:"stateMachineArn"`
					Input           string `json:"input"`
					Name            string `json:"name"`
				}
				dec := json.NewDecoder(r.Body)
				dec.DisallowUnknownFields()
				switch {
				case r.Method != http.MethodPost:
					http.Error(w, "want POST", http.StatusMethodNotAllowed)
				case r.Header.Get("X-Amz-Target") != "AWSStepFunctions.StartExecution":
					http.Error(w, "X-Amz-Target "+r.Header.Get("X-Amz-Target"), http.StatusBadRequest)
				case r.Header.Get("Content-Type") != "application/x-amz-json-1.0":
					http.Error(w, "Content-Type "+r.Header.Get("Content-Type"), http.StatusBadRequest)
				case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "):
					http.Error(w, "unsigned request", http.StatusForbidden)
				case dec.Decode(&req) != nil || req.StateMachineArn != arn || req.Input != tc.input:
					http.Error(w, "unexpected body", http.StatusBadRequest)
				case req.Name == "" || (tc.name == "with task ids" && req.Name != "rerun-1"):
					// A name is chosen before the first try, so that a retry starts nothing twice.
					http.Error(w, "name "+req.Name, http.StatusBadRequest)
				default:
					name := req.Name
					w.Header().Set("Content-Type", "application/x-amz-json-1.0")
					io.WriteString(w, `{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:tracker:`+name+`","startDate":1.7963941e9}`)
				}
			}))
			defer srv.Close()
			c := &cli{env: map[string]string{envStateMachine: arn, envSFNEndpoint: srv.URL, envRegion: "us-east-1"}}
			r := c.run(t, tc.args...).wantCode(t, exitOK)
			if !strings.HasPrefix(r.stdout, "arn:aws:states:us-east-1:123456789012:execution:tracker:") || strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("stdout = %q, want the execution ARN alone", r.stdout)
			}
			if !strings.Contains(r.stderr, "started at 2026-12-04T14:21:40Z") || !strings.Contains(r.stderr, tc.input) {
				t.Errorf("stderr = %q", r.stderr)
			}
			r = c.run(t, append(tc.args, "-o", "json")...).wantCode(t, exitOK)
			var ex struct {
				ExecutionARN string          `json:"execution_arn"`
				StartDate    time.Time       `json:"start_date"`
				Input        json.RawMessage `json:"input"`
			}
			decodeStrict(t, r.stdout, &ex, "execution_arn", "start_date", "input")
			var got, want any
			json.Unmarshal(ex.Input, &got)
			json.Unmarshal([]byte(tc.input), &want)
			if ex.StartDate.Unix() != 1796394100 || !reflect.DeepEqual(got, want) {
				t.Errorf("JSON = %+v", ex)
			}
		})
	}
}

func TestRunReportsAServiceError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"com.amazonaws.swf.service.v2.model#StateMachineDoesNotExist","message":"State Machine Does Not Exist: 'arn:x'"}`)
	}))
	defer srv.Close()
	c := &cli{env: map[string]string{envSFNEndpoint: srv.URL, envRegion: "eu-west-1"}}
	c.run(t, "run", "j", "--state-machine-arn", "arn:x").wantCode(t, exitError).
		wantOneLineError(t, "start execution of arn:x", "StateMachineDoesNotExist")
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("the null device counts as a terminal")
	}
	if isTerminal(strings.NewReader("")) {
		t.Error("a reader counts as a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file counts as a terminal")
	}
}

func TestFailReportsAnInterruptionInBothFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		json bool
		want string
	}{
		{false, "trackerctl: interrupted\n"},
		{true, `{"error":"interrupted","type":"interrupted"}` + "\n"},
	} {
		var stderr bytes.Buffer
		a := newApp(nil, io.Discard, &stderr, func(string) string { return "" })
		a.opts.json = tc.json
		if code := a.fail(fmt.Errorf("list: %w", context.Canceled)); code != exitError || stderr.String() != tc.want {
			t.Errorf("json %v: exit %d, stderr %q; want exit %d, %q", tc.json, code, stderr.String(), exitError, tc.want)
		}
	}
}

// parseJSONLines, parseCSV and validate collect what the streaming readers and the
// validator give, for the table tests above.
func parseJSONLines(r *bufio.Reader) ([]inputTask, []rejection, error) {
	return collect(func(each func(inputTask, *rejection) error) error { return eachJSONLine(r, each) })
}

func parseCSV(r io.Reader) ([]inputTask, []rejection, error) {
	return collect(func(each func(inputTask, *rejection) error) error { return eachCSV(r, each) })
}

func collect(read func(each func(inputTask, *rejection) error) error) ([]inputTask, []rejection, error) {
	var (
		tasks []inputTask
		rej   []rejection
	)
	err := read(func(l inputTask, r *rejection) error {
		if r != nil {
			rej = append(rej, *r)
		} else {
			tasks = append(tasks, l)
		}
		return nil
	})
	return tasks, rej, err
}

func validate(job string, lines []inputTask, rej []rejection) ([]inputTask, []rejection) {
	v := newValidator(job)
	var valid []inputTask
	for _, l := range lines {
		if l, r := v.check(l); r != nil {
			rej = append(rej, *r)
		} else {
			valid = append(valid, l)
		}
	}
	sortRejections(rej)
	return valid, rej
}

// numberedArgs is n task ids t-0, t-1, ...
func numberedArgs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t-%d", i)
	}
	return out
}
