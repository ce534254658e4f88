package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// These tests run every command end to end through app.run against DynamoDB Local, each
// on its own table. The CLI builds its own client from the environment the test gives it
// (endpoint, region, credentials of the harness's client), as an operator's shell would.

func TestMain(m *testing.M) { os.Exit(dynamotest.Main(m)) }

// job is the job the seeded tasks belong to.
const job = "parse-json"

// fixture is one test's table, the CLI environment pointing at it, and a tracker sharing
// the CLI's clock to seed and inspect tasks.
type fixture struct {
	table, endpoint string
	db              *dynamodb.Client
	tr              *tracker.Tracker
	clock           *trackertest.Clock
	env             map[string]string
}

// newFixture makes a fresh table (created unless create is false).
func newFixture(t *testing.T, create bool) *fixture {
	t.Helper()
	ctx := context.Background()
	var (
		db    *dynamodb.Client
		table string
	)
	if create {
		db, table = trackertest.Table(t)
	} else {
		db, table = dynamotest.Client(t), dynamotest.TableName(t)
	}
	o := db.Options()
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{table: table, endpoint: aws.ToString(o.BaseEndpoint), db: db, clock: trackertest.NewClock(t0)}
	if f.endpoint == "" {
		t.Fatal("the harness's client has no BaseEndpoint")
	}
	f.env = map[string]string{
		envTable: table, envEndpoint: f.endpoint, envRegion: o.Region,
		"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey, "AWS_SESSION_TOKEN": creds.SessionToken,
	}
	f.tr, err = tracker.New(db, tracker.Config{Table: table, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// cli returns a CLI on the fixture's table; its environment is a copy the test may change.
func (f *fixture) cli() *cli {
	env := make(map[string]string, len(f.env))
	for k, v := range f.env {
		env[k] = v
	}
	return &cli{env: env, clock: f.clock}
}

// golden checks transcripts against testdata/name.golden with the table and endpoint
// replaced by TABLE and ENDPOINT.
func (f *fixture) golden(t *testing.T, name string, runs ...result) {
	t.Helper()
	var b strings.Builder
	for _, r := range runs {
		b.WriteString(r.transcript())
	}
	checkGolden(t, name, b.String(), f.table, "TABLE", f.endpoint, "ENDPOINT")
}

// seed writes the eight tasks of job, one in each situation an operator meets, going
// through the tracker's own transitions with the clock set back:
//
//	t-01..t-03 todo (t-01 with data), t-04 in progress under a live lease (exec-live),
//	t-05 in progress under an expired lease (exec-crashed), t-06 failed once with an error
//	and a traceback, t-07 succeeded with a result, t-08 ignored by an operator.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	at := func(ago time.Duration) { f.clock.Set(t0.Add(-ago)) }
	at(time.Hour)
	tasks := []tracker.NewTask{{ID: "t-01", Data: json.RawMessage(`{"path": "s3://bucket/in/01.json", "size": 1024}`)}}
	for i := 2; i <= 8; i++ {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%02d", i)})
	}
	if _, err := f.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	claim := func(id, owner string) tracker.Lease {
		t.Helper()
		l, err := f.tr.Claim(ctx, job, id, owner)
		if err != nil {
			t.Fatal(err)
		}
		return *l
	}
	at(40 * time.Minute)
	claim("t-05", "exec-crashed")
	at(35 * time.Minute)
	l := claim("t-06", "exec-a")
	at(30 * time.Minute)
	must(f.tr.Fail(ctx, l, tracker.Failure{Error: "WorkerError: timeout after 30s",
		Traceback: "Traceback (most recent call last):\n  File \"worker.py\", line 12, in handle\nTimeoutError: 30s"}))
	at(25 * time.Minute)
	l = claim("t-07", "exec-b")
	at(20 * time.Minute)
	must(f.tr.Complete(ctx, l, json.RawMessage(`{"n_records": 100}`)))
	at(10 * time.Minute)
	must(f.tr.Ignore(ctx, job, "t-08"))
	at(5 * time.Minute)
	claim("t-04", "exec-live")
	f.clock.Set(t0)
}

// status returns the status of each task of job, by id.
func (f *fixture) statuses(t *testing.T, j string) map[string]string {
	t.Helper()
	page, err := f.tr.List(context.Background(), j, tracker.ListOptions{Limit: tracker.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, task := range page.Tasks {
		got[task.TaskID] = task.Status.String()
	}
	return got
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// stripANSI removes color escape codes.
func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

var seeded = map[string]string{
	"t-01": "todo", "t-02": "todo", "t-03": "todo", "t-04": "in_progress", "t-05": "in_progress",
	"t-06": "failed", "t-07": "succeeded", "t-08": "ignored",
}

func TestCreateTable(t *testing.T) {
	t.Parallel()
	t.Run("creates the table, then leaves it as it is", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, false)
		c := f.cli()
		first := c.run(t, "create-table").wantCode(t, exitOK)
		again := c.run(t, "create-table").wantCode(t, exitOK)
		f.golden(t, "create-table", first, again)
		out, err := f.db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(f.table)})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkLayout(out.Table); err != nil {
			t.Error(err)
		}
		var got struct {
			Table    string `json:"table"`
			Endpoint string `json:"endpoint"`
			Created  *bool  `json:"created"`
			Index    string `json:"index"`
		}
		decodeStrict(t, c.run(t, "create-table", "-o", "json").wantCode(t, exitOK).stdout, &got, "table", "created", "index")
		if got.Table != f.table || *got.Created || got.Index != tracker.IndexName || got.Endpoint != f.endpoint {
			t.Errorf("JSON = %+v", got)
		}
	})
	t.Run("refuses a table of another layout", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, false)
		_, err := f.db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
			TableName:            aws.String(f.table),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		})
		if err != nil {
			t.Fatal(err)
		}
		f.cli().run(t, "create-table").wantCode(t, exitError).
			wantOneLineError(t, fmt.Sprintf("table %q exists at %s but its key schema is not the tracker's", f.table, f.endpoint))
	})
}

func TestMissingTableIsNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	input := writeFile(t, "tasks.jsonl", `{"task_id":"t-1"}`+"\n")
	for _, args := range [][]string{
		{"status", job}, {"list", job}, {"show", job, "t-01"}, {"enqueue", job, input},
		{"retry", job, "t-01"}, {"ignore", job, "--status", "todo", "--yes"}, {"delete-job", job, "--yes"},
	} {
		f.cli().run(t, args...).wantCode(t, exitError).
			wantOneLineError(t, fmt.Sprintf("table %q does not exist at %s", f.table, f.endpoint), "trackerctl create-table")
	}
}

