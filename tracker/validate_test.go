package tracker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestNormalizeData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		invalid        bool
	}{
		{"compacts an object", `{ "a" : [1, 2] }`, `{"a":[1,2]}`, false},
		{"keeps escaped non-ASCII as it is", `{"a": "\u00e9"}`, `{"a":"\u00e9"}`, false},
		{"keeps UTF-8 text", `{"a": "é"}`, `{"a":"é"}`, false},
		{"refuses invalid UTF-8 in a string instead of replacing it", "{\"a\": \"\xff\"}", "", true},
		{"refuses a truncated rune", "{\"a\": \"\xc3\"}", "", true},
		{"refuses an array", `[1]`, "", true},
	}
	for _, tc := range tests {
		got, err := tracker.NormalizeData(json.RawMessage(tc.in))
		if tc.invalid {
			var ve *tracker.ValidationError
			if !errors.As(err, &ve) || ve.Field != "data" {
				t.Errorf("%s: NormalizeData = %q, %v; want a ValidationError on data", tc.name, got, err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: NormalizeData = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestKeyLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	prefix := len(job + tracker.Separator)
	longest := strings.Repeat("k", tracker.MaxKeyBytes-prefix)
	if tracker.MaxKeyBytes != 1024 || len(job+tracker.Separator+longest) != 1024 {
		t.Fatalf("MaxKeyBytes = %d", tracker.MaxKeyBytes)
	}

	t.Run("a key of 1,025 bytes is refused before any write", func(t *testing.T) {
		tooLong := longest + "k"
		_, err := e.tr.CreateTask(ctx, job, tooLong, nil)
		if !errors.Is(err, tracker.ErrInvalidInput) {
			t.Fatalf("CreateTask = %v, want ErrInvalidInput", err)
		}
		_, err = e.tr.CreateTasks(ctx, job, []tracker.NewTask{{ID: "fine"}, {ID: tooLong}})
		if !errors.Is(err, tracker.ErrInvalidInput) {
			t.Fatalf("CreateTasks = %v, want ErrInvalidInput", err)
		}
		if _, err := e.tr.Claim(ctx, job, tooLong, "w"); !errors.Is(err, tracker.ErrInvalidInput) {
			t.Fatalf("Claim = %v, want ErrInvalidInput", err)
		}
		if len(e.raw(t, job, "fine")) != 0 {
			t.Fatal("a refused batch wrote a task")
		}
	})

	t.Run("a key of 1,024 bytes is created, claimed and listed", func(t *testing.T) {
		if _, err := e.tr.CreateTask(ctx, job, longest, json.RawMessage(`{"n":1}`)); err != nil {
			t.Fatal(err)
		}
		page, err := e.tr.List(ctx, job, tracker.ListOptions{Pending: true})
		if err != nil || len(page.Tasks) != 1 || page.Tasks[0].TaskID != longest {
			t.Fatalf("Pending = %+v, %v", page, err)
		}
		l := e.claim(t, longest, "w")
		page, err = e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.InProgress}})
		if err != nil || len(page.Tasks) != 1 || page.Tasks[0].TaskID != longest || page.Tasks[0].Lock != l.Token {
			t.Fatalf("List in progress = %+v, %v", page, err)
		}
		if _, err := e.tr.Complete(ctx, *l, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestListRefusesBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	for _, id := range []string{"a", "b", "c"} {
		e.create(t, id, "")
		if _, err := e.tr.CreateTask(ctx, "other-job", id, nil); err != nil {
			t.Fatal(err)
		}
	}
	first, err := e.tr.List(ctx, job, tracker.ListOptions{Limit: 1})
	if err != nil || first.Cursor == "" {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	if next, err := e.tr.List(ctx, job, tracker.ListOptions{Limit: 1, Cursor: first.Cursor}); err != nil || len(next.Tasks) != 1 || next.Tasks[0].TaskID != "b" {
		t.Fatalf("second page = %+v, %v", next, err)
	}
	tests := []struct {
		name  string
		list  func() (*tracker.Page, error)
		field string
	}{
		{"an unknown status", func() (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Todo, tracker.Status(42)}})
		}, "status"},
		{"the unknown status", func() (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Statuses: []tracker.Status{tracker.Unknown}})
		}, "status"},
		{"a cursor of another job", func() (*tracker.Page, error) {
			return e.tr.List(ctx, "other-job", tracker.ListOptions{Limit: 1, Cursor: first.Cursor})
		}, "cursor"},
		{"a cursor of another job in Pending", func() (*tracker.Page, error) {
			return e.tr.List(ctx, "other-job", tracker.ListOptions{Pending: true, Limit: 1, Cursor: first.Cursor})
		}, "cursor"},
		{"a cursor that is not base64", func() (*tracker.Page, error) {
			return e.tr.List(ctx, job, tracker.ListOptions{Cursor: "not base64!"})
		}, "cursor"},
	}
	for _, tc := range tests {
		p, err := tc.list()
		var ve *tracker.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, tracker.ErrInvalidInput) {
			t.Errorf("%s: got %+v, %v; want a ValidationError on %s", tc.name, p, err, tc.field)
		}
	}
}
