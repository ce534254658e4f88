package tracker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// itemSize is an item's size as DynamoDB counts it: each attribute's name and value.
func itemSize(av map[string]types.AttributeValue) int {
	n := 0
	for name, v := range av {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += len(v.Value)/2 + 2 // at most: two digits a byte, plus one
		default:
			n++
		}
	}
	return n
}

// setRawData stores data as the task's data attribute directly, as another writer would.
func (e *env) setRawData(t *testing.T, id, data string) {
	t.Helper()
	_, err := e.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(e.table),
		Key:                       map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: job + "____" + id}},
		UpdateExpression:          aws.String("SET #d = :d"),
		ExpressionAttributeNames:  map[string]string{"#d": "data"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberS{Value: data}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fullData is a data object whose compact form is exactly MaxDataBytes long.
func fullData() string {
	const frame = `{"x":""}`
	return `{"x":"` + strings.Repeat("d", tracker.MaxDataBytes-len(frame)) + `"}`
}

func TestFailureAlwaysFitsTheItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name             string
		id               string
		error, traceback string
	}{
		{"a 32 KiB traceback of '<' (six bytes each under HTML escaping)", "lt", "boom <html>", strings.Repeat("<", 32*1024)},
		{"a 32 KiB traceback of control characters (six bytes each)", "ctl", "boom", strings.Repeat("\x01", 32*1024)},
		{"a 32 KiB traceback of quotes (two bytes each)", "quote", "boom", strings.Repeat(`"`, 32*1024)},
		{"a 32 KiB traceback of two-byte runes", "rune", "boom", strings.Repeat("é", 16*1024)},
		{"a 4 KiB error of NULs and a long traceback", "nul", strings.Repeat("\x00", 4*1024), strings.Repeat("t", 64*1024)},
		{"the longest key", strings.Repeat("k", tracker.MaxKeyBytes-len(job+tracker.Separator)), "boom", strings.Repeat("\x1f", 32*1024)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tracker.Config{MaxRetry: 5})
			e.create(t, tc.id, "")
			// 350 KiB of data, more than this package accepts (MaxDataBytes, bounded by Step
			// Functions' payload limit) but what another writer, the seed's set_data say, may
			// have stored: the failure must be recorded all the same.
			e.setRawData(t, tc.id, `{"x":"`+strings.Repeat("d", 350*1024-len(`{"x":""}`))+`"}`)
			l := e.claim(t, tc.id, strings.Repeat("o", tracker.MaxOwnerBytes))
			got, err := e.tr.Fail(ctx, *l, tracker.Failure{Error: tc.error, Traceback: tc.traceback})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tracker.Failed || got.Retry != 1 {
				t.Errorf("task = %+v", got)
			}
			raw := e.raw(t, job, tc.id)
			if n := itemSize(raw); n >= tracker.ItemLimit {
				t.Errorf("item is %d bytes, over %d", n, tracker.ItemLimit)
			}
			stored := raw["errors"].(*types.AttributeValueMemberS).Value
			var te tracker.TaskError
			if err := json.Unmarshal([]byte(stored), &te); err != nil {
				t.Fatalf("errors %.80q is not JSON: %v", stored, err)
			}
			if te != *got.Error {
				t.Errorf("stored errors differ from the returned task's")
			}
			const note = "\n…[truncated]"
			cutErr, cutTb := strings.TrimSuffix(te.Error, note), strings.TrimSuffix(te.Traceback, note)
			if !strings.HasPrefix(tc.error, cutErr) || !strings.HasPrefix(tc.traceback, cutTb) {
				t.Errorf("stored error or traceback is not a prefix of the original")
			}
			if len(cutTb) == len(tc.traceback) || !strings.HasSuffix(te.Traceback, note) || len(cutTb) < 1024 {
				t.Errorf("traceback kept %d of %d bytes; want it cut, with the note, and not to nothing", len(cutTb), len(tc.traceback))
			}
			if strings.Contains(tc.traceback, "<") && (strings.Contains(stored, `\u003c`) || !strings.Contains(stored, "<<<")) {
				t.Errorf("errors are HTML-escaped: %.60q", stored)
			}

			// The task still completes with the largest result, its failure on record.
			e.clock.Advance(e.tr.BackoffAfter(got.Retry))
			l = e.claim(t, tc.id, strings.Repeat("o", tracker.MaxOwnerBytes))
			done, err := e.tr.Complete(ctx, *l, json.RawMessage(fullData()))
			if err != nil || done.Status != tracker.Succeeded {
				t.Fatalf("Complete = %+v, %v", done, err)
			}
			if n := itemSize(e.raw(t, job, tc.id)); n >= tracker.ItemLimit {
				t.Errorf("completed item is %d bytes, over %d", n, tracker.ItemLimit)
			}
		})
	}
}

func TestClaimRefusesAnOversizedOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tracker.Config{})
	e.create(t, "t", "")
	if _, err := e.tr.Claim(context.Background(), job, "t", strings.Repeat("o", tracker.MaxOwnerBytes+1)); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Fatal("Claim accepted an owner over MaxOwnerBytes")
	}
	if got, _ := e.tr.Get(context.Background(), job, "t"); got.Status != tracker.Todo || got.Attempts != 0 {
		t.Errorf("refused claim wrote: %+v", got)
	}
}