func TestEnqueue(t *testing.T) {
	t.Parallel()
	t.Run("a JSON lines file, then the same file again", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		path := filepath.Join("testdata", "tasks.jsonl")
		c := f.cli()
		first := c.run(t, "enqueue", job, path).wantCode(t, exitOK)
		again := c.run(t, "enqueue", job, path).wantCode(t, exitOK)
		f.golden(t, "enqueue-jsonl", first, again)
		task, err := f.tr.Get(context.Background(), job, "t-3")
		if err != nil {
			t.Fatal(err)
		}
		if string(task.Data) != `{"nested":{"list":[1,2,3]},"unicode":"é"}` || task.Status != tracker.Todo {
			t.Errorf("t-3 = %s %s", task.Status, task.Data)
		}
	})
	t.Run("CSV on standard input", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		c := f.cli()
		c.stdin = "task_id,data\nt-1,\"{\"\"path\"\": \"\"s3://bucket/in/1.json\"\"}\"\nt-2,\n"
		r := c.run(t, "enqueue", job).wantCode(t, exitOK)
		f.golden(t, "enqueue-csv-stdin", r)
		if got := f.statuses(t, job); !reflect.DeepEqual(got, map[string]string{"t-1": "todo", "t-2": "todo"}) {
			t.Errorf("tasks = %v", got)
		}
	})
	t.Run("skip-invalid writes the valid tasks and lists the rejected lines", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		path := filepath.Join("testdata", "tasks-invalid.jsonl")
		r := f.cli().run(t, "enqueue", job, path, "--skip-invalid").wantCode(t, exitOK)
		f.golden(t, "enqueue-skip-invalid", r)
		if got := f.statuses(t, job); !reflect.DeepEqual(got, map[string]string{"t-1": "todo", "t-3": "todo"}) {
			t.Errorf("tasks = %v", got)
		}
	})
	t.Run("invalid input writes nothing, and JSON says so", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		path := writeFile(t, "tasks.jsonl", "{\"task_id\":\"t-1\"}\n{\"task_id\":\"\"}\n")
		r := f.cli().run(t, "enqueue", job, path, "-o", "json").wantCode(t, exitError)
		r.wantJSONError(t, "invalid_input", path+":2: invalid task_id: must not be empty; nothing was written (fix the line, or pass --skip-invalid to write the 1 valid task)")
		var sum enqueueJSON
		decodeStrict(t, r.stdout, &sum, enqueueRequired...)
		if sum.Written || sum.Created != 0 || len(sum.Rejected) != 1 || sum.Rejected[0].Line != 2 {
			t.Errorf("summary = %+v", sum)
		}
		if got := f.statuses(t, job); len(got) != 0 {
			t.Errorf("tasks were written: %v", got)
		}
	})
	t.Run("batches draw a progress bar on a terminal and JSON counts them", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		if _, err := f.tr.CreateTask(context.Background(), job, "t-04", nil); err != nil {
			t.Fatal(err)
		}
		var in strings.Builder
		for i := 1; i <= 7; i++ {
			fmt.Fprintf(&in, "{\"task_id\":\"t-%02d\",\"data\":{\"i\":%d}}\n", i, i)
		}
		c := f.cli()
		c.stdin, c.stderrTTY = in.String(), true
		r := c.run(t, "enqueue", job, "-", "--batch", "3", "-o", "json").wantCode(t, exitOK)
		wantBar := "\renqueue parse-json [                                        ] 0/7   0%" +
			"\renqueue parse-json [█████████████████▏                      ] 3/7  42%" +
			"\renqueue parse-json [██████████████████████████████████▎     ] 6/7  85%" +
			"\renqueue parse-json [████████████████████████████████████████] 7/7 100%\n"
		if r.stderr != wantBar {
			t.Errorf("progress bar = %q, want %q", r.stderr, wantBar)
		}
		var sum enqueueJSON
		decodeStrict(t, r.stdout, &sum, enqueueRequired...)
		want := enqueueJSON{JobID: job, Input: "stdin", Read: 7, Valid: 7, Created: 6, Existing: 1, Rejected: []rejectionJSON{}, Written: true}
		if !reflect.DeepEqual(sum, want) {
			t.Errorf("summary = %+v, want %+v", sum, want)
		}
		if n := len(f.statuses(t, job)); n != 7 {
			t.Errorf("%d tasks in the table, want 7", n)
		}
	})
	t.Run("a byte order mark before JSON lines is skipped, in a file and on standard input", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		const input = "\ufeff{\"task_id\": \"t-1\", \"data\": {\"k\": 1}}\n{\"task_id\": \"t-2\"}\n"
		path := writeFile(t, "tasks.jsonl", input)
		c := f.cli()
		fromFile := c.run(t, "enqueue", job, path).wantCode(t, exitOK)
		c.stdin = strings.Replace(input, "t-1", "t-3", 1)
		fromStdin := c.run(t, "enqueue", job).wantCode(t, exitOK)
		checkGolden(t, "enqueue-bom", fromFile.transcript()+fromStdin.transcript(), path, "FILE")
		if got := f.statuses(t, job); !reflect.DeepEqual(got, map[string]string{"t-1": "todo", "t-2": "todo", "t-3": "todo"}) {
			t.Errorf("tasks = %v", got)
		}
		task, err := f.tr.Get(context.Background(), job, "t-1")
		if err != nil {
			t.Fatal(err)
		}
		if string(task.Data) != `{"k":1}` {
			t.Errorf("t-1's data = %s", task.Data)
		}
	})
	t.Run("standard input is read again from a temporary copy, removed at the end", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		tmp := t.TempDir()
		c := f.cli()
		c.env["TMPDIR"] = tmp
		c.stdin = "{\"task_id\":\"t-1\"}\n{\"task_id\":\"t-1\"}\nnot json\n{\"task_id\":\"t-2\",\"data\":{\"a\":[1, 2]}}\n"
		r := c.run(t, "enqueue", job, "--skip-invalid", "--batch", "1", "-o", "json").wantCode(t, exitOK)
		var sum enqueueJSON
		decodeStrict(t, r.stdout, &sum, enqueueRequired...)
		want := enqueueJSON{JobID: job, Input: "stdin", Read: 4, Valid: 2, Created: 2, Rejected: []rejectionJSON{
			{Line: 2, TaskID: "t-1", Reason: `task_id "t-1" repeats line 1`},
			{Line: 3, Reason: `not a JSON object: want {"task_id": "...", "data": {...}}`},
		}, Written: true}
		if !reflect.DeepEqual(sum, want) {
			t.Errorf("summary = %+v, want %+v", sum, want)
		}
		task, err := f.tr.Get(context.Background(), job, "t-2")
		if err != nil {
			t.Fatal(err)
		}
		if string(task.Data) != `{"a":[1,2]}` {
			t.Errorf("t-2's data = %s", task.Data)
		}
		if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
			t.Errorf("temporary directory holds %v (%v), want nothing", left, err)
		}
	})
	t.Run("an input that reads differently the second time stops before writing it", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		a := newApp(nil, io.Discard, io.Discard, func(k string) string { return f.env[k] })
		fs := newFlagSet(enqueueCommand(), a)
		if err := a.setOptions(fs); err != nil {
			t.Fatal(err)
		}
		// The first pass found two valid tasks; the second reads the second one as invalid.
		second := newInput(strings.NewReader("{\"task_id\":\"t-1\"}\n{\"task_id\":\"t-2\",\"data\":[1]}\n"))
		err := a.write(context.Background(), job, "in.jsonl", "jsonl", second, map[int]bool{}, enqueueOptions{batch: 10}, &enqueueSummary{JobID: job, Valid: 2})
		if want := "in.jsonl: " + errInputChanged.Error(); err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
		if got := f.statuses(t, job); len(got) != 0 {
			t.Errorf("tasks were written: %v", got)
		}
	})
	t.Run("the summary names the first five existing tasks across batches", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		var in strings.Builder
		for i := 1; i <= 7; i++ {
			fmt.Fprintf(&in, "{\"task_id\":\"t-%02d\"}\n", i)
		}
		c := f.cli()
		c.stdin = in.String()
		c.run(t, "enqueue", job, "--batch", "3").wantCode(t, exitOK)
		r := c.run(t, "enqueue", job, "--batch", "3").wantCode(t, exitOK)
		if want := "  existing  7 (left as they are: t-01, t-02, t-03, t-04, t-05, … (2 more))\n"; !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	})
	t.Run("status codes from the environment are the ones written", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		c := f.cli()
		c.env[envCodes] = "1,2,3,4,50"
		c.stdin = "{\"task_id\":\"t-1\"}\n"
		c.run(t, "enqueue", job).wantCode(t, exitOK)
		var rep statusJSON
		decodeStrict(t, c.run(t, "status", job, "-o", "json").wantCode(t, exitOK).stdout, &rep)
		if rep.Counts["todo"] != 1 {
			t.Errorf("counts with the job's codes = %v", rep.Counts)
		}
		f.cli().run(t, "status", job).wantCode(t, exitError).wantOneLineError(t, "has no tasks")
	})
}

// enqueueJSON is the schema of enqueue --output json.
type enqueueJSON struct {
	JobID    string          `json:"job_id"`
	Input    string          `json:"input"`
	Read     int             `json:"read"`
	Valid    int             `json:"valid"`
	Created  int             `json:"created"`
	Existing int             `json:"existing"`
	Rejected []rejectionJSON `json:"rejected"`
	Written  bool            `json:"written"`
}

type rejectionJSON struct {
	Line   int    `json:"line"`
	TaskID string `json:"task_id"`
	Reason string `json:"reason"`
}

var enqueueRequired = []string{"job_id", "input", "read", "valid", "created", "existing", "rejected", "written", "rejected[].line", "rejected[].reason"}

