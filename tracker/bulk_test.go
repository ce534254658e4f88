package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// failGroup creates n tasks named prefix-NN and fails each with f, the first ignored ones
// failing until ignored.
func (e *env) failGroup(t testing.TB, prefix string, n, ignored int, f tracker.Failure) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%02d", prefix, i)
		e.create(t, id, "")
		for {
			task := e.failAt(t, id, f)
			if i >= ignored || task.Status == tracker.Ignored {
				break
			}
		}
		ids = append(ids, id)
	}
	return ids
}

func (e *env) statuses(t testing.TB, ids ...string) map[string]tracker.Status {
	t.Helper()
	out := map[string]tracker.Status{}
	for _, id := range ids {
		task, err := e.tr.Get(context.Background(), job, id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = task.Status
	}
	return out
}

// TestBulkRetryOfAGroup retries a group in small steps: every task of the group, once, its
// history kept; the other group untouched; the progress recorded.
func TestBulkRetryOfAGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 2})
	group := e.failGroup(t, "a", 25, 5, pyNoText[0])
	other := e.failGroup(t, "b", 4, 0, pyKeyError)
	b, err := e.tr.NewBulk(job, tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Fingerprint: fp(pyNoText[0])}, ID: "retry-a"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.tr.CountSelected(ctx, job, tracker.BulkRetry, b.Select); err != nil || n != 25 {
		t.Fatalf("a dry run counts %d, %v; want 25", n, err)
	}
	var steps []int
	done, err := e.tr.RunBulk(ctx, *b, 7, func(p tracker.Bulk) { steps = append(steps, p.Listed) })
	if err != nil {
		t.Fatal(err)
	}
	if done.Listed != 25 || done.Changed != 25 || done.Refused != 0 || !done.Done || done.Steps != 4 || !reflect.DeepEqual(steps, []int{7, 14, 21, 25}) {
		t.Errorf("bulk retry: %+v after steps %v; want 25 changed in 4 steps of 7", done, steps)
	}
	for id, s := range e.statuses(t, group...) {
		task, _ := e.tr.Get(ctx, job, id)
		if s != tracker.Todo || task.Retry != 0 || len(task.History) == 0 || task.History[0].Fingerprint != fp(pyNoText[0]) || task.Failure != nil {
			t.Errorf("%s after the retry: %s, retry %d, history %+v, failure %+v; want todo, retry 0, its history kept", id, s, task.Retry, task.History, task.Failure)
		}
	}
	for id, s := range e.statuses(t, other...) {
		if s != tracker.Failed {
			t.Errorf("%s of another group is %s", id, s)
		}
	}
	if got := e.groups(t); len(got) != 1 || got[0].fp != fp(pyKeyError) {
		t.Errorf("groups after the retry: %+v", got)
	}
	stored, err := e.tr.BulkStatus(ctx, job, "retry-a")
	if err != nil || !reflect.DeepEqual(stored, done) {
		t.Errorf("BulkStatus = %+v, %v; want %+v", stored, err, done)
	}
	if list, err := e.tr.Bulks(ctx, job); err != nil || len(list) != 1 || list[0].ID != "retry-a" {
		t.Errorf("Bulks = %+v, %v", list, err)
	}
}

// TestBulkStepsOfManyPages ignores 1,100 todo tasks in steps of more than one listed page (a
// step lists 500 tasks at a time, the next page while the writes of one are in flight): each
// step does exactly its share, every task once; and a step whose deadline is near does
// nothing but record that it ran.
func TestBulkStepsOfManyPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	const n = 1100
	var tasks []tracker.NewTask
	for i := range n {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("t-%04d", i)})
	}
	if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
		t.Fatal(err)
	}
	b, err := e.tr.NewBulk(job, tracker.BulkOptions{Action: tracker.BulkIgnore, Select: tracker.Selection{Statuses: []tracker.Status{tracker.Todo}}})
	if err != nil {
		t.Fatal(err)
	}
	near, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	idle, err := e.tr.BulkStep(near, *b, 0)
	if err != nil || idle.Listed != 0 || idle.Steps != 1 || idle.Done || idle.Cursor != "" {
		t.Fatalf("a step 1 s before its deadline: %+v, %v; want nothing listed, the step recorded", idle, err)
	}
	first, err := e.tr.BulkStep(ctx, *idle, 600)
	if err != nil || first.Listed != 600 || first.Changed != 600 || first.Done || first.Cursor == "" {
		t.Fatalf("a step of 600 (pages of 500 and 100): %+v, %v", first, err)
	}
	done, err := e.tr.RunBulk(ctx, *first, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Listed != n || done.Changed != n || done.Refused != 0 || !done.Done || done.Steps != 3 {
		t.Errorf("the action's end: %+v; want %d ignored, none twice, in 3 steps", done, n)
	}
	counts, err := e.tr.Count(ctx, job)
	if err != nil || counts[tracker.Ignored] != n || counts[tracker.Todo] != 0 {
		t.Errorf("counts %v, %v; want %d ignored", counts, err, n)
	}
}

