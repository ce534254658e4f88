package tracker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// seedTime is the contract's time format: 31 characters, six fraction digits, +0000.
var seedTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$`)

// attr describes what the contract says of one stored attribute.
type attr struct {
	typ   string // S, N, NULL, L
	value string // exact value (of a list: its length), or "" to skip
	time  bool   // must be in the contract's time format
	json  bool   // must be a JSON object in a string
}

func checkItem(t *testing.T, stage string, item map[string]types.AttributeValue, want map[string]attr) {
	t.Helper()
	var names []string
	for n := range item {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := want[n]; !ok {
			t.Errorf("%s: unexpected attribute %q", stage, n)
		}
	}
	for n, w := range want {
		av, ok := item[n]
		if !ok {
			t.Errorf("%s: attribute %q missing", stage, n)
			continue
		}
		var typ, val string
		switch v := av.(type) {
		case *types.AttributeValueMemberS:
			typ, val = "S", v.Value
		case *types.AttributeValueMemberN:
			typ, val = "N", v.Value
		case *types.AttributeValueMemberNULL:
			typ = "NULL"
		case *types.AttributeValueMemberL:
			typ, val = "L", strconv.Itoa(len(v.Value))
		default:
			typ = "other"
		}
		if typ != w.typ {
			t.Errorf("%s: %s has type %s, want %s", stage, n, typ, w.typ)
		}
		if w.value != "" && val != w.value {
			t.Errorf("%s: %s = %q, want %q", stage, n, val, w.value)
		}
		if w.time && !seedTime.MatchString(val) {
			t.Errorf("%s: %s = %q is not in the contract's time format", stage, n, val)
		}
		if w.json {
			var obj map[string]any
			if err := json.Unmarshal([]byte(val), &obj); err != nil {
				t.Errorf("%s: %s = %q is not a JSON object", stage, n, val)
			}
		}
	}
}

// TestItemLayout asserts the raw items this package writes at each stage of a task's life
// against docs/table-layout.md.
func TestItemLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	e.create(t, "t-1", `{"path": "s3://b/k"}`)
	checkItem(t, "new", e.raw(t, job, "t-1"), map[string]attr{
		"key":         {typ: "S", value: "parse-json____t-1"},
		"value":       {typ: "S", value: "parse-json____00"},
		"update_time": {typ: "S", time: true},
		"retry":       {typ: "N", value: "0"},
		"lock_time":   {typ: "S", value: "1970-01-01T00:00:00.000000+0000"},
		"data":        {typ: "S", value: `{"path":"s3://b/k"}`, json: true},
		"create_time": {typ: "S", time: true},
		"attempts":    {typ: "N", value: "0"},
	})

	lease := e.claim(t, "t-1", "exec-1")
	locked := e.raw(t, job, "t-1")
	checkItem(t, "claimed", locked, map[string]attr{
		"key":         {typ: "S", value: "parse-json____t-1"},
		"value":       {typ: "S", value: "parse-json____03"},
		"update_time": {typ: "S", value: "2026-11-29T00:43:51.185247+0000"},
		"retry":       {typ: "N", value: "0"},
		"lock":        {typ: "S", value: lease.Token},
		"lock_time":   {typ: "S", value: "2026-11-29T00:43:51.185247+0000"},
		"data":        {typ: "S", json: true},
		"create_time": {typ: "S", time: true},
		"attempts":    {typ: "N", value: "1"},
		"lock_owner":  {typ: "S", value: "exec-1"},
		"history":     {typ: "L", value: "0"},
	})

	failedAt := e.clock.Now()
	e.fail(t, lease, "ValueError('bad')")
	failed := map[string]attr{
		"key":          {typ: "S", value: "parse-json____t-1"},
		"value":        {typ: "S", value: "parse-json____06"},
		"update_time":  {typ: "S", time: true},
		"retry":        {typ: "N", value: "1"},
		"lock":         {typ: "NULL"},
		"lock_time":    {typ: "S", time: true},
		"data":         {typ: "S", json: true},
		"errors":       {typ: "S", value: `{"error":"ValueError('bad')","traceback":"trace of ValueError('bad')"}`, json: true},
		"create_time":  {typ: "S", time: true},
		"attempts":     {typ: "N", value: "1"},
		"lock_owner":   {typ: "S", value: "exec-1"},
		"last_lock":    {typ: "S", value: lease.Token},
		"last_outcome": {typ: "S", value: "fail"},
		"retry_at":     {typ: "S", time: true},
		"history":      {typ: "L", value: "1"},
		// The failure index's keys and message (fingerprint.Compute of the error and
		// traceback; the shard is ShardOf("t-1", MinFailureShards)).
		"failure_part":    {typ: "S", value: fmt.Sprintf("parse-json____06____%02d", tracker.ShardOf("t-1", tracker.MinFailureShards))},
		"failure_key":     {typ: "S", value: "v1:4e0961956730____" + failedAt.Format(tracker.TimeLayout)},
		"failure_message": {typ: "S", value: "ValueError('bad')"},
	}
	checkItem(t, "failed", e.raw(t, job, "t-1"), failed)
	entry := e.raw(t, job, "t-1")["history"].(*types.AttributeValueMemberL).Value[0].(*types.AttributeValueMemberS).Value
	if want := `{"attempt":1,"time":"` + failedAt.Format(tracker.TimeLayout) + `","holder":"exec-1","error":"ValueError('bad')","fingerprint":"v1:4e0961956730","traceback":"trace of ValueError('bad')"}`; entry != want {
		t.Errorf("history entry = %s, want %s", entry, want)
	}

	lease = e.claim(t, "t-1", "exec-2")
	if _, err := e.tr.Complete(ctx, *lease, json.RawMessage(`{"n_records": 100}`)); err != nil {
		t.Fatal(err)
	}
	done := failed
	delete(done, "retry_at")
	delete(done, "failure_part") // out of the failure index since its claim; the rest is history
	done["value"] = attr{typ: "S", value: "parse-json____09"}
	done["retry"] = attr{typ: "N", value: "0"}
	done["data"] = attr{typ: "S", value: `{"n_records":100}`, json: true}
	done["attempts"] = attr{typ: "N", value: "2"}
	done["lock_owner"] = attr{typ: "S", value: "exec-2"}
	done["last_lock"] = attr{typ: "S", value: lease.Token}
	done["last_outcome"] = attr{typ: "S", value: "complete"}
	checkItem(t, "succeeded", e.raw(t, job, "t-1"), done)
}

// TestSeedItems reads, claims and finishes items in the exact form the seed's PynamoDB code
// writes (built raw from the contract, with Python's json.dumps spacing).
func TestSeedItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	null := &types.AttributeValueMemberNULL{Value: true}
	// Task.new("parse-json", "seed-new", data={"a": 1})
	put(map[string]types.AttributeValue{
		"key": s("parse-json____seed-new"), "value": s("parse-json____00"),
		"update_time": s("2022-12-26T04:09:18.866585+0000"), "retry": n("0"),
		"lock_time": s("1970-01-01T00:00:00.000000+0000"), "data": s(`{"a": 1, "caf\u00e9": "\u00e9"}`),
	})
	// A seed worker failed it once: unlocked with NULL, errors as json.dumps writes them.
	put(map[string]types.AttributeValue{
		"key": s("parse-json____seed-failed"), "value": s("parse-json____06"),
		"update_time": s("2022-12-26T04:06:44.124953+0000"), "retry": n("1"), "lock": null,
		"lock_time": s("2022-12-26T04:06:44.100000+0000"),
		"errors":    s(`{"error": "UserError('something wrong!')", "traceback": "Traceback (most recent call last):\n  ..."}`),
	})
	// A seed worker crashed holding the lock long ago: our catch-up query must find it.
	put(map[string]types.AttributeValue{
		"key": s("parse-json____seed-crashed"), "value": s("parse-json____03"),
		"update_time": s("2022-12-26T04:00:00.000000+0000"), "retry": n("0"), "lock": s("0123456789abcdef0123456789abcdef"),
		"lock_time": s("2022-12-26T04:00:00.000000+0000"),
	})

	got, err := e.tr.Get(ctx, job, "seed-new")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tracker.Todo || got.Attempts != 0 || !got.CreateTime.IsZero() || !json.Valid(got.Data) {
		t.Errorf("seed task read as %+v", got)
	}
	got, _ = e.tr.Get(ctx, job, "seed-failed")
	if got.Status != tracker.Failed || got.Retry != 1 || got.Lock != "" || got.Error.Error != "UserError('something wrong!')" {
		t.Errorf("seed failed task read as %+v", got)
	}

	page, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range page.Tasks {
		ids = append(ids, task.TaskID)
	}
	if want := []string{"seed-crashed", "seed-failed", "seed-new"}; !equal(ids, want) {
		t.Errorf("pending = %v, want %v", ids, want)
	}

	for _, id := range ids {
		lease := e.claim(t, id, "go-worker")
		if _, err := e.tr.Complete(ctx, *lease, json.RawMessage(`{"done": true}`)); err != nil {
			t.Fatalf("complete %s: %v", id, err)
		}
		item := e.raw(t, job, id)
		if v := item["value"].(*types.AttributeValueMemberS).Value; v != "parse-json____09" {
			t.Errorf("%s value = %s", id, v)
		}
		if _, ok := item["lock"].(*types.AttributeValueMemberNULL); !ok {
			t.Errorf("%s lock = %v, want NULL", id, item["lock"])
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
