package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/internal/trackertest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// The hostile job: every text the table holds is made to do harm when shown as it is: markup
// that runs script, terminal escapes, bidi overrides that make a name read as another, and
// data at the largest size a task holds.
const (
	hostileJob  = `<script>document.title="pwned"</script><img src=x onerror=alert(1)>&"'`
	hostileTask = `<b onmouseover=alert(1)>t</b>"'&amp;`
	// Ids the tracker refuses (a control character, a bidi override) but another writer (the
	// seed's code) may store: the console must show them too.
	escTask = "esc-\x1b[31mred\x1b[0m"
	rtlTask = "rtl-\u202egnp.exe"
	// evilFingerprint is a failure index entry another writer made up.
	evilFingerprint = "v1:\x1b[31mevil\u202e<script>"
)

var hostileFailure = tracker.Failure{
	Error: "<script>document.title=\"pwned\"</script> \x1b[2J\x1b[31mred \u202eevil\u2066 \x7f\u0085",
	Traceback: "Traceback (most recent call last):\n  File \"</pre><script>alert(2)</script>.py\", line 1, in <module>\n" +
		"\x1b[1A\x1b[2K\u202e" + strings.Repeat("  File \"/var/task/handler.py\", line 15, in handler\n", 400),
}

// hostileData is a task's data at its largest, holding markup, escapes and overrides.
func hostileData() json.RawMessage {
	head := `{"html": "</pre><script>document.title=\"pwned\"</script>", "esc": "\u001b[2J\u001b[31mred", "bidi": "abc\u202edcba", "blob": "`
	blob := strings.Repeat("<A>", (tracker.MaxDataBytes-len(head)-2)/3)
	return json.RawMessage(head + blob + `"}`)
}

type hostile struct {
	tr    *tracker.Tracker
	db    *dynamodb.Client
	fp    string // the hostile failure's fingerprint
	data  json.RawMessage
	table string
}

// newHostile makes the hostile job: hostileTask failed with hostileFailure and the largest
// data, escTask and rtlTask written raw as todo, and a failed task whose failure index entry
// holds evilFingerprint.
func newHostile(t *testing.T) *hostile {
	t.Helper()
	ctx := context.Background()
	tr, db := trackertest.New(t, tracker.Config{})
	h := &hostile{tr: tr, db: db, fp: fingerprint.Compute(hostileFailure.Error, hostileFailure.Traceback).String(),
		data: hostileData(), table: tr.Config().Table}
	if _, err := tr.CreateTasks(ctx, hostileJob, []tracker.NewTask{{ID: hostileTask, Data: h.data}}); err != nil {
		t.Fatal(err)
	}
	l, err := tr.Claim(ctx, hostileJob, hostileTask, "exec-\x1b]0;pwned\x07")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fail(ctx, *l, hostileFailure); err != nil {
		t.Fatal(err)
	}
	put := func(item map[string]string) {
		t.Helper()
		av := map[string]types.AttributeValue{"retry": &types.AttributeValueMemberN{Value: "1"}}
		for k, v := range item {
			av[k] = &types.AttributeValueMemberS{Value: v}
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(h.table), Item: av}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{escTask, rtlTask} {
		put(map[string]string{"key": hostileJob + "____" + id, "value": hostileJob + "____00",
			"update_time": "2026-11-29T00:33:51.185247+0000", "lock_time": "1970-01-01T00:00:00.000000+0000"})
	}
	put(map[string]string{"key": hostileJob + "____t-evil", "value": hostileJob + "____06",
		"update_time": "2026-11-29T00:33:51.185247+0000", "lock_time": "1970-01-01T00:00:00.000000+0000",
		"errors":          `{"error": "\u001b]0;pwned\u0007<script>", "traceback": ""}`,
		"failure_part":    fmt.Sprintf("%s____06____%02d", hostileJob, tracker.ShardOf("t-evil", tracker.MinFailureShards)),
		"failure_key":     evilFingerprint + "____2026-11-29T00:33:51.185247+0000",
		"failure_message": "\x1b]0;pwned\x07<script>"})
	return h
}

// markup finds, in a tag, what a page's own templates never make: any of it means a text from
// the table became markup.
var markup = regexp.MustCompile(`^<(script|img)[\s>]|\son[a-z]+=`)

// quoted are a tag's attribute values: html/template escapes every quote inside one.
var quoted = regexp.MustCompile(`"[^"]*"`)

// tags are what textOf removes: html/template escapes every < in a text and an attribute, so
// what is left between < and > is markup.
var tags = regexp.MustCompile(`<[^>]*>`)

// textOf is what a page shows as text: its markup removed, its character references resolved.
func textOf(body string) string { return html.UnescapeString(tags.ReplaceAllString(body, "")) }

// shownRaw finds what a browser would not show as itself, in text: a control character other
// than a line break or a tab, a bidi control, invalid UTF-8.
var shownRaw = regexp.MustCompile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]")