// TestBulkResumesFromItsRecord: an action stopped after a step goes on from its recorded
// cursor, and no task is changed twice.
func TestBulkResumesFromItsRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 5})
	e.failGroup(t, "a", 12, 0, pyKeyError)
	b, err := e.tr.NewBulk(job, tracker.BulkOptions{Action: tracker.BulkIgnore, Select: tracker.Selection{ErrorContains: "has no attribute"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.BulkStep(ctx, *b, 5); err != nil {
		t.Fatal(err)
	}
	stored, err := e.tr.BulkStatus(ctx, job, b.ID)
	if err != nil || stored.Changed != 5 || stored.Cursor == "" {
		t.Fatalf("recorded after a step: %+v, %v", stored, err)
	}
	done, err := e.tr.RunBulk(ctx, *stored, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Changed != 12 || done.Refused != 0 || done.Steps != 2 {
		t.Errorf("resumed: %+v; want 12 changed, none refused, in 2 steps", done)
	}
	if got := e.groups(t); len(got) != 1 || got[0].ignored != 12 || got[0].failed != 0 {
		t.Errorf("an ignored group stays a group: %+v", got)
	}
}

// TestBulkTouchesNothingNewer: a task that fails again after the action started is not
// retried by it; an action ends even while a run keeps failing tasks.
func TestBulkTouchesNothingNewer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 5})
	e.failGroup(t, "a", 3, 0, pyKeyError)
	b, err := e.tr.NewBulk(job, tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Fingerprint: fp(pyKeyError)}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.tr.BulkStep(ctx, *b, 1)
	if err != nil {
		t.Fatal(err)
	}
	retried := first.Refusals
	e.clock.Advance(time.Millisecond)
	e.create(t, "late", "")
	e.failAt(t, "late", pyKeyError)
	var again string // retried by the first step, failed again since
	for _, id := range []string{"a-00", "a-01", "a-02"} {
		if s := e.statuses(t, id)[id]; s == tracker.Todo {
			again = id
		}
	}
	e.failAt(t, again, pyKeyError)
	done, err := e.tr.RunBulk(ctx, *first, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Changed != 3 || done.Refused != 0 {
		t.Errorf("%+v: want the 3 tasks of the start retried", done)
	}
	if got := e.statuses(t, "late", again); got["late"] != tracker.Failed || got[again] != tracker.Failed || len(retried) != 0 {
		t.Errorf("failures after the start: %v, want failed", got)
	}
}

// TestBulkRefusesRunningTasks: a task listed in the selection and running when its write
// comes (claimed by code that does not leave the failure index, the seed's; or, by status,
// under a live lease) is refused and counted, never overwritten.
func TestBulkRefusesRunningTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 5})
	e.failGroup(t, "a", 4, 0, pyKeyError)
	// The seed's claim: status and lock only.
	token := "0123456789abcdef0123456789abcdef"
	if _, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(e.table), Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____a-02"}},
		UpdateExpression:          aws.String("SET #v = :v, #l = :l, lock_time = :t"),
		ExpressionAttributeNames:  map[string]string{"#v": "value", "#l": "lock"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: job + "____03"}, ":l": &types.AttributeValueMemberS{Value: token}, ":t": &types.AttributeValueMemberS{Value: e.clock.Now().Format(tracker.TimeLayout)}},
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(1)
	done := e.runBulk(t, tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Fingerprint: fp(pyKeyError)}})
	want := map[string]int{tracker.RefusedRunning: 1}
	if done.Changed != 3 || done.Refused != 1 || !maps.Equal(done.RefusedBy, want) || !reflect.DeepEqual(done.Refusals, []tracker.BulkRefusal{{TaskID: "a-02", Reason: tracker.RefusedRunning}}) {
		t.Errorf("%+v: want 3 retried and a-02 refused as running", done)
	}
	if task, _ := e.tr.Get(ctx, job, "a-02"); task.Status != tracker.InProgress || task.Lock != token {
		t.Errorf("the running task became %s (lock %q)", task.Status, task.Lock)
	}

	// By status: the todo tasks and the in-progress one whose lease ran out are ignored; the
	// one under a live lease is refused.
	f := newEnv(t, tracker.Config{})
	for _, id := range []string{"todo-1", "todo-2", "expired", "live"} {
		f.create(t, id, "")
	}
	f.claim(t, "expired", "w")
	f.clock.Advance(f.expiry())
	f.claim(t, "live", "w")
	f.clock.Advance(1)
	done = f.runBulk(t, tracker.BulkOptions{Action: tracker.BulkIgnore, Select: tracker.Selection{Statuses: []tracker.Status{tracker.Todo, tracker.InProgress}}})
	if done.Changed != 3 || done.Refused != 1 || done.RefusedBy[tracker.RefusedRunning] != 1 {
		t.Errorf("%+v: want 3 ignored and the live one refused", done)
	}
	if got := f.statuses(t, "todo-1", "todo-2", "expired", "live"); !maps.Equal(got, map[string]tracker.Status{
		"todo-1": tracker.Ignored, "todo-2": tracker.Ignored, "expired": tracker.Ignored, "live": tracker.InProgress}) {
		t.Errorf("statuses %v", got)
	}
}