// statusJSON is the schema of status --output json.
type statusJSON struct {
	JobID         string         `json:"job_id"`
	Table         string         `json:"table"`
	Time          time.Time      `json:"time"`
	Counts        map[string]int `json:"counts"`
	Total         int            `json:"total"`
	Moved         int            `json:"moved"`
	OldestPending *struct {
		TaskID     string     `json:"task_id"`
		Status     string     `json:"status"`
		Since      time.Time  `json:"since"`
		CreateTime *time.Time `json:"create_time"`
	} `json:"oldest_pending"`
	PendingScanned int `json:"pending_scanned"`
	Leases         []struct {
		TaskID   string    `json:"task_id"`
		Owner    string    `json:"owner"`
		Taken    time.Time `json:"taken"`
		Expires  time.Time `json:"expires"`
		Attempts int       `json:"attempts"`
	} `json:"leases"`
	ExpiredLeases  int  `json:"expired_leases"`
	PendingPartial bool `json:"pending_partial"`
	LeasesPartial  bool `json:"leases_partial"`
}

var statusRequired = []string{"job_id", "table", "time", "counts", "total", "oldest_pending", "pending_scanned", "leases", "expired_leases", "pending_partial", "leases_partial",
	"oldest_pending.task_id", "oldest_pending.status", "oldest_pending.since", "leases[].task_id", "leases[].owner", "leases[].expires"}

func TestStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	t.Run("text shows counts, the oldest pending task and the live leases", func(t *testing.T) {
		t.Parallel()
		r := f.cli().run(t, "status", job).wantCode(t, exitOK)
		if strings.Contains(r.stdout, "\x1b") {
			t.Error("colors on a non-terminal")
		}
		f.golden(t, "status", r)
	})
	t.Run("JSON follows the schema", func(t *testing.T) {
		t.Parallel()
		var rep statusJSON
		decodeStrict(t, f.cli().run(t, "status", job, "-o", "json").wantCode(t, exitOK).stdout, &rep, statusRequired...)
		wantCounts := map[string]int{"todo": 3, "in_progress": 2, "failed": 1, "succeeded": 1, "ignored": 1}
		if !reflect.DeepEqual(rep.Counts, wantCounts) || rep.Total != 8 || rep.Table != f.table || !rep.Time.Equal(t0) {
			t.Errorf("report = %+v", rep)
		}
		if p := rep.OldestPending; p == nil || p.TaskID != "t-01" || p.Status != "todo" || !p.Since.Equal(t0.Add(-time.Hour).Truncate(time.Microsecond)) {
			t.Errorf("oldest pending = %+v", rep.OldestPending)
		}
		if rep.PendingScanned != 5 || rep.ExpiredLeases != 1 || rep.PendingPartial || rep.LeasesPartial {
			t.Errorf("scanned %d pending, %d expired leases, partial %v %v", rep.PendingScanned, rep.ExpiredLeases, rep.PendingPartial, rep.LeasesPartial)
		}
		if len(rep.Leases) != 1 || rep.Leases[0].TaskID != "t-04" || rep.Leases[0].Owner != "exec-live" ||
			!rep.Leases[0].Expires.Equal(t0.Add(10*time.Minute).Truncate(time.Microsecond)) || rep.Leases[0].Attempts != 1 {
			t.Errorf("leases = %+v", rep.Leases)
		}
	})
	t.Run("colors only on a terminal without NO_COLOR, and columns stay aligned", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		plainStatus, plainList := c.run(t, "status", job).stdout, c.run(t, "list", job).stdout
		c.stdoutTTY = true
		status, list := c.run(t, "status", job).stdout, c.run(t, "list", job).stdout
		if !strings.Contains(status, "\x1b[34m") || !strings.Contains(list, "\x1b[31mfailed\x1b[0m") {
			t.Errorf("no colors on a terminal:\n%s\n%s", status, list)
		}
		if got := stripANSI(list); got != plainList {
			t.Errorf("colored list, without its colors, differs from the plain one:\n%s\nwant\n%s", got, plainList)
		}
		if got := stripANSI(status); got != plainStatus {
			t.Errorf("colored status, without its colors, differs from the plain one:\n%s\nwant\n%s", got, plainStatus)
		}
		c.env["NO_COLOR"] = "1"
		if out := c.run(t, "status", job).stdout; strings.Contains(out, "\x1b") {
			t.Errorf("colors despite NO_COLOR:\n%s", out)
		}
	})
	t.Run("an unknown job has no tasks", func(t *testing.T) {
		t.Parallel()
		f.cli().run(t, "status", "no-such-job").wantCode(t, exitError).
			wantOneLineError(t, fmt.Sprintf(`job "no-such-job" has no tasks in table %q`, f.table))
	})
}

func TestStatusWatch(t *testing.T) {
	t.Parallel()
	t.Run("refreshes after each wait and stops after --watch-count reports", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		c := f.cli()
		var waits []time.Duration
		// Between the two reports a task finishes and 90 seconds pass.
		c.wait = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			page, err := f.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo}, Limit: 1})
			if err != nil {
				return err
			}
			l, err := f.tr.Claim(ctx, job, page.Tasks[0].TaskID, "exec-next")
			if err != nil {
				return err
			}
			if _, err := f.tr.Complete(ctx, *l, nil); err != nil {
				return err
			}
			f.clock.Set(f.clock.Now().Add(90 * time.Second))
			return nil
		}
		r := c.run(t, "status", job, "--watch-count", "2", "--interval", "90").wantCode(t, exitOK)
		if !reflect.DeepEqual(waits, []time.Duration{90 * time.Second}) {
			t.Errorf("waits = %v, want one of 90s", waits)
		}
		f.golden(t, "status-watch", r)
	})
	t.Run("an interrupt ends the watch with success", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		c := f.cli()
		c.wait = func(ctx context.Context, d time.Duration) error { return context.Canceled }
		r := c.run(t, "status", job, "--watch").wantCode(t, exitOK)
		if n := strings.Count(r.stdout, "job parse-json in table"); n != 1 {
			t.Errorf("%d reports, want 1", n)
		}
	})
	t.Run("JSON under --watch is one object a line", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		c := f.cli()
		c.wait = func(context.Context, time.Duration) error { return nil }
		r := c.run(t, "status", job, "--watch-count", "3", "-o", "json").wantCode(t, exitOK)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d lines, want 3:\n%s", len(lines), r.stdout)
		}
		for _, l := range lines {
			var rep statusJSON
			decodeStrict(t, l, &rep, statusRequired...)
		}
	})
}

// taskJSON is the schema of a task in list and show --output json.
type taskJSON struct {
	JobID      string     `json:"job_id"`
	TaskID     string     `json:"task_id"`
	Status     string     `json:"status"`
	Code       int        `json:"code"`
	Retry      int        `json:"retry"`
	Attempts   int        `json:"attempts"`
	CreateTime *time.Time `json:"create_time"`
	UpdateTime time.Time  `json:"update_time"`
	LockOwner  string     `json:"lock_owner"`
	Lease      *struct {
		Token   string    `json:"token"`
		Taken   time.Time `json:"taken"`
		Expires time.Time `json:"expires"`
		Live    bool      `json:"live"`
	} `json:"lease"`
	// list only
	LastError *string `json:"last_error"`
	// list by failure, show
	Failure *struct {
		Fingerprint string    `json:"fingerprint"`
		Time        time.Time `json:"time"`
		Message     string    `json:"message"`
	} `json:"failure"`
	// show only
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Error     string `json:"error"`
		Traceback string `json:"traceback"`
	} `json:"error"`
	History []struct {
		Attempt     int       `json:"attempt"`
		Time        time.Time `json:"time"`
		Holder      string    `json:"holder"`
		Error       string    `json:"error"`
		Traceback   string    `json:"traceback"`
		Fingerprint string    `json:"fingerprint"`
	} `json:"history"`
}

var taskRequired = []string{"job_id", "task_id", "status", "code", "retry", "attempts", "create_time", "update_time", "lease"}

