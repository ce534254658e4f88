package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestMain(m *testing.M) {
	code := dynamotest.Main(m)
	closeBrowser()
	os.Exit(code)
}

// Failures of the fixture job: two groups, one in Go and one in Python.
var (
	goPanic = tracker.Failure{Error: "panic: runtime error: index out of range [5] with length 3",
		Traceback: "goroutine 7 [running]:\nmain.firstWord(...)\n\t/src/app/main.go:42\nmain.main.func1({0xc0000a0000, 0x10})\n\t/src/app/main.go:30 +0x1d\n"}
	pyError = tracker.Failure{Error: "AttributeError: 'int' object has no attribute 'split'",
		Traceback: "Traceback (most recent call last):\n  File \"/var/task/handler.py\", line 15, in handler\n    words = len(event[\"data\"].get(\"text\", \"\").split())\nAttributeError: 'int' object has no attribute 'split'\n"}
)

// fixture is a job with tasks in every status: 10 todo, 1 in progress, 4 failed (the Go
// panic), 3 ignored (the Python error, permanent), 6 succeeded.
type fixture struct {
	tr  *tracker.Tracker
	db  *dynamodb.Client
	job string
	// counts are the job's tasks per status as made.
	counts map[tracker.Status]int
}

const fixtureJob = "parse-json"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	tr, db := trackertest.New(t, tracker.Config{})
	f := &fixture{tr: tr, db: db, job: fixtureJob, counts: map[tracker.Status]int{
		tracker.Todo: 10, tracker.InProgress: 1, tracker.Failed: 4, tracker.Ignored: 3, tracker.Succeeded: 6}}
	ctx := context.Background()
	var tasks []tracker.NewTask
	for i := range 24 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("file-%04d", i), Data: json.RawMessage(fmt.Sprintf(`{"path": "s3://bucket/in/%04d.json"}`, i))})
	}
	if _, err := tr.CreateTasks(ctx, f.job, tasks); err != nil {
		t.Fatal(err)
	}
	claim := func(i int) tracker.Lease {
		l, err := tr.Claim(ctx, f.job, fmt.Sprintf("file-%04d", i), "worker-1")
		if err != nil {
			t.Fatal(err)
		}
		return *l
	}
	for i := 10; i < 24; i++ {
		l := claim(i)
		var err error
		switch {
		case i == 10: // left running
		case i < 15:
			_, err = tr.Fail(ctx, l, goPanic)
		case i < 18:
			pe := pyError
			pe.Permanent = true
			_, err = tr.Fail(ctx, l, pe)
		default:
			_, err = tr.Complete(ctx, l, json.RawMessage(`{"n_records": 100}`))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// running is a console serving on a loopback port for one test.
type running struct {
	srv  *Server
	base string // http://127.0.0.1:port
}

// serve starts a console with cfg on a free loopback port until the test ends.
func serve(t testing.TB, cfg Config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return &running{srv: srv, base: strings.TrimSuffix(URL(ln.Addr()), "/")}
}

// page is an answer of the console.
type page struct {
	status int
	header http.Header
	body   string
}

// get fetches path from the console.
func (r *running) get(t testing.TB, path string) page {
	t.Helper()
	resp, err := http.Get(r.base + path)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, resp)
}

// post sends a form to the console as a browser on its own page would (Sec-Fetch-Site:
// same-origin), without following a redirect.
func (r *running) post(t testing.TB, path string, form url.Values, header map[string]string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", r.base)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, resp)
}

func readPage(t testing.TB, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %s; last: %s", what, timeout, got)
		}
		time.Sleep(20 * time.Millisecond) // a poll's interval, not a wait for an event
	}
}