func (e *env) runBulk(t testing.TB, opts tracker.BulkOptions) *tracker.Bulk {
	t.Helper()
	ctx := context.Background()
	b, err := e.tr.NewBulk(job, opts)
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.tr.RunBulk(ctx, *b, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// TestBulkRacingARun runs a bulk retry of a group while a run claims and finishes the same
// tasks: every claim the run made finishes under its lease (the action overwrote no running
// task), every task ends succeeded, and the action's counts add up.
func TestBulkRacingARun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{MaxRetry: 5})
	ids := e.failGroup(t, "a", 60, 10, pyKeyError)
	b, err := e.tr.NewBulk(job, tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Fingerprint: fp(pyKeyError)}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		done    *tracker.Bulk
		bulkErr error
		runErrs []error
	)
	wg.Go(func() { done, bulkErr = e.tr.RunBulk(ctx, *b, 5, nil) })
	wg.Go(func() {
		// The run: each task as soon as it is claimable (failed and due, or retried to todo),
		// in reverse order, again until every one succeeded.
		left := map[string]bool{}
		for _, id := range ids {
			left[id] = true
		}
		for len(left) > 0 {
			for i := len(ids) - 1; i >= 0; i-- {
				id := ids[i]
				if !left[id] {
					continue
				}
				l, err := e.tr.Claim(ctx, job, id, "run")
				if errors.Is(err, tracker.ErrTaskIgnored) {
					continue // until the action retries it
				}
				if err != nil {
					runErrs = append(runErrs, err)
					return
				}
				if _, err := e.tr.Complete(ctx, *l, nil); err != nil {
					runErrs = append(runErrs, fmt.Errorf("the run's lease on %s was overwritten: %w", id, err))
				}
				delete(left, id)
			}
		}
	})
	wg.Wait()
	if bulkErr != nil || len(runErrs) > 0 {
		t.Fatalf("bulk: %v; run: %v", bulkErr, runErrs)
	}
	for id, s := range e.statuses(t, ids...) {
		if s != tracker.Succeeded {
			t.Errorf("%s ended %s", id, s)
		}
	}
	refused := 0
	for _, n := range done.RefusedBy {
		refused += n
	}
	if done.Changed+done.Refused != done.Listed || refused != done.Refused || done.Listed > len(ids) || done.Changed < 10 {
		t.Errorf("counts %+v: want changed + refused = listed ≤ %d, the 10 ignored tasks changed", done, len(ids))
	}
	t.Logf("listed %d, changed %d, refused %v", done.Listed, done.Changed, done.RefusedBy)
}

// TestBulkRefusesBadSelections: an action must select something it applies to.
func TestBulkRefusesBadSelections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tracker.Config{})
	for _, c := range []struct {
		name string
		opts tracker.BulkOptions
	}{
		{"no selection", tracker.BulkOptions{Action: tracker.BulkRetry}},
		{"an unknown action", tracker.BulkOptions{Action: "delete", Select: tracker.Selection{Statuses: []tracker.Status{tracker.Failed}}}},
		{"retry of todo tasks", tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Statuses: []tracker.Status{tracker.Todo}}}},
		{"ignore of succeeded tasks", tracker.BulkOptions{Action: tracker.BulkIgnore, Select: tracker.Selection{Statuses: []tracker.Status{tracker.Succeeded}}}},
		{"a fingerprint among todo tasks", tracker.BulkOptions{Action: tracker.BulkIgnore, Select: tracker.Selection{Fingerprint: "v1:0123456789ab", Statuses: []tracker.Status{tracker.Todo}}}},
		{"a malformed fingerprint", tracker.BulkOptions{Action: tracker.BulkRetry, Select: tracker.Selection{Fingerprint: "v1:\x1b[31m"}}},
		{"a malformed id", tracker.BulkOptions{Action: tracker.BulkRetry, ID: "a b", Select: tracker.Selection{Statuses: []tracker.Status{tracker.Failed}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e.tr.NewBulk(job, c.opts); !isInvalid(err) {
				t.Errorf("NewBulk = %v, want a validation error", err)
			}
		})
	}
}