func TestHostileTextIsShownNeverRun(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	c := serve(t, Config{Tracker: h.tr, AllowWrites: true, BulkHere: true, Wait: testWait})
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name string
		get  string     // a page
		post url.Values // or an action's form
		// shows are texts the page shows, as a person reads them.
		shows []string
	}{
		{name: "the jobs page", get: "/", shows: []string{hostileJob}},
		{name: "a search for markup", get: "/?" + q("q", "<script>"), shows: []string{hostileJob, `matching “<script>”`}},
		{name: "the job page", get: "/job?" + q("job", hostileJob),
			shows: []string{"Job " + hostileJob, show(hostileFailure.Error), show(evilFingerprint), show("\x1b]0;pwned\x07<script>")}},
		{name: "every task", get: "/tasks?" + q("job", hostileJob), shows: []string{hostileTask, show(escTask), show(rtlTask)}},
		{name: "a group's tasks", get: "/tasks?" + q("job", hostileJob, "fingerprint", h.fp),
			shows: []string{hostileTask, show(hostileFailure.Error)}},
		{name: "the hostile task", get: "/task?" + q("job", hostileJob, "task", hostileTask),
			shows: []string{"Task " + hostileTask, showText(hostileFailure.Error), showText(hostileFailure.Traceback),
				show("exec-\x1b]0;pwned\x07"), "192.0 KiB", strings.Repeat("<A>", 65000)}},
		{name: "a task with an escape in its id", get: "/task?" + q("job", hostileJob, "task", escTask), shows: []string{`Task esc-\x1b[31mred\x1b[0m`}},
		{name: "a task with a bidi override in its id", get: "/task?" + q("job", hostileJob, "task", rtlTask), shows: []string{`Task rtl-\u202egnp.exe`}},
		{name: "a task that is not there", get: "/task?" + q("job", hostileJob, "task", "<script>\x1b[31m"),
			shows: []string{`has no task <script>\x1b[31m.`}},
		{name: "a group's tasks by a hostile fingerprint", get: "/tasks?" + q("job", hostileJob, "fingerprint", evilFingerprint),
			shows: []string{"This listing cannot be made"}},
		{name: "the review of a retry", post: url.Values{"job": {hostileJob}, "action": {"retry"}, "scope": {"tasks"}, "task": {hostileTask, escTask, rtlTask}},
			shows: []string{"Retry 3 tasks of job " + hostileJob + "?", show(escTask), show(rtlTask)}},
		{name: "the retry itself", post: url.Values{"job": {hostileJob}, "action": {"retry"}, "scope": {"tasks"}, "task": {hostileTask, escTask, rtlTask}, "confirm": {"yes"}},
			shows: []string{"Retried 1 of 3 tasks of job " + hostileJob + ".", "2 tasks left as they were:",
				show(escTask) + `: invalid task_id: "esc-\x1b[31mred\x1b[0m" holds U+001B`, show(rtlTask) + `: invalid task_id: "rtl-\u202egnp.exe" holds U+202E`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p page
			if tc.post != nil {
				p = c.act(t, tc.post, tc.post.Get("confirm") == "yes")
			} else {
				p = c.get(t, tc.get)
			}
			if p.status >= 500 {
				t.Fatalf("status %d:\n%s", p.status, p.body)
			}
			var got []string
			for _, tag := range tags.FindAllString(p.body, -1) {
				if markup.MatchString(quoted.ReplaceAllString(tag, `""`)) {
					got = append(got, tag)
				}
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], `<script src="/static/htmx-`) {
				t.Errorf("markup from the table's text: %q (want only the page's own <script src>)", got)
			}
			text := textOf(p.body)
			if loc := shownRaw.FindStringIndex(text); loc != nil {
				t.Errorf("text holds %q raw, near %q", text[loc[0]:loc[1]], text[max(loc[0]-40, 0):min(loc[1]+40, len(text))])
			}
			for _, want := range tc.shows {
				if !strings.Contains(text, want) {
					t.Errorf("page does not show %q; it shows:\n%s", clip(want, 200), clip(text, 3000))
				}
			}
		})
	}
}
