package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// act posts an action's form (a review without confirm, the action with it).
func (r *running) act(t testing.TB, fields url.Values, confirm bool) page {
	t.Helper()
	form := url.Values{"csrf": {r.srv.csrf}}
	for k, v := range fields {
		form[k] = v
	}
	if confirm {
		form.Set("confirm", "yes")
	}
	return r.post(t, "/act", form, nil)
}

// followBulk follows a bulk action's redirect to its progress page until it says it is done.
func (r *running) followBulk(t testing.TB, p page) string {
	t.Helper()
	if p.status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the progress; body:\n%s", p.status, p.body)
	}
	loc := p.header.Get("Location")
	var body string
	waitFor(t, "the bulk action ends", 30*time.Second, func() (bool, string) {
		body = r.get(t, loc).body
		return strings.Contains(body, "<b>Done.</b>"), body
	})
	return body
}

func TestActions(t *testing.T) {
	t.Parallel()
	goFP := fp(goPanic)
	type env struct {
		f      *fixture
		c      *running
		runner *fakeRunner
	}
	tests := []struct {
		name   string
		runner bool // a fake runner, not bulk actions here
		do     func(t *testing.T, e env)
	}{
		{name: "retrying selected tasks says which were refused and why", do: func(t *testing.T, e env) {
			sel := url.Values{"job": {e.f.job}, "action": {"retry"}, "scope": {"tasks"}, "task": {"file-0019", "file-0011"}}
			wantBody(t, e.c.act(t, sel, false), 200, "Retry 2 tasks of job parse-json?",
				`<input type="hidden" name="task" value="file-0011">`, `<input type="hidden" name="task" value="file-0019">`)
			wantBody(t, e.c.act(t, sel, true), 200, "Retried 1 of 2 tasks of job parse-json.",
				`<bdi>file-0019</bdi></a>: task already succeeded`)
			wantStatuses(t, e.f, map[string]tracker.Status{"file-0011": tracker.Todo, "file-0019": tracker.Succeeded})
		}},
		{name: "ignoring a whole status runs a bulk action here", do: func(t *testing.T, e env) {
			sel := url.Values{"job": {e.f.job}, "action": {"ignore"}, "scope": {"status"}, "status": {"todo"}}
			wantBody(t, e.c.act(t, sel, false), 200, "Ignore 10 tasks (todo tasks) of job parse-json?",
				"Dry run: 10 tasks now, counted on the index; nothing was written.", `<input type="hidden" name="of" value="10">`)
			sel.Set("of", "10")
			body := e.c.followBulk(t, e.c.act(t, sel, true))
			wantContains(t, body, "Ignored 10 tasks.", `<dd id="listed">10 of 10 counted at the review</dd>`, `<dd id="refused">0</dd>`)
			wantCounts(t, e.f, map[tracker.Status]int{tracker.InProgress: 1, tracker.Failed: 4, tracker.Succeeded: 6, tracker.Ignored: 13})
		}},
		{name: "retrying an error group runs a bulk action here", do: func(t *testing.T, e env) {
			sel := url.Values{"job": {e.f.job}, "action": {"retry"}, "scope": {"group"}, "fingerprint": {goFP}}
			wantBody(t, e.c.act(t, sel, false), 200, "Retry 4 tasks (failed and ignored tasks with fingerprint "+goFP+") of job parse-json?")
			body := e.c.followBulk(t, e.c.act(t, sel, true))
			wantContains(t, body, "Retried 4 tasks.")
			wantCounts(t, e.f, map[tracker.Status]int{tracker.Todo: 14, tracker.InProgress: 1, tracker.Succeeded: 6, tracker.Ignored: 3})
			groups, err := e.f.tr.Groups(context.Background(), e.f.job, tracker.GroupOptions{})
			if err != nil || len(groups) != 1 || groups[0].Fingerprint != fp(pyError) {
				t.Errorf("groups after = %+v, %v; want the Python group alone", groups, err)
			}
		}},
		{name: "a group's bulk action goes to the runner when there is one", runner: true, do: func(t *testing.T, e env) {
			sel := url.Values{"job": {e.f.job}, "action": {"retry"}, "scope": {"group"}, "fingerprint": {goFP}}
			p := e.c.act(t, sel, true)
			if p.status != http.StatusSeeOther || len(e.runner.bulks) != 1 {
				t.Fatalf("status %d, bulks started %d; want 303 and 1", p.status, len(e.runner.bulks))
			}
			b := e.runner.bulks[0]
			if b.JobID != e.f.job || b.Action != tracker.BulkRetry || b.Select.Fingerprint != goFP {
				t.Errorf("bulk started = %+v", b)
			}
			wantBody(t, e.c.get(t, p.header.Get("Location")), 200, "Starting: the action records its progress after its first step.")
		}},
		{name: "a run without a state machine says so", do: func(t *testing.T, e env) {
			wantBody(t, e.c.act(t, url.Values{"job": {e.f.job}, "action": {"run"}}, false), 200,
				"No state machine is configured: start the console with --state-machine-arn")
		}},
		{name: "a run starts on the runner and says what runs it", runner: true, do: func(t *testing.T, e env) {
			sel := url.Values{"job": {e.f.job}, "action": {"run"}}
			wantBody(t, e.c.act(t, sel, false), 200, "Start a run of job parse-json?", "15 tasks pending (todo, in progress or failed)")
			wantBody(t, e.c.act(t, sel, true), 200, "Started a run of job parse-json.",
				"It runs as arn:aws:states:us-east-1:123456789012:execution:tracker:run-1.")
			if len(e.runner.runs) != 1 || e.runner.runs[0] != e.f.job {
				t.Errorf("runs started = %q, want [parse-json]", e.runner.runs)
			}
		}},
		{name: "a run of a job another run holds is refused at the review", runner: true, do: func(t *testing.T, e env) {
			if _, err := e.f.tr.AcquireRun(context.Background(), e.f.job, "arn:other-run"); err != nil {
				t.Fatal(err)
			}
			wantBody(t, e.c.act(t, url.Values{"job": {e.f.job}, "action": {"run"}}, false), 200,
				"A run holds job parse-json until", "(arn:other-run): a new run would start nothing.")
		}},
		{name: "an empty selection has nothing to confirm", do: func(t *testing.T, e env) {
			p := e.c.act(t, url.Values{"job": {e.f.job}, "action": {"retry"}, "scope": {"group"}, "fingerprint": {"v1:000000000000"}}, false)
			wantBody(t, p, 200, "Job parse-json has no failed and ignored tasks with fingerprint v1:000000000000: nothing to retry.")
			if strings.Contains(p.body, `name="confirm"`) {
				t.Error("an empty selection offers a confirmation")
			}
		}},
		{name: "a selection an action cannot take is refused", do: func(t *testing.T, e env) {
			wantBody(t, e.c.act(t, url.Values{"job": {e.f.job}, "action": {"retry"}, "scope": {"status"}, "status": {"todo"}}, false), 400,
				"this selection cannot be retried")
		}},
		{name: "jobs written by other code are registered on request", do: func(t *testing.T, e env) {
			_, err := e.f.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.f.tr.Config().Table),
				Item: map[string]types.AttributeValue{
					"key": &types.AttributeValueMemberS{Value: "seed-job____t-1"}, "value": &types.AttributeValueMemberS{Value: "seed-job____00"},
					"update_time": &types.AttributeValueMemberS{Value: "2026-11-29T00:43:51.185247+0000"}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := attrs(e.c.get(t, "/").body, "data-job"); len(got) != 1 {
				t.Fatalf("jobs before = %q, want parse-json alone", got)
			}
			wantBody(t, e.c.act(t, url.Values{"action": {"register"}}, false), 200, "Register the jobs that have tasks but no registry item?")
			wantBody(t, e.c.act(t, url.Values{"action": {"register"}}, true), 200,
				"Registered 1 job that had tasks and no registry item.", "Registered: seed-job.")
			if got := attrs(e.c.get(t, "/").body, "data-job"); strings.Join(got, " ") != "parse-json seed-job" {
				t.Errorf("jobs after = %q, want parse-json and seed-job", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := env{f: newFixture(t)}
			cfg := Config{Tracker: e.f.tr, AllowWrites: true, BulkHere: true, Wait: testWait}
			if tc.runner {
				e.runner = &fakeRunner{}
				cfg.Runner = e.runner
			}
			e.c = serve(t, cfg)
			tc.do(t, e)
		})
	}
}

func wantBody(t *testing.T, p page, status int, contains ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.status, status, p.body)
	}
	wantContains(t, p.body, contains...)
}

func wantContains(t *testing.T, body string, contains ...string) {
	t.Helper()
	for _, want := range contains {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q; body:\n%s", want, body)
		}
	}
}

// wantStatuses checks the statuses of the tasks named.
func wantStatuses(t *testing.T, f *fixture, want map[string]tracker.Status) {
	t.Helper()
	got := f.statuses(t)
	for id, st := range want {
		if got[id] != st {
			t.Errorf("task %s is %s, want %s", id, got[id], st)
		}
	}
}

// wantCounts checks the job's counts in the table (statuses not named: 0).
func wantCounts(t *testing.T, f *fixture, want map[tracker.Status]int) {
	t.Helper()
	got, err := f.tr.Count(context.Background(), f.job)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tracker.Statuses() {
		if got[s] != want[s] {
			t.Errorf("%s: %d tasks, want %d (counts %v)", s, got[s], want[s], got)
		}
	}
}
