package tracker_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

func TestSpan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, tracker.Config{})
	if span, err := e.tr.Span(ctx, job); err != nil || span != (tracker.Span{}) {
		t.Fatalf("Span of an empty job = %+v, %v; want nothing pending", span, err)
	}
	// t-00..t-29 in every status, t-30 in progress: todo t-00, t-05, .., t-25; failed t-02, .., t-27.
	jobOfMixedTasks(t, e)
	span, err := e.tr.Span(ctx, job)
	if want := (tracker.Span{Pending: true, Failed: true, First: "t-00", Last: "t-27"}); err != nil || span != want {
		t.Fatalf("Span = %+v, %v; want %+v (the lowest todo, the highest failed)", span, err, want)
	}
	// A job of todo tasks alone has none failed.
	if _, err := e.tr.CreateTasks(ctx, "todo-only", []tracker.NewTask{{ID: "b"}, {ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	if span, err := e.tr.Span(ctx, "todo-only"); err != nil || span != (tracker.Span{Pending: true, First: "a", Last: "b"}) {
		t.Fatalf("Span of todo tasks = %+v, %v; want a to b, none failed", span, err)
	}
	if _, err := e.tr.Span(ctx, "bad____job"); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Fatalf("Span of a bad job id: %v, want an invalid input error", err)
	}
}
