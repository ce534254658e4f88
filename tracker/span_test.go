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
	if first, last, ok, err := e.tr.Span(ctx, job); err != nil || ok || first != "" || last != "" {
		t.Fatalf("Span of an empty job = %q, %q, %v, %v; want nothing", first, last, ok, err)
	}
	// t-00..t-29 in every status, t-30 in progress: todo t-00, t-05, .., t-25; failed t-02, .., t-27.
	jobOfMixedTasks(t, e)
	first, last, ok, err := e.tr.Span(ctx, job)
	if err != nil || !ok || first != "t-00" || last != "t-27" {
		t.Fatalf("Span = %q, %q, %v, %v; want t-00, t-27 (the lowest todo, the highest failed)", first, last, ok, err)
	}
	if _, _, _, err := e.tr.Span(ctx, "bad____job"); !errors.Is(err, tracker.ErrInvalidInput) {
		t.Fatalf("Span of a bad job id: %v, want an invalid input error", err)
	}
}
