package tracker_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/writeopt"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// updates records the UpdateItem calls a client sends.
type updates struct {
	mu   sync.Mutex
	sent []*dynamodb.UpdateItemInput
}

func (u *updates) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("updates", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
				c := *p
				u.mu.Lock()
				u.sent = append(u.sent, &c)
				u.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	})
}

func (u *updates) last() *dynamodb.UpdateItemInput {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sent[len(u.sent)-1]
}

// TestCompleteWithoutTask: a caller that wants nothing back (writeopt.WithoutTask, the worker
// pool) has its completion return nothing from DynamoDB and gets no task, while the item is
// written as by any completion; a replay and a refusal still read the task as it was.
func TestCompleteWithoutTask(t *testing.T) {
	t.Parallel()
	quiet := writeopt.WithoutTask(context.Background())
	for _, c := range []struct {
		name     string
		ctx      context.Context
		returns  types.ReturnValue
		wantTask bool
	}{
		{"a caller that wants the task gets it", context.Background(), types.ReturnValueAllNew, true},
		{"a caller that wants none gets none, and DynamoDB returns nothing", quiet, types.ReturnValueNone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var u updates
			e := newEnv(t, tracker.Config{}, u.option)
			e.create(t, "t", `{"input": 1}`)
			lease := e.claim(t, "t", "w")
			got, err := e.tr.Complete(c.ctx, *lease, json.RawMessage(`{"n": 1}`))
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != c.wantTask || (got != nil && got.Status != tracker.Succeeded) {
				t.Errorf("Complete returned %+v, want a task: %v", got, c.wantTask)
			}
			if r := u.last().ReturnValues; r != c.returns {
				t.Errorf("the completion asked for %q, want %q", r, c.returns)
			}
			item := e.raw(t, job, "t")
			if v := item["value"].(*types.AttributeValueMemberS).Value; v != job+"____09" {
				t.Errorf("value = %s, want succeeded", v)
			}
			if d := item["data"].(*types.AttributeValueMemberS).Value; d != `{"n":1}` {
				t.Errorf("data = %s", d)
			}
			// A replay recognises itself from the refused write's item, and says so.
			again, err := e.tr.Complete(c.ctx, *lease, json.RawMessage(`{"n": 1}`))
			if err != nil || again == nil || again.Status != tracker.Succeeded {
				t.Errorf("replayed Complete = %+v, %v; want the task as it is", again, err)
			}
			// Another lease is refused, with the task that explains why.
			other := *lease
			other.Token = strings.Repeat("0", 32)
			if _, err := e.tr.Complete(c.ctx, other, nil); err == nil {
				t.Errorf("Complete under another lease applied")
			} else {
				wantConflict(t, err, tracker.ErrTaskAlreadySucceeded)
			}
		})
	}
}

// TestTransitionWrites holds the claim and the completion to what they must write, and no
// more: the claim's condition does not test the key's existence (a missing item has no
// status, so the status test refuses it already), and the completion leaves retry_at alone
// (every claim removed it).
func TestTransitionWrites(t *testing.T) {
	t.Parallel()
	var u updates
	e := newEnv(t, tracker.Config{}, u.option)
	e.create(t, "t", "")
	lease := e.claim(t, "t", "w")
	claim := u.last()
	if _, err := e.tr.Complete(context.Background(), *lease, nil); err != nil {
		t.Fatal(err)
	}
	complete := u.last()
	for _, c := range []struct {
		name      string
		in        *dynamodb.UpdateItemInput
		notIn     string // expression that must not use the attribute
		attribute string
	}{
		{"the claim does not test that the key exists", claim, aws.ToString(claim.ConditionExpression), tracker.KeyAttribute},
		{"the completion does not remove retry_at", complete, aws.ToString(complete.UpdateExpression), "retry_at"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for placeholder, name := range c.in.ExpressionAttributeNames {
				if name == c.attribute && containsPlaceholder(c.notIn, placeholder) {
					t.Errorf("%q uses %s (%s)", c.notIn, c.attribute, placeholder)
				}
			}
		})
	}
	// And a claim of a task that does not exist is refused as not found, as before.
	if _, err := e.tr.Claim(context.Background(), job, "missing", "w"); err == nil {
		t.Errorf("a claim of a missing task applied")
	} else {
		wantConflict(t, err, tracker.ErrTaskNotFound)
	}
	if _, ok := e.raw(t, job, "missing")["key"]; ok {
		t.Errorf("a refused claim created the item")
	}
}

// containsPlaceholder reports whether expr uses placeholder (#0, not #0 of #01).
func containsPlaceholder(expr, placeholder string) bool {
	for rest := expr; ; {
		i := strings.Index(rest, placeholder)
		if i < 0 {
			return false
		}
		end := i + len(placeholder)
		if end == len(rest) || rest[end] < '0' || rest[end] > '9' {
			return true
		}
		rest = rest[end:]
	}
}
