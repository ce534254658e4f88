package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// TestListWriter: the document written a task at a time is, byte for byte, the one
// printJSON writes for the whole page, empty or not, with or without a cursor.
func TestListWriter(t *testing.T) {
	t.Parallel()
	msg := "IOError: <a & b> \"quoted\"\nsecond line é"
	created := t0.Add(-time.Hour)
	tasks := []listTask{
		{taskView: taskView{JobID: "j", TaskID: "t-1", Status: "todo", UpdateTime: t0}},
		{taskView: taskView{JobID: "j", TaskID: "t-<2>", Status: "failed", Code: 6, Retry: 1, Attempts: 1, CreateTime: &created, UpdateTime: t0, LockOwner: "exec-1",
			Lease: &leaseView{Token: "tok", Taken: t0, Expires: t0.Add(time.Minute), Live: true}},
			LastError: &msg, Failure: &tracker.TaskFailure{Fingerprint: "v1:0123456789ab", Time: t0, Message: msg}},
		{taskView: taskView{JobID: "j", TaskID: "t-3", Status: "ignored", Code: 10, UpdateTime: t0}},
	}
	for _, n := range []int{0, 1, 3} {
		for _, cursor := range []string{"", "cGFyc2UtanNvbl9fX190LTAy"} {
			t.Run(fmt.Sprintf("%d tasks, cursor %q", n, cursor), func(t *testing.T) {
				var want, got bytes.Buffer
				if err := printJSON(&want, listPage{JobID: "j<&>", Tasks: append([]listTask{}, tasks[:n]...), Cursor: cursor}); err != nil {
					t.Fatal(err)
				}
				w := newListWriter(&got, "j<&>")
				for _, task := range tasks[:n] {
					if err := w.task(task); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.end(cursor); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Errorf("streamed:\n%s\nwant, as printJSON writes it:\n%s", got.String(), want.String())
				}
			})
		}
	}
}

// failQuery fails each Query after the first n, before it is sent, with err; and, once part
// is set, each Query of the failure index's partition part.
type failQuery struct {
	n, sent atomic.Int64
	part    atomic.Pointer[string]
	err     error
}

// queries reports whether f fails q, counting it.
func (f *failQuery) fails(q *dynamodb.QueryInput) bool {
	if f.sent.Add(1) > f.n.Load() {
		return true
	}
	part := f.part.Load()
	if part == nil {
		return false
	}
	for _, v := range q.ExpressionAttributeValues {
		if s, ok := v.(*types.AttributeValueMemberS); ok && s.Value == *part {
			return true
		}
	}
	return false
}

func (f *failQuery) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("fail-query", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if q, ok := in.Parameters.(*dynamodb.QueryInput); ok && f.fails(q) {
				return middleware.InitializeOutput{}, middleware.Metadata{}, f.err
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	})
}