func TestList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	t.Run("text pages by status", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		f.golden(t, "list",
			c.run(t, "list", job).wantCode(t, exitOK),
			c.run(t, "list", job, "--status", "failed,ignored").wantCode(t, exitOK),
			c.run(t, "list", job, "--pending").wantCode(t, exitOK),
			c.run(t, "list", job, "--status", "todo", "--limit", "2").wantCode(t, exitOK),
			c.run(t, "list", job, "--status", "todo", "--limit", "2", "--cursor", "cGFyc2UtanNvbl9fX190LTAy").wantCode(t, exitOK),
		)
	})
	t.Run("cursors walk every task once, as --all does", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		var ids []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 8 {
				t.Fatal("the cursor never ends")
			}
			args := []string{"list", job, "--limit", "3", "-o", "json"}
			if cursor != "" {
				args = append(args, "--cursor", cursor)
			}
			var page struct {
				JobID  string     `json:"job_id"`
				Tasks  []taskJSON `json:"tasks"`
				Cursor string     `json:"cursor"`
			}
			decodeStrict(t, c.run(t, args...).wantCode(t, exitOK).stdout, &page, "job_id", "tasks", "cursor",
				"tasks[].task_id", "tasks[].status", "tasks[].update_time", "tasks[].lease", "tasks[].create_time", "tasks[].last_error")
			for _, task := range page.Tasks {
				ids = append(ids, task.TaskID)
				if task.Data != nil || task.Error != nil {
					t.Errorf("list carries data or the error record: %+v", task)
				}
				if wantErr := task.TaskID == "t-06"; wantErr != (task.LastError != nil) ||
					(wantErr && *task.LastError != "WorkerError: timeout after 30s") {
					t.Errorf("%s's last error = %v", task.TaskID, task.LastError)
				}
				if task.TaskID == "t-04" && (task.Lease == nil || !task.Lease.Live || task.LockOwner != "exec-live") {
					t.Errorf("t-04's lease = %+v", task.Lease)
				}
				if task.TaskID == "t-05" && (task.Lease == nil || task.Lease.Live) {
					t.Errorf("t-05's lease = %+v", task.Lease)
				}
			}
			if cursor = page.Cursor; cursor == "" {
				break
			}
		}
		want := []string{"t-01", "t-02", "t-03", "t-04", "t-05", "t-06", "t-07", "t-08"}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("pages gave %v, want %v", ids, want)
		}
		all := c.run(t, "list", job, "--limit", "3", "--all").wantCode(t, exitOK)
		if n := strings.Count(all.stdout, "\nt-0"); n != 8 || all.stderr != "" {
			t.Errorf("--all listed %d tasks, stderr %q", n, all.stderr)
		}
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		c.run(t, "list", "no-such-job").wantCode(t, exitError).wantOneLineError(t, `job "no-such-job" has no tasks`)
		c.run(t, "list", job, "--cursor", "!!").wantCode(t, exitUsage).wantOneLineError(t, "invalid cursor")
	})
}

func TestShow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	t.Run("text shows the task in full", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		var runs []result
		for _, id := range []string{"t-01", "t-04", "t-05", "t-06", "t-07"} {
			runs = append(runs, c.run(t, "show", job, id).wantCode(t, exitOK))
		}
		f.golden(t, "show", runs...)
	})
	t.Run("text and JSON show the attempts of a task failed three times", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true) // its own clock: this test moves it
		ctx := context.Background()
		f.clock.Set(t0.Add(-time.Hour))
		if _, err := f.tr.CreateTasks(ctx, job, []tracker.NewTask{{ID: "t-09"}}); err != nil {
			t.Fatal(err)
		}
		failures := []struct {
			ago    time.Duration
			holder string
			fail   tracker.Failure
		}{
			{30 * time.Minute, "exec-a", tracker.Failure{Error: "WorkerError: timeout after 30s",
				Traceback: "Traceback (most recent call last):\n  File \"worker.py\", line 12, in handle\nTimeoutError: 30s\n"}},
			{20 * time.Minute, "exec-b", tracker.Failure{Error: "WorkerError: \x1b[31mred\x1b[0m\nsecond line"}},
			{10 * time.Minute, "exec-c", tracker.Failure{Error: "WorkerError: out of memory",
				Traceback: "  File \"worker.py\", line 40\nMemoryError: \u202egnp.\n"}},
		}
		for _, fl := range failures {
			f.clock.Set(t0.Add(-fl.ago))
			l, err := f.tr.Claim(ctx, job, "t-09", fl.holder)
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Set(t0.Add(-fl.ago + time.Minute))
			if _, err := f.tr.Fail(ctx, *l, fl.fail); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Set(t0)
		c := f.cli()
		f.golden(t, "show-history", c.run(t, "show", job, "t-09").wantCode(t, exitOK))
		var got taskJSON
		decodeStrict(t, c.run(t, "show", job, "t-09", "-o", "json").wantCode(t, exitOK).stdout, &got,
			append(taskRequired, "data", "error", "history", "history[].attempt", "history[].time", "history[].holder", "history[].error", "history[].traceback")...)
		if len(got.History) != 3 {
			t.Fatalf("history = %+v, want 3 attempts", got.History)
		}
		for i, h := range got.History {
			fl := failures[i]
			if h.Attempt != i+1 || !h.Time.Equal(t0.Add(-fl.ago+time.Minute).Truncate(time.Microsecond)) ||
				h.Holder != fl.holder || h.Error != fl.fail.Error || h.Traceback != fl.fail.Traceback {
				t.Errorf("history[%d] = %+v, want attempt %d at %s by %s with %+v", i, h, i+1, t0.Add(-fl.ago+time.Minute), fl.holder, fl.fail)
			}
		}
	})
	t.Run("JSON follows the schema", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		var failed taskJSON
		decodeStrict(t, c.run(t, "show", job, "t-06", "-o", "json").wantCode(t, exitOK).stdout, &failed, append(taskRequired, "data", "error")...)
		if failed.Status != "failed" || failed.Code != 6 || failed.Retry != 1 || failed.Error == nil ||
			failed.Error.Error != "WorkerError: timeout after 30s" || !strings.Contains(failed.Error.Traceback, "TimeoutError") ||
			failed.Lease != nil || failed.LockOwner != "exec-a" || string(failed.Data) != "null" {
			t.Errorf("t-06 = %+v", failed)
		}
		var held taskJSON
		decodeStrict(t, c.run(t, "show", job, "t-04", "-o", "json").wantCode(t, exitOK).stdout, &held,
			append(taskRequired, "lease.token", "lease.taken", "lease.expires", "lease.live")...)
		if held.Lease == nil || len(held.Lease.Token) != 32 || !held.Lease.Live || !held.Lease.Expires.Equal(t0.Add(10*time.Minute).Truncate(time.Microsecond)) {
			t.Errorf("t-04 lease = %+v", held.Lease)
		}
		var todo taskJSON
		decodeStrict(t, c.run(t, "show", job, "t-01", "-o", "json").wantCode(t, exitOK).stdout, &todo, taskRequired...)
		var data bytes.Buffer
		if err := json.Compact(&data, todo.Data); err != nil || data.String() != `{"path":"s3://bucket/in/01.json","size":1024}` || todo.CreateTime == nil {
			t.Errorf("t-01 = %+v", todo)
		}
	})
	t.Run("a succeeded task has no current error: its failures are history", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		f.seedErrors(t) // t-11 failed once, then succeeded
		c := f.cli()
		r := c.run(t, "show", job, "t-11").wantCode(t, exitOK)
		if !regexp.MustCompile(`\nerror +none now \(its failures are in its history\)\n`).MatchString(r.stdout) || strings.Contains(r.stdout, "traceback:") ||
			!strings.Contains(r.stdout, "WorkerError: timeout after 10s") {
			t.Errorf("show t-11:\n%s", r.stdout)
		}
		var got taskJSON
		decodeStrict(t, c.run(t, "show", job, "t-11", "-o", "json").wantCode(t, exitOK).stdout, &got, taskRequired...)
		if got.Status != "succeeded" || got.Error != nil || got.Failure != nil || len(got.History) != 1 || got.History[0].Fingerprint == "" {
			t.Errorf("t-11 = %+v", got)
		}
		page := c.run(t, "list", job, "--status", "succeeded").wantCode(t, exitOK).stdout
		if strings.Contains(page, "timeout") {
			t.Errorf("a succeeded task lists an error:\n%s", page)
		}
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		c.run(t, "show", job, "t-99").wantCode(t, exitError).wantOneLineError(t, fmt.Sprintf(`job "parse-json" has no task "t-99" in table %q`, f.table))
		c.run(t, "show", "no-such-job", "t-01").wantCode(t, exitError).wantOneLineError(t, `job "no-such-job" has no tasks`)
		c.run(t, "show", job, "a____b").wantCode(t, exitUsage).wantOneLineError(t, "separator")
	})
}

