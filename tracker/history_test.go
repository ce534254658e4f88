package tracker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/fingerprint"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a task failed 50 times keeps the last 10 attempts and a valid item", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{MaxRetry: 100})
		e.create(t, "t", fullData())
		owner := strings.Repeat("o", tracker.MaxOwnerBytes-3)
		for n := 1; n <= 50; n++ {
			l := e.claim(t, "t", fmt.Sprintf("%s-%02d", owner, n))
			if l.Attempt != n {
				t.Fatalf("claim %d: lease attempt %d", n, l.Attempt)
			}
			if n%7 == 0 {
				e.clock.Advance(e.expiry()) // this worker dies: the next claim takes over and counts it
				continue
			}
			e.fail(t, l, fmt.Sprintf("error %02d <%s>", n, strings.Repeat("\x01", 8*1024)))
		}
		got, err := e.tr.Get(ctx, job, "t")
		if err != nil {
			t.Fatal(err)
		}
		if got.Retry != 50 || got.Attempts != 50 || len(got.History) != tracker.MaxHistory {
			t.Fatalf("retry %d, attempts %d, %d history entries", got.Retry, got.Attempts, len(got.History))
		}
		for i, a := range got.History {
			n := 41 + i
			if a.Attempt != n || !strings.HasSuffix(a.Holder, "…[truncated]") {
				t.Errorf("history[%d] = attempt %d holder %.20q…", i, a.Attempt, a.Holder)
			}
			wantErr := fmt.Sprintf("error %02d <", n)
			if n%7 == 0 {
				wantErr = "lease lost: "
			}
			if !strings.HasPrefix(a.Error, wantErr) || a.Time.IsZero() {
				t.Errorf("history[%d] = %+v, want an error starting %q", i, a, wantErr)
			}
		}
		raw := e.raw(t, job, "t")
		if n := itemSize(raw); n >= tracker.ItemLimit {
			t.Errorf("item is %d bytes, over %d", n, tracker.ItemLimit)
		}
		hist := raw["history"].(*types.AttributeValueMemberL).Value
		size := len("history") + 3
		for _, h := range hist {
			size += 1 + len(h.(*types.AttributeValueMemberS).Value)
		}
		if len(hist) != tracker.MaxHistory || size > tracker.MaxHistoryBytes {
			t.Errorf("history holds %d entries, %d bytes; want %d entries within %d bytes", len(hist), size, tracker.MaxHistory, tracker.MaxHistoryBytes)
		}
		var errs map[string]string
		if err := json.Unmarshal([]byte(raw["errors"].(*types.AttributeValueMemberS).Value), &errs); err != nil || len(errs) != 2 || !strings.HasPrefix(errs["error"], "error 50 <") {
			t.Errorf("errors = %v, %v; want exactly the seed's error and traceback of the last failure", errs, err)
		}

		// Success keeps the history on record.
		l := e.claim(t, "t", "w")
		done, err := e.tr.Complete(ctx, *l, json.RawMessage(fullData()))
		if err != nil || !reflect.DeepEqual(done.History, got.History) {
			t.Errorf("Complete = %v; history kept: %v", err, reflect.DeepEqual(done.History, got.History))
		}
	})

	t.Run("a lease claimed before histories were kept starts one", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		l := e.claim(t, "t", "old-worker")
		if _, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(e.table), Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____t"}},
			UpdateExpression: aws.String("REMOVE history"),
		}); err != nil {
			t.Fatal(err)
		}
		old := *l
		old.Attempt, old.Owner = 0, "" // as an older Lease's JSON decodes
		got, err := e.tr.Fail(ctx, old, tracker.Failure{Error: "boom", Traceback: "tb"})
		if err != nil {
			t.Fatal(err)
		}
		want := []tracker.Attempt{{Attempt: 1, Time: e.clock.Now(), Error: "boom", Traceback: "tb", Fingerprint: fingerprint.Compute("boom", "tb").String()}}
		if !reflect.DeepEqual(got.History, want) || got.Retry != 1 {
			t.Errorf("history = %+v, want %+v", got.History, want)
		}
	})
	t.Run("a takeover of a task claimed without a history starts one", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, tracker.Config{})
		e.create(t, "t", "")
		e.claim(t, "t", "seed-worker")
		if _, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(e.table), Key: map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____t"}},
			UpdateExpression: aws.String("REMOVE history"),
		}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(e.expiry())
		l := e.claim(t, "t", "w")
		if len(l.Task.History) != 1 || l.Task.History[0].Attempt != 1 || l.Task.History[0].Holder != "seed-worker" ||
			!strings.HasPrefix(l.Task.History[0].Error, "lease lost: seed-worker held") {
			t.Errorf("history = %+v", l.Task.History)
		}
	})
}