// streamJob is a table holding job "stream" of 10 todo tasks (t-00 to t-09), a tracker on
// it whose client fails the Queries past fail.n (none until it is set), and the CLI's
// environment on the table.
func streamJob(t *testing.T) (*tracker.Tracker, *failQuery, *cli) {
	t.Helper()
	fail := &failQuery{err: errors.New("injected: connection reset by peer")}
	fail.n.Store(1 << 40)
	db, table := trackertest.Table(t, fail.option)
	clock := trackertest.NewClock(t0)
	tr, err := tracker.New(db, tracker.Config{Table: table, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var tasks []tracker.NewTask
	for i := range 10 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%02d", i)})
	}
	if _, err := tr.CreateTasks(context.Background(), "stream", tasks); err != nil {
		t.Fatal(err)
	}
	o := db.Options()
	creds, err := o.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := &cli{clock: clock, env: map[string]string{envTable: table, envEndpoint: aws.ToString(o.BaseEndpoint), envRegion: o.Region,
		"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey}}
	return tr, fail, c
}

// streamedIDs decodes list's JSON document strictly and returns its task ids and cursor.
func streamedIDs(t *testing.T, out string) ([]string, string) {
	t.Helper()
	var page struct {
		JobID  string     `json:"job_id"`
		Tasks  []taskJSON `json:"tasks"`
		Cursor string     `json:"cursor"`
	}
	decodeStrict(t, out, &page, "job_id", "tasks", "cursor")
	var ids []string
	for _, task := range page.Tasks {
		ids = append(ids, task.TaskID)
	}
	return ids, page.Cursor
}

func TestListStream(t *testing.T) {
	t.Parallel()
	want := []string{"t-00", "t-01", "t-02", "t-03", "t-04", "t-05", "t-06", "t-07", "t-08", "t-09"}
	t.Run("pages read ahead keep their order and list each task once", func(t *testing.T) {
		t.Parallel()
		_, _, c := streamJob(t)
		whole := c.run(t, "list", "stream", "--limit", "1000", "-o", "json").wantCode(t, exitOK)
		for _, limit := range []string{"1", "3", "10"} {
			paged := c.run(t, "list", "stream", "--limit", limit, "--all", "-o", "json").wantCode(t, exitOK)
			if paged.stdout != whole.stdout || paged.stderr != "" {
				t.Errorf("--all --limit %s printed:\n%s\nstderr %q; want the one page of every task:\n%s", limit, paged.stdout, paged.stderr, whole.stdout)
			}
		}
		if ids, cursor := streamedIDs(t, whole.stdout); !reflect.DeepEqual(ids, want) || cursor != "" {
			t.Errorf("listed %v, cursor %q; want %v", ids, cursor, want)
		}
	})
	t.Run("a page that fails midway closes the document with the cursor to resume from", func(t *testing.T) {
		t.Parallel()
		tr, fail, c := streamJob(t)
		fail.n.Store(2) // pages of 3: the third page's Query fails
		var stdout, stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stdout, &stderr, func(k string) string { return c.env[k] })
		a.now, a.opts.json, a.opts.table = c.clock.Now, true, c.env[envTable]
		err := a.streamList(context.Background(), tr, "stream", tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo}, Limit: 3}, true)
		if code := a.fail(err); code != exitError {
			t.Fatalf("exit %d (error %v), want %d", code, err, exitError)
		}
		r := result{args: []string{"list"}, code: exitError, stdout: stdout.String(), stderr: stderr.String()}
		r.wantJSONError(t, "error", "")
		if !strings.Contains(r.stderr, "injected: connection reset by peer") {
			t.Errorf("stderr %q does not say what failed", r.stderr)
		}
		ids, cursor := streamedIDs(t, r.stdout)
		if !reflect.DeepEqual(ids, want[:6]) || cursor == "" {
			t.Fatalf("before the error: %v, cursor %q; want %v and a cursor", ids, cursor, want[:6])
		}
		rest := c.run(t, "list", "stream", "--status", "todo", "--limit", "3", "--all", "--cursor", cursor, "-o", "json").wantCode(t, exitOK)
		if ids, cursor := streamedIDs(t, rest.stdout); !reflect.DeepEqual(ids, want[6:]) || cursor != "" {
			t.Errorf("resumed: %v, cursor %q; want %v", ids, cursor, want[6:])
		}
	})
	t.Run("a listing that fails at once prints nothing", func(t *testing.T) {
		t.Parallel()
		tr, fail, c := streamJob(t)
		fail.n.Store(0)
		var stdout, stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stdout, &stderr, func(k string) string { return c.env[k] })
		a.opts.json = true
		err := a.streamList(context.Background(), tr, "stream", tracker.ListOptions{Limit: 3}, true)
		if a.fail(err) != exitError || stdout.Len() != 0 {
			t.Errorf("error %v, stdout %q; want an error and nothing printed", err, stdout.String())
		}
		c.run(t, "list", "no-such-job", "-o", "json").wantCode(t, exitError).wantJSONError(t, "not_found", "")
		if r := c.run(t, "list", "no-such-job", "-o", "json"); r.stdout != "" {
			t.Errorf("a job with no tasks printed %q", r.stdout)
		}
	})
	t.Run("an interrupt stops the reader and ends the listing", func(t *testing.T) {
		t.Parallel()
		tr, _, _ := streamJob(t)
		a := newApp(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
		a.opts.json = true
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := a.streamList(ctx, tr, "stream", tracker.ListOptions{Limit: 1}, true); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

// failStreamJob adds to job "stream" 40 failed tasks f-00 to f-39 over two fingerprints (every
// third one's is another), a quarter of them then ignored, spread over the failure index's
// shards, and returns the fingerprint of the larger group.
func failStreamJob(t *testing.T, tr *tracker.Tracker) string {
	t.Helper()
	ctx := context.Background()
	var fp string
	for i := range 40 {
		id := fmt.Sprintf("f-%02d", i)
		if _, err := tr.CreateTask(ctx, "stream", id, nil); err != nil {
			t.Fatal(err)
		}
		l, err := tr.Claim(ctx, "stream", id, "w")
		if err != nil {
			t.Fatal(err)
		}
		f := tracker.Failure{Error: fmt.Sprintf("NoText: task %s has no text", id), Traceback: "  File \"/var/task/handler.py\", line 17, in handler\n"}
		if i%3 == 0 {
			f = tracker.Failure{Error: "KeyError: 'text'", Traceback: "  File \"/var/task/handler.py\", line 15, in handler\n"}
		}
		task, err := tr.Fail(ctx, *l, f)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			fp = task.Failure.Fingerprint
		}
		if i%4 == 1 {
			if _, err := tr.Ignore(ctx, "stream", id); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fp
}

// TestListAllByFailure: list --all by fingerprint or error text reads several partitions of
// the failure index at once and prints, byte for byte, the listing's one page; a read that
// fails midway closes the document with the cursor after the last task printed.
func TestListAllByFailure(t *testing.T) {
	t.Parallel()
	t.Run("prints the paged listing, whatever the page size", func(t *testing.T) {
		t.Parallel()
		tr, _, c := streamJob(t)
		fp := failStreamJob(t, tr)
		for _, sel := range [][]string{
			{"--fingerprint", fp}, {"--error", "has no text"}, {"--fingerprint", fp, "--status", "ignored"}, {"--error", "no such text"},
		} {
			for _, output := range [][]string{{"-o", "json"}, nil} {
				args := append(append([]string{"list", "stream"}, sel...), output...)
				whole := c.run(t, append(args, "--limit", "1000")...).wantCode(t, exitOK)
				if len(output) > 0 && len(sel) == 2 && sel[1] == fp {
					if ids, _ := streamedIDs(t, whole.stdout); len(ids) != 26 {
						t.Fatalf("%v: %d tasks, want 26", args, len(ids))
					}
				}
				for _, limit := range []string{"1", "4", "1000"} {
					all := c.run(t, append(args, "--all", "--limit", limit)...).wantCode(t, exitOK)
					if all.stdout != whole.stdout || all.stderr != whole.stderr {
						t.Errorf("%v --all --limit %s printed:\n%s\nstderr %q; want the one page:\n%s", args, limit, all.stdout, all.stderr, whole.stdout)
					}
				}
			}
		}
	})
	t.Run("a read that fails midway closes the document with the cursor after the last task", func(t *testing.T) {
		t.Parallel()
		tr, fail, c := streamJob(t)
		fp := failStreamJob(t, tr)
		whole := c.run(t, "list", "stream", "--fingerprint", fp, "--limit", "1000", "-o", "json").wantCode(t, exitOK)
		want, _ := streamedIDs(t, whole.stdout)
		// The partition of the first ignored task fails: the failed ones come before it.
		first := slices.IndexFunc(want, func(id string) bool { n, _ := strconv.Atoi(id[2:]); return n%4 == 1 })
		part := fmt.Sprintf("stream%s%02d%s%02d", tracker.Separator, tr.Codes("stream").Ignored, tracker.Separator, tracker.ShardOf(want[first], tracker.FailureShards(1)))
		fail.part.Store(&part)
		for _, limit := range []int{3, 1000} {
			var stdout, stderr bytes.Buffer
			a := newApp(strings.NewReader(""), &stdout, &stderr, func(k string) string { return c.env[k] })
			a.now, a.opts.json, a.opts.table = c.clock.Now, true, c.env[envTable]
			err := a.streamList(context.Background(), tr, "stream", tracker.ListOptions{Fingerprint: fp, Limit: limit}, true)
			if code := a.fail(err); code != exitError {
				t.Fatalf("exit %d (error %v), want %d", code, err, exitError)
			}
			ids, cursor := streamedIDs(t, stdout.String())
			if !slices.Equal(ids, want[:first]) || cursor == "" {
				t.Fatalf("pages of %d, before the error: %v, cursor %q; want %v and a cursor", limit, ids, cursor, want[:first])
			}
			rest := c.run(t, "list", "stream", "--fingerprint", fp, "--all", "--cursor", cursor, "-o", "json").wantCode(t, exitOK)
			if ids, cursor := streamedIDs(t, rest.stdout); !slices.Equal(ids, want[first:]) || cursor != "" {
				t.Errorf("resumed: %v, cursor %q; want %v", ids, cursor, want[first:])
			}
		}
	})
}