// changeJSON is the schema of retry and ignore --output json.
type changeJSON struct {
	JobID   string   `json:"job_id"`
	Action  string   `json:"action"`
	DryRun  bool     `json:"dry_run"`
	Changed []string `json:"changed"`
	Refused []struct {
		TaskID string `json:"task_id"`
		Reason string `json:"reason"`
	} `json:"refused"`
}

// bulkJSON is the schema of retry and ignore of a selection under --output json.
type bulkJSON struct {
	JobID     string        `json:"job_id"`
	Action    string        `json:"action"`
	DryRun    bool          `json:"dry_run"`
	Selected  *int          `json:"selected"`
	ID        string        `json:"id"`
	Execution string        `json:"execution_arn"`
	Progress  *tracker.Bulk `json:"progress"`
}

func TestRetryAndIgnore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stdin  string // with a terminal on stdin when set
		code   int
		golden string
		after  map[string]string // statuses that changed from the seed
	}{
		{name: "retry one failed task", args: []string{"retry", job, "t-06"}, golden: "retry-one",
			after: map[string]string{"t-06": "todo"}},
		{name: "retry refuses a succeeded task", args: []string{"retry", job, "t-07"}, code: exitError, golden: "retry-succeeded"},
		{name: "retry a list applies what it can and lists the rest", args: []string{"retry", job, "t-06", "t-08", "t-01", "--yes"},
			code: exitError, golden: "retry-list", after: map[string]string{"t-06": "todo", "t-08": "todo"}},
		{name: "retry every failed and ignored task", args: []string{"retry", job, "--status", "failed,ignored", "-y"}, golden: "retry-status",
			after: map[string]string{"t-06": "todo", "t-08": "todo"}},
		{name: "a dry run by status writes nothing", args: []string{"retry", job, "--status", "failed", "--dry-run"}, golden: "retry-dry-run-status"},
		{name: "a dry run of named tasks says which would be refused", args: []string{"retry", job, "t-06", "t-07", "t-99", "--dry-run"}, golden: "retry-dry-run-ids"},
		{name: "nothing to retry is not an error", args: []string{"retry", job, "--status", "failed", "--yes"}, golden: "retry-none",
			after: map[string]string{"t-06": "todo"}},
		{name: "ignore every todo task after confirming", args: []string{"ignore", job, "--status", "todo"}, stdin: "y\n", golden: "ignore-status",
			after: map[string]string{"t-01": "ignored", "t-02": "ignored", "t-03": "ignored"}},
		{name: "ignore a task under a live lease", args: []string{"ignore", job, "t-04"}, golden: "ignore-leased",
			after: map[string]string{"t-04": "ignored"}},
		{name: "a bulk change without a terminal or --yes changes nothing", args: []string{"ignore", job, "--status", "todo"}, code: exitUsage, golden: "ignore-no-yes"},
		{name: "declining the question changes nothing", args: []string{"ignore", job, "t-01", "t-02"}, stdin: "no\n", code: exitError, golden: "ignore-declined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			f.seed(t)
			if tc.golden == "retry-none" {
				if _, err := f.tr.Retry(context.Background(), job, "t-06"); err != nil {
					t.Fatal(err)
				}
			}
			c := f.cli()
			c.stdin, c.stdinTTY = tc.stdin, tc.stdin != ""
			r := c.run(t, tc.args...).wantCode(t, tc.code)
			f.golden(t, tc.golden, r)
			want := map[string]string{}
			for id, s := range seeded {
				want[id] = s
			}
			for id, s := range tc.after {
				want[id] = s
			}
			if got := f.statuses(t, job); !reflect.DeepEqual(got, want) {
				t.Errorf("statuses after = %v, want %v", got, want)
			}
		})
	}
	t.Run("JSON follows the schema", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		r := f.cli().run(t, "retry", job, "t-06", "t-07", "--yes", "-o", "json").wantCode(t, exitError)
		var rep changeJSON
		decodeStrict(t, r.stdout, &rep, "job_id", "action", "dry_run", "changed", "refused", "refused[].task_id", "refused[].reason")
		if rep.Action != "retry" || rep.DryRun || !reflect.DeepEqual(rep.Changed, []string{"t-06"}) ||
			len(rep.Refused) != 1 || rep.Refused[0].TaskID != "t-07" || rep.Refused[0].Reason != "task already succeeded" {
			t.Errorf("report = %+v", rep)
		}
		r.wantJSONError(t, "refused", "1 of 2 tasks not retried")
		task, err := f.tr.Get(context.Background(), job, "t-06")
		if err != nil {
			t.Fatal(err)
		}
		if task.Retry != 0 || task.Error == nil {
			t.Errorf("retried task: retry %d, error %v (want 0 and the last error kept)", task.Retry, task.Error)
		}
	})
}

func TestDeleteJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		golden string
		gone   bool
	}{
		{name: "a dry run counts and deletes nothing", args: []string{"delete-job", job, "--dry-run"}, golden: "delete-dry-run"},
		{name: "without a terminal it needs --yes", args: []string{"delete-job", job}, code: exitUsage, golden: "delete-no-yes"},
		{name: "declining deletes nothing", args: []string{"delete-job", job}, stdin: "\n", code: exitError, golden: "delete-declined"},
		{name: "confirming deletes the job only", args: []string{"delete-job", job}, stdin: "yes\n", golden: "delete-confirmed", gone: true},
		{name: "--yes deletes without asking", args: []string{"delete-job", job, "--yes"}, golden: "delete-yes", gone: true},
		{name: "an unknown job has no tasks", args: []string{"delete-job", "no-such-job", "--yes"}, code: exitError, golden: "delete-unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			f.seed(t)
			if _, err := f.tr.CreateTask(context.Background(), "other-job", "t-01", nil); err != nil {
				t.Fatal(err)
			}
			c := f.cli()
			c.stdin, c.stdinTTY = tc.stdin, tc.stdin != ""
			r := c.run(t, tc.args...).wantCode(t, tc.code)
			f.golden(t, tc.golden, r)
			if n := len(f.statuses(t, job)); (n == 0) != tc.gone {
				t.Errorf("%d tasks left in the job, want them gone: %v", n, tc.gone)
			}
			if n := len(f.statuses(t, "other-job")); n != 1 {
				t.Errorf("the other job lost its task")
			}
		})
	}
	t.Run("JSON follows the schema", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		var out struct {
			JobID   string `json:"job_id"`
			DryRun  bool   `json:"dry_run"`
			Tasks   int    `json:"tasks"`
			Deleted int    `json:"deleted"`
		}
		decodeStrict(t, f.cli().run(t, "delete-job", job, "--yes", "-o", "json").wantCode(t, exitOK).stdout, &out, "job_id", "dry_run", "tasks", "deleted")
		if out.Tasks != 8 || out.Deleted != 8 || out.DryRun {
			t.Errorf("JSON = %+v", out)
		}
	})
}

// hostile matches what a terminal would act on: C0 and C1 controls (ESC among them), DEL
// and the bidi embedding, override and isolate characters.
var hostile = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e\u2066-\u2069]")

