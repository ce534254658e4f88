package console

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// testWait lets a page wait for its counts as long as a loaded test machine may take, so that
// what a page shows does not depend on the machine's speed.
const testWait = 20 * time.Second

func fp(f tracker.Failure) string { return fingerprint.Compute(f.Error, f.Traceback).String() }

// attrs returns the values of the attribute name in body, in order.
func attrs(body, name string) []string {
	var out []string
	for _, m := range regexp.MustCompile(` `+name+`="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func ids(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("file-%04d", i))
	}
	return out
}

func TestPagesShowTheTable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := serve(t, Config{Tracker: f.tr, AllowWrites: true, BulkHere: true, Wait: testWait})
	goFP, pyFP := fp(goPanic), fp(pyError)
	tests := []struct {
		name, path string
		status     int
		contains   []string
		// attr and values: the values of an attribute on the page, in order.
		attr   string
		values []string
	}{
		{name: "the jobs page lists the job with its counts", path: "/", status: 200,
			contains: []string{`<td data-label="Tasks" class="num total">24</td>`, `<td data-label="Done" class="num">9</td>`,
				`<td data-label="Failed" class="num failed">4</td>`, `<td data-label="Ignored" class="num ignored">3</td>`,
				`<span class="done">37.5% done</span>`, `1 job</span>`},
			attr: "data-job", values: []string{"parse-json"}},
		{name: "a search that matches nothing says so", path: "/?q=nothing-like-it", status: 200,
			contains: []string{`No job matches “<bdi>nothing-like-it</bdi>”.`}},
		{name: "the job page shows each status's count", path: "/job?job=parse-json", status: 200,
			contains: []string{`<a href="/tasks?job=parse-json&amp;status=todo">todo</a> <b class="n">10</b>`,
				`<a href="/tasks?job=parse-json&amp;status=in_progress">in progress</a> <b class="n">1</b>`,
				`<a href="/tasks?job=parse-json&amp;status=failed">failed</a> <b class="n">4</b>`,
				`<a href="/tasks?job=parse-json&amp;status=succeeded">succeeded</a> <b class="n">6</b>`,
				`<a href="/tasks?job=parse-json&amp;status=ignored">ignored</a> <b class="n">3</b>`,
				`<b class="total">24</b> tasks, <b>37.5%</b> done`},
			attr: "data-fingerprint", values: []string{goFP, pyFP}},
		{name: "the job page shows each group's sample error", path: "/job?job=parse-json", status: 200,
			contains: []string{html.EscapeString(goPanic.Error), html.EscapeString(pyError.Error)}},
		{name: "a status's tasks, by id", path: "/tasks?job=parse-json&status=failed", status: 200,
			attr: "data-task", values: ids(11, 15)},
		{name: "a group's tasks", path: "/tasks?" + url.Values{"job": {"parse-json"}, "fingerprint": {pyFP}}.Encode(), status: 200,
			attr: "data-task", values: ids(15, 18)},
		{name: "every task, a page of them", path: "/tasks?job=parse-json", status: 200,
			attr: "data-task", values: ids(0, 24)},
		{name: "a task whole: its error and traceback", path: "/task?job=parse-json&task=file-0015", status: 200,
			contains: []string{`<pre class="text error-text" id="error">` + html.EscapeString(pyError.Error) + `</pre>`,
				`<pre class="text scroll" id="traceback">` + html.EscapeString(pyError.Traceback) + `</pre>`,
				`<b class="status">ignored</b>`, `<pre class="text scroll json" id="data">{
  &#34;path&#34;: &#34;s3://bucket/in/0015.json&#34;
}</pre>`}},
		{name: "a running task's lease", path: "/task?job=parse-json&task=file-0010", status: 200,
			contains: []string{`<b class="status">in progress</b>`, `<dd><bdi>worker-1</bdi></dd>`, `<span class="live">● live</span>`}},
		{name: "a task as JSON", path: "/task.json?job=parse-json&task=file-0019", status: 200,
			contains: []string{`"task_id": "file-0019"`, `"n_records": 100`}},
		{name: "an unknown task is not found", path: "/task?job=parse-json&task=nope", status: 404,
			contains: []string{"Job parse-json has no task nope."}},
		{name: "an unknown job is not found", path: "/job?job=no-such-job", status: 404,
			contains: []string{"Job no-such-job is not registered and has no task."}},
		{name: "a job id is required", path: "/job", status: 400, contains: []string{"Not a job id"}},
		{name: "an unknown status is refused", path: "/tasks?job=parse-json&status=bogus", status: 400, contains: []string{"Not a status: bogus"}},
		{name: "a bad fingerprint is refused", path: "/tasks?job=parse-json&fingerprint=v9:zz", status: 400, contains: []string{"This listing cannot be made"}},
		{name: "an unknown page", path: "/nope", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := c.get(t, tc.path)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d; body:\n%s", p.status, tc.status, p.body)
			}
			for _, want := range tc.contains {
				if !strings.Contains(p.body, want) {
					t.Errorf("page lacks %q; body:\n%s", want, p.body)
				}
			}
			if tc.attr != "" {
				if got := attrs(p.body, tc.attr); !slices.Equal(got, tc.values) {
					t.Errorf("%s = %q, want %q", tc.attr, got, tc.values)
				}
			}
		})
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := serve(t, Config{Tracker: f.tr, Wait: testWait})
	for _, path := range []string{"/", "/job?job=parse-json", "/task?job=parse-json&task=nope", "/static/" + "console.css"} {
		p := c.get(t, path)
		for k, want := range map[string]string{
			"Content-Security-Policy": contentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := p.header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

// statuses reads every task's status.
func (f *fixture) statuses(t *testing.T) map[string]tracker.Status {
	t.Helper()
	out := map[string]tracker.Status{}
	page, err := f.tr.List(context.Background(), f.job, tracker.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range page.Tasks {
		out[task.TaskID] = task.Status
	}
	return out
}

func TestWritesAreProtected(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := f.statuses(t)
	writable := serve(t, Config{Tracker: f.tr, AllowWrites: true, BulkHere: true, Wait: testWait})
	readOnly := serve(t, Config{Tracker: f.tr, BulkHere: true, Wait: testWait})
	// A confirmed retry of a failed task: it would change the table if it got through.
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "job": {f.job}, "action": {"retry"}, "scope": {"tasks"}, "task": {"file-0011"}, "confirm": {"yes"}}
	}
	tests := []struct {
		name    string
		c       *running
		form    url.Values
		header  map[string]string
		status  int
		message string
	}{
		{name: "a read-only console refuses every write", c: readOnly, form: form(readOnly.srv.csrf), status: 403,
			message: "This console is read-only: start it with --allow-writes to retry, ignore or run tasks."},
		{name: "a form without the token is refused", c: writable, form: form(""), status: 403,
			message: "Refused: the form does not carry this console&#39;s token. Reload the page and try again."},
		{name: "a form with another token is refused", c: writable, form: form(strings.Repeat("0", 64)), status: 403,
			message: "Refused: the form does not carry this console&#39;s token."},
		{name: "a request another site sends is refused", c: writable, form: form(writable.srv.csrf),
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, message: "Refused: the request comes from another site"},
		{name: "a request from another origin is refused", c: writable, form: form(writable.srv.csrf),
			header: map[string]string{"Sec-Fetch-Site": "", "Origin": "http://evil.example"}, status: 403, message: "Refused: the request comes from another site"},
		{name: "a request for another host is refused", c: writable, form: form(writable.srv.csrf),
			header: map[string]string{"Host": "evil.example"}, status: 421, message: "This console answers only at the address it listens on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.c.postHost(t, tc.form, tc.header)
			if p.status != tc.status || !strings.Contains(p.body, tc.message) {
				t.Errorf("status %d, want %d with %q; body:\n%s", p.status, tc.status, tc.message, p.body)
			}
		})
	}
	t.Run("a write is a POST", func(t *testing.T) {
		if p := writable.get(t, "/act?"+form(writable.srv.csrf).Encode()); p.status != http.StatusMethodNotAllowed {
			t.Errorf("GET /act: status %d, want 405", p.status)
		}
	})
	t.Run("a read-only console shows no action", func(t *testing.T) {
		p := readOnly.get(t, "/job?job=parse-json")
		if strings.Contains(p.body, `action="/act"`) || !strings.Contains(p.body, `<span class="mode readonly">read-only</span>`) {
			t.Errorf("a read-only page offers an action, or does not say it is read-only:\n%s", p.body)
		}
	})
	if after := f.statuses(t); !maps.Equal(after, before) {
		t.Errorf("statuses changed by refused requests: %v, were %v", after, before)
	}
	t.Run("this console's own form gets through", func(t *testing.T) {
		p := writable.postHost(t, form(writable.srv.csrf), nil)
		if want := "Retried 1 of 1 task of job parse-json."; p.status != 200 || !strings.Contains(p.body, want) {
			t.Errorf("status %d, want 200 with %q; body:\n%s", p.status, want, p.body)
		}
	})
}

// postHost is post to /act, with a Host header when header names one.
func (r *running) postHost(t testing.TB, form url.Values, header map[string]string) page {
	t.Helper()
	if host, ok := header["Host"]; ok {
		req, err := http.NewRequest(http.MethodPost, r.base+"/act", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return readPage(t, resp)
	}
	return r.post(t, "/act", form, header)
}

// fakeRunner records what it is asked to start.
type fakeRunner struct {
	mu    sync.Mutex
	runs  []string
	bulks []tracker.Bulk
}

func (r *fakeRunner) StartRun(_ context.Context, job string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, job)
	return "arn:aws:states:us-east-1:123456789012:execution:tracker:run-1", nil
}

func (r *fakeRunner) StartBulk(_ context.Context, b tracker.Bulk) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bulks = append(r.bulks, b)
	return "arn:aws:states:us-east-1:123456789012:execution:tracker:" + b.ID, nil
}