func TestTextEscapesWhatATerminalWouldActOn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	red, rtl := "t-\x1b[31mred", "t-\u202egnp.exe"
	// Ids with such characters are refused (enqueue says so, escaped); a task with one can
	// still come from another writer (the seed's code), stored as is.
	hostileIDs := writeFile(t, "hostile.jsonl", `{"task_id": "t-\u001b[31mred"}`+"\n"+`{"task_id": "t-\u202egnp.exe"}`+"\n")
	input := writeFile(t, "tasks.jsonl", `{"task_id": "t-rtl", "data": {"bell": "\u0007", "note": "`+"\u202eabc"+`"}}`+"\n")
	c := f.cli()
	runs := []result{
		c.run(t, "enqueue", job, hostileIDs).wantCode(t, exitError),
		c.run(t, "enqueue", job, input).wantCode(t, exitOK),
	}
	for _, id := range []string{red, rtl} {
		_, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: map[string]types.AttributeValue{
			"key": &types.AttributeValueMemberS{Value: job + "____" + id}, "value": &types.AttributeValueMemberS{Value: job + "____00"},
			"update_time": &types.AttributeValueMemberS{Value: "2026-11-29T00:33:51.185247+0000"}, "retry": &types.AttributeValueMemberN{Value: "0"},
			"lock_time": &types.AttributeValueMemberS{Value: "1970-01-01T00:00:00.000000+0000"},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(t0.Add(-10 * time.Minute))
	l, err := f.tr.Claim(ctx, job, "t-rtl", "exec-\x1b]0;pwned\x07")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(-5 * time.Minute))
	if _, err := f.tr.Fail(ctx, *l, tracker.Failure{Error: "boom \x1b[2J\u2066x", Traceback: "line 1\n\x1b[1Aline 2\n"}); err != nil {
		t.Fatal(err)
	}
	// A failure whose fingerprint another writer made up: the failure index holds what the
	// item holds.
	_, err = f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table), Item: map[string]types.AttributeValue{
		"key": &types.AttributeValueMemberS{Value: job + "____t-evil"}, "value": &types.AttributeValueMemberS{Value: job + "____06"},
		"update_time": &types.AttributeValueMemberS{Value: "2026-11-29T00:33:51.185247+0000"}, "retry": &types.AttributeValueMemberN{Value: "1"},
		"lock_time":       &types.AttributeValueMemberS{Value: "1970-01-01T00:00:00.000000+0000"},
		"errors":          &types.AttributeValueMemberS{Value: `{"error": "\u001b]0;pwned\u0007", "traceback": ""}`},
		"failure_part":    &types.AttributeValueMemberS{Value: fmt.Sprintf("%s____06____%02d", job, tracker.ShardOf("t-evil", tracker.MinFailureShards))},
		"failure_key":     &types.AttributeValueMemberS{Value: "v1:\x1b[31mevil\u202e____2026-11-29T00:33:51.185247+0000"},
		"failure_message": &types.AttributeValueMemberS{Value: "\x1b]0;pwned\x07"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rtl = "t-rtl"
	f.clock.Set(t0)
	fp := fingerprint.Compute("boom \x1b[2J\u2066x", "line 1\n\x1b[1Aline 2\n").String()
	runs = append(runs,
		c.run(t, "list", job).wantCode(t, exitOK),
		c.run(t, "show", job, red).wantCode(t, exitUsage),
		c.run(t, "show", job, rtl).wantCode(t, exitOK),
		c.run(t, "status", job).wantCode(t, exitOK),
		c.run(t, "errors", job).wantCode(t, exitOK),
		c.run(t, "list", job, "--error", "\x1b").wantCode(t, exitOK),
		c.run(t, "show", job, "--fingerprint", fp).wantCode(t, exitOK),
		c.run(t, "show", job, "--fingerprint", "v1:\x1b[31mevil").wantCode(t, exitUsage),
		c.run(t, "retry", job, rtl, "--dry-run").wantCode(t, exitOK),
		c.run(t, "retry", job, red).wantCode(t, exitUsage),
		c.run(t, "list", "job-\u2066x").wantCode(t, exitUsage),
	)
	for _, r := range runs {
		if loc := hostile.FindStringIndex(r.stdout + r.stderr); loc != nil {
			t.Errorf("trackerctl %q printed %q raw", r.args, (r.stdout + r.stderr)[loc[0]:loc[1]])
		}
	}
	var b strings.Builder
	for _, r := range runs {
		r.args = escapeArgs(r.args)
		b.WriteString(r.transcript())
	}
	checkGolden(t, "escape", b.String(), f.table, "TABLE", f.endpoint, "ENDPOINT", input, "INPUT", hostileIDs, "HOSTILE")

	var page struct {
		JobID  string     `json:"job_id"`
		Tasks  []taskJSON `json:"tasks"`
		Cursor string     `json:"cursor"`
	}
	decodeStrict(t, c.run(t, "list", job, "-o", "json").wantCode(t, exitOK).stdout, &page)
	if len(page.Tasks) != 4 || page.Tasks[0].TaskID != red || page.Tasks[2].TaskID != rtl || page.Tasks[2].LockOwner != "exec-\x1b]0;pwned\x07" {
		t.Errorf("JSON does not carry the ids as they are: %+v", page.Tasks)
	}
	var groups struct {
		Shown []struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"shown"`
	}
	if err := json.Unmarshal([]byte(c.run(t, "errors", job, "-o", "json").wantCode(t, exitOK).stdout), &groups); err != nil ||
		len(groups.Shown) != 2 || groups.Shown[1].Fingerprint != "v1:\x1b[31mevil\u202e" {
		t.Errorf("JSON does not carry a fingerprint as it is: %+v, %v", groups, err)
	}
}

// escapeArgs escapes the arguments of a run for its transcript.
func escapeArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = escape(a)
	}
	return out
}

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	invalid := writeFile(t, "tasks.jsonl", "{\"task_id\":\"t-1\"}\n{\"task_id\":\"\"}\n[1]\n")
	tests := []struct {
		name       string
		args       []string
		stdin      string // with a terminal on stdin when set
		code       int
		kind, msg  string
		wantStdout bool // the command's JSON report comes first on stdout
	}{
		{name: "a bad flag value is a usage error", args: []string{"list", job, "--limit", "0", "-o", "json"},
			code: exitUsage, kind: "usage", msg: "--limit 0: want 1..1000"},
		{name: "an unknown flag before --output json is still reported in JSON", args: []string{"status", job, "--wach", "-o", "json"},
			code: exitUsage, kind: "usage", msg: "unknown flag --wach (see trackerctl status --help)"},
		{name: "an unknown command is a usage error", args: []string{"-o", "json", "stats", job},
			code: exitUsage, kind: "usage", msg: `unknown command "stats" (see trackerctl help)`},
		{name: "an unknown job is not found", args: []string{"status", "no-such-job", "--output=json"},
			code: exitError, kind: "not_found", msg: fmt.Sprintf(`job "no-such-job" has no tasks in table %q (check the job id, or enqueue its tasks first)`, f.table)},
		{name: "an unknown task is not found", args: []string{"show", job, "t-99", "-o", "json"},
			code: exitError, kind: "not_found", msg: fmt.Sprintf(`job "parse-json" has no task "t-99" in table %q`, f.table)},
		{name: "a refused change follows its report", args: []string{"retry", job, "t-07", "-o", "json"},
			code: exitError, kind: "refused", msg: "1 of 1 task not retried", wantStdout: true},
		{name: "a declined confirmation is aborted", args: []string{"ignore", job, "t-01", "t-02", "-o", "json"}, stdin: "n\n",
			code: exitError, kind: "aborted", msg: "aborted: nothing was changed"},
		{name: "several invalid lines are one JSON error after the summary", args: []string{"enqueue", job, invalid, "-o", "json"},
			code: exitError, kind: "invalid_input", wantStdout: true,
			msg: "2 of 3 lines of " + invalid + " are invalid; nothing was written (fix them, or pass --skip-invalid to write the 1 valid task)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := f.cli()
			c.stdin, c.stdinTTY = tc.stdin, tc.stdin != ""
			r := c.run(t, tc.args...).wantCode(t, tc.code)
			if tc.stdin != "" {
				prompt := "Ignore 2 tasks of job parse-json? [y/N] "
				if !strings.HasPrefix(r.stderr, prompt) {
					t.Fatalf("stderr %q does not start with the question", r.stderr)
				}
				r.stderr = strings.TrimPrefix(r.stderr, prompt)
			}
			r.wantJSONError(t, tc.kind, tc.msg)
			if tc.wantStdout != (r.stdout != "") || (r.stdout != "" && !json.Valid([]byte(r.stdout))) {
				t.Errorf("stdout = %q, want a JSON report: %v", r.stdout, tc.wantStdout)
			}
			if got := f.statuses(t, job); !reflect.DeepEqual(got, seeded) {
				t.Errorf("statuses after = %v, want the seed's", got)
			}
		})
	}
	t.Run("a missing table is named", func(t *testing.T) {
		t.Parallel()
		g := newFixture(t, false)
		g.cli().run(t, "list", job, "-o", "json").wantCode(t, exitError).wantJSONError(t, "table_not_found",
			fmt.Sprintf("table %q does not exist at %s (create it with 'trackerctl create-table' on DynamoDB Local, or deploy the stack on AWS)", g.table, g.endpoint))
	})
	t.Run("an unreachable endpoint is named", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		c.env[envEndpoint] = closedPort(t)
		r := c.run(t, "status", job, "-o", "json").wantCode(t, exitError)
		r.wantJSONError(t, "unreachable", "")
		if !strings.Contains(r.stderr, "cannot reach DynamoDB at "+c.env[envEndpoint]) {
			t.Errorf("stderr = %s", r.stderr)
		}
	})
}

// seedErrors adds to the seed tasks whose last errors differ: t-09 failed on a full disk
// (an error longer than the list's column), t-10 ignored after a timeout, t-11 succeeded
// after a timeout, t-12 failed with a message over two lines. With the seed's t-06 (failed,
// "WorkerError: timeout after 30s"), "timeout" is in the last error of t-06, t-10 and t-11.
func (f *fixture) seedErrors(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	fail := func(id, msg string) tracker.Lease {
		t.Helper()
		if _, err := f.tr.CreateTask(ctx, job, id, nil); err != nil {
			t.Fatal(err)
		}
		l, err := f.tr.Claim(ctx, job, id, "exec-c")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tr.Fail(ctx, *l, tracker.Failure{Error: msg}); err != nil {
			t.Fatal(err)
		}
		return *l
	}
	f.clock.Set(t0.Add(-15 * time.Minute))
	fail("t-09", "OSError: [Errno 28] No space left on device: '/tmp/work/output/part-00017.parquet'")
	fail("t-10", "WorkerError: timeout after 60s")
	if _, err := f.tr.Ignore(ctx, job, "t-10"); err != nil {
		t.Fatal(err)
	}
	fail("t-11", "WorkerError: timeout after 10s")
	f.clock.Set(t0.Add(-15*time.Minute + f.tr.BackoffAfter(1))) // t-11 waits out its backoff
	l, err := f.tr.Claim(ctx, job, "t-11", "exec-d")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.tr.Complete(ctx, *l, nil); err != nil {
		t.Fatal(err)
	}
	fail("t-12", "ValueError: bad record\n  at line 7")
	f.clock.Set(t0)
}

// seededErrors are the statuses after seed and seedErrors.
func seededErrors() map[string]string {
	want := map[string]string{"t-09": "failed", "t-10": "ignored", "t-11": "succeeded", "t-12": "failed"}
	for id, s := range seeded {
		want[id] = s
	}
	return want
}

// countingProxy forwards to endpoint and counts the DynamoDB operations it passes on, by
// name (GetItem, Query).
type countingProxy struct {
	mu  sync.Mutex
	ops map[string]int
}

func newCountingProxy(t *testing.T, endpoint string) (*countingProxy, string) {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ops: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		p.mu.Lock()
		p.ops[op]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *countingProxy) count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops[op]
}

func TestListErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	f.seedErrors(t)
	t.Run("text shows the last error, cut to the column, and filters on it", func(t *testing.T) {
		t.Parallel()
		c := f.cli()
		f.golden(t, "list-errors",
			c.run(t, "list", job).wantCode(t, exitOK),
			c.run(t, "list", job, "--error", "timeout").wantCode(t, exitOK),
			c.run(t, "list", job, "--error", "timeout", "--status", "failed,ignored").wantCode(t, exitOK),
			c.run(t, "list", job, "--error", "timeout", "--limit", "3").wantCode(t, exitOK),
			c.run(t, "list", job, "--error", "timeout", "--limit", "3", "--all").wantCode(t, exitOK),
			c.run(t, "list", job, "--error", "Timeout").wantCode(t, exitOK),
		)
	})
	t.Run("JSON carries the whole message", func(t *testing.T) {
		t.Parallel()
		var page struct {
			JobID  string     `json:"job_id"`
			Tasks  []taskJSON `json:"tasks"`
			Cursor string     `json:"cursor"`
		}
		decodeStrict(t, f.cli().run(t, "list", job, "--error", "Errno", "-o", "json").wantCode(t, exitOK).stdout, &page, "tasks[].last_error")
		want := "OSError: [Errno 28] No space left on device: '/tmp/work/output/part-00017.parquet'"
		if len(page.Tasks) != 1 || page.Tasks[0].TaskID != "t-09" || page.Tasks[0].LastError == nil || *page.Tasks[0].LastError != want || page.Cursor != "" {
			t.Errorf("page = %+v", page)
		}
	})
	t.Run("only failed and ignored tasks that were claimed are read", func(t *testing.T) {
		t.Parallel()
		proxy, endpoint := newCountingProxy(t, f.endpoint)
		c := f.cli()
		c.env[envEndpoint] = endpoint
		r := c.run(t, "list", job).wantCode(t, exitOK)
		// t-06, t-09, t-10 and t-12 are failed or ignored, and were claimed; t-08 was ignored
		// and never claimed; the others hold no current error. The job's registry item is read
		// once too (its shards).
		if got := proxy.count("GetItem"); got != 4+1 {
			t.Errorf("list read %d items with GetItem, want 5 (the failed and ignored tasks claimed, the job's registry item)", got)
		}
		if n := strings.Count(r.stdout, "\nt-"); n != 12 {
			t.Errorf("listed %d tasks, want 12", n)
		}
		proxy, endpoint = newCountingProxy(t, f.endpoint)
		c.env[envEndpoint] = endpoint
		c.run(t, "list", job, "--status", "todo").wantCode(t, exitOK)
		if got := proxy.count("GetItem"); got != 1 {
			t.Errorf("listing never-claimed tasks read %d items, want the job's registry item alone", got)
		}
		proxy, endpoint = newCountingProxy(t, f.endpoint)
		c.env[envEndpoint] = endpoint
		c.run(t, "list", job, "--error", "timeout", "--all").wantCode(t, exitOK)
		if got := proxy.count("GetItem"); got != 1 {
			t.Errorf("a listing by error text read %d items, want the job's registry item alone: the failure index holds the messages", got)
		}
	})
}

func TestRetryAndIgnoreByError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stdin  string // with a terminal on stdin when set
		code   int
		golden string
		after  map[string]string // statuses that changed from seed and seedErrors
	}{
		{name: "a dry run lists the failed and ignored tasks whose error matches", args: []string{"retry", job, "--error", "timeout", "--dry-run"},
			golden: "retry-error-dry-run"},
		{name: "retry by error asks before changing several tasks", args: []string{"retry", job, "--error", "timeout"}, stdin: "y\n",
			golden: "retry-error-confirmed", after: map[string]string{"t-06": "todo", "t-10": "todo"}},
		{name: "retry by error without a terminal needs --yes", args: []string{"retry", job, "--error", "timeout"},
			code: exitUsage, golden: "retry-error-no-yes"},
		{name: "--status narrows the selection", args: []string{"retry", job, "--error", "timeout", "--status", "ignored", "--yes"},
			golden: "retry-error-status", after: map[string]string{"t-10": "todo"}},
		{name: "ignore by error", args: []string{"ignore", job, "--error", "No space left"},
			golden: "ignore-error", after: map[string]string{"t-09": "ignored"}},
		{name: "declining changes nothing", args: []string{"ignore", job, "--error", "Error"}, stdin: "n\n",
			code: exitError, golden: "ignore-error-declined"},
		{name: "no match is nothing to do", args: []string{"retry", job, "--error", "no such error", "--yes"},
			golden: "retry-error-none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			f.seed(t)
			f.seedErrors(t)
			c := f.cli()
			c.stdin, c.stdinTTY = tc.stdin, tc.stdin != ""
			r := c.run(t, tc.args...).wantCode(t, tc.code)
			f.golden(t, tc.golden, r)
			want := seededErrors()
			for id, s := range tc.after {
				want[id] = s
			}
			if got := f.statuses(t, job); !reflect.DeepEqual(got, want) {
				t.Errorf("statuses after = %v, want %v", got, want)
			}
		})
	}
	t.Run("JSON lists what changed", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.seed(t)
		f.seedErrors(t)
		var rep bulkJSON
		decodeStrict(t, f.cli().run(t, "ignore", job, "--error", "Error", "--yes", "-o", "json").wantCode(t, exitOK).stdout, &rep,
			"job_id", "action", "dry_run", "selected", "id", "progress.listed", "progress.changed", "progress.refused", "progress.done")
		want := tracker.Selection{ErrorContains: "Error", Statuses: []tracker.Status{tracker.Failed}}
		if rep.Action != "ignore" || rep.DryRun || *rep.Selected != 3 || rep.ID != "ignore-20261129-004351-185247" || rep.Progress.Changed != 3 ||
			rep.Progress.Refused != 0 || !rep.Progress.Done || !reflect.DeepEqual(rep.Progress.Select, want) {
			t.Errorf("report = %+v", rep)
		}
		if got := f.statuses(t, job); got["t-06"] != "ignored" || got["t-09"] != "ignored" || got["t-12"] != "ignored" {
			t.Errorf("statuses after = %v", got)
		}
	})
	t.Run("task ids and --error exclude each other", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, true)
		f.cli().run(t, "retry", job, "t-06", "--error", "timeout").wantCode(t, exitUsage).
			wantOneLineError(t, "give task ids or a selection (--fingerprint, --error, --status), not both")
	})
}

func TestJobs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	c := f.cli()
	f.golden(t, "jobs-empty", c.run(t, "jobs").wantCode(t, exitOK))
	ctx := context.Background()
	for i, job := range []string{"resize", "parse-json", "copy"} {
		f.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		if _, err := f.tr.CreateTasks(ctx, job, []tracker.NewTask{{ID: "t-1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.tr.AcquireRun(ctx, "parse-json", "arn:aws:states:us-east-1:123456789012:execution:tracker:run-1"); err != nil {
		t.Fatal(err)
	}
	f.golden(t, "jobs", c.run(t, "jobs").wantCode(t, exitOK), c.run(t, "jobs", "-o", "json").wantCode(t, exitOK))
}

// TestShardedJob: enqueue --shards creates a sharded job; status, list and retry see every
// task of it, whichever shard holds it; --shards on a job laid out otherwise writes nothing.
func TestShardedJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, true)
	c := f.cli()
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "{\"task_id\":\"t-%02d\"}\n", i)
	}
	input := writeFile(t, "tasks.jsonl", in.String())
	c.run(t, "enqueue", "sharded", input, "--shards", "4").wantCode(t, exitOK)
	j, err := f.tr.Job(ctx, "sharded")
	if err != nil || j.Shards != 4 {
		t.Fatalf("job = %+v, %v; want 4 shards", j, err)
	}
	// Fail ten tasks, so that retry has a group spread over the shards.
	for i := range 10 {
		lease, err := f.tr.Claim(ctx, "sharded", fmt.Sprintf("t-%02d", i), "w")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tr.Fail(ctx, *lease, tracker.Failure{Error: "boom"}); err != nil {
			t.Fatal(err)
		}
	}
	var st struct {
		Total  int            `json:"total"`
		Counts map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(c.run(t, "status", "sharded", "-o", "json").wantCode(t, exitOK).stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Total != 40 || st.Counts["todo"] != 30 || st.Counts["failed"] != 10 {
		t.Errorf("status = %+v, want 30 todo and 10 failed of 40", st)
	}
	var list struct {
		Tasks []struct {
			TaskID string `json:"task_id"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(c.run(t, "list", "sharded", "--status", "failed", "--all", "-o", "json").wantCode(t, exitOK).stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tasks) != 10 {
		t.Errorf("list --status failed found %d tasks, want 10", len(list.Tasks))
	}
	c.run(t, "retry", "sharded", "--status", "failed", "--yes").wantCode(t, exitOK)
	if counts, err := f.tr.Count(ctx, "sharded"); err != nil || counts[tracker.Todo] != 40 {
		t.Errorf("after retry: %v, %v; want 40 todo", counts, err)
	}
	// A job of the seed's layout keeps it: --shards is refused and writes nothing.
	if _, err := f.tr.CreateTasks(ctx, "plain", []tracker.NewTask{{ID: "t-00"}}); err != nil {
		t.Fatal(err)
	}
	c.run(t, "enqueue", "plain", input, "--shards", "4").wantCode(t, exitError).
		wantOneLineError(t, "job plain exists with other shards than 4, and a job's shards never change; nothing was written (leave out --shards to add tasks to it)")
	if got := f.statuses(t, "plain"); len(got) != 1 {
		t.Errorf("plain has %d tasks, want its one", len(got))
	}
	c.run(t, "enqueue", "plain", input, "--shards", "1").wantCode(t, exitUsage)
}

// seedGroup fails tasks t-20..t-24 of job the same way (the Python worker's NoText, another
// task id in each message), the last two until they are ignored.
func (f *fixture) seedGroup(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	tb := "Traceback (most recent call last):\n  File \"/var/task/handler.py\", line 17, in handler\n    raise NoText(f\"task {event['task_id']} has no text\")\n"
	for i := 20; i <= 24; i++ {
		id := fmt.Sprintf("t-%02d", i)
		f.clock.Set(t0.Add(-time.Duration(30-i) * time.Minute))
		if _, err := f.tr.CreateTask(ctx, job, id, nil); err != nil {
			t.Fatal(err)
		}
		for attempt := 0; attempt == 0 || (i >= 23 && attempt < tracker.DefaultMaxRetry); attempt++ {
			f.clock.Advance(time.Minute)
			l, err := f.tr.Claim(ctx, job, id, "exec-e")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.tr.Fail(ctx, *l, tracker.Failure{Error: "NoText: task " + id + " has no text", Traceback: tb}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.clock.Set(t0)
	return fingerprint.Compute("NoText: task t-20 has no text", tb).String()
}

// TestErrorsAndGroups: errors lists the ways the job fails, largest first; a group's tasks
// are listed, its sample shown, and it is retried as a bulk action (here, against DynamoDB
// Local, in this process), which can be read back by its id.
func TestErrorsAndGroups(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.seed(t)
	f.seedErrors(t)
	fp := f.seedGroup(t)
	c := f.cli()
	f.golden(t, "errors",
		c.run(t, "errors", job).wantCode(t, exitOK),
		c.run(t, "errors", job, "--limit", "2").wantCode(t, exitOK),
		c.run(t, "list", job, "--fingerprint", fp).wantCode(t, exitOK),
		c.run(t, "list", job, "--fingerprint", fp, "--status", "ignored", "--limit", "1").wantCode(t, exitOK),
		c.run(t, "show", job, "--fingerprint", fp).wantCode(t, exitOK),
		c.run(t, "retry", job, "--fingerprint", fp, "--dry-run").wantCode(t, exitOK),
		c.run(t, "retry", job, "--fingerprint", fp, "--yes").wantCode(t, exitOK),
		c.run(t, "retry", job, "--resume", "retry-20261129-004351-185247", "--dry-run").wantCode(t, exitOK),
		c.run(t, "errors", job, "--limit", "2").wantCode(t, exitOK),
		c.run(t, "show", job, "--fingerprint", fp).wantCode(t, exitError),
	)
	want := seededErrors()
	for i := 20; i <= 24; i++ {
		want[fmt.Sprintf("t-%02d", i)] = "todo"
	}
	if got := f.statuses(t, job); !reflect.DeepEqual(got, want) {
		t.Errorf("statuses after = %v, want %v", got, want)
	}
	var rep struct {
		JobID   string `json:"job_id"`
		Tasks   int    `json:"tasks"`
		Failed  int    `json:"failed"`
		Ignored int    `json:"ignored"`
		Groups  int    `json:"groups"`
		Shown   []struct {
			Fingerprint string    `json:"fingerprint"`
			Tasks       int       `json:"tasks"`
			Failed      int       `json:"failed"`
			Ignored     int       `json:"ignored"`
			FirstSeen   time.Time `json:"first_seen"`
			LastSeen    time.Time `json:"last_seen"`
			Sample      *struct {
				TaskID    string   `json:"task_id"`
				Error     string   `json:"error"`
				Traceback string   `json:"traceback"`
				Type      string   `json:"type"`
				Message   string   `json:"message"`
				Frames    []string `json:"frames"`
			} `json:"sample"`
		} `json:"shown"`
		Time time.Time `json:"time"`
	}
	decodeStrict(t, c.run(t, "errors", job, "-o", "json").wantCode(t, exitOK).stdout, &rep, "job_id", "tasks", "groups", "shown", "shown[].sample")
	if rep.Tasks != 4 || rep.Groups != 4 || rep.Failed != 3 || rep.Ignored != 1 || rep.Shown[0].Sample.Type != "ValueError" || rep.Shown[0].Sample.TaskID != "t-12" {
		t.Errorf("errors JSON after the retry = %+v", rep)
	}
	c.run(t, "errors", "no-such-job").wantCode(t, exitError).wantOneLineError(t, `job "no-such-job" has no tasks`)
}
