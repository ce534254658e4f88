// Package writeopt carries, in a context, options of the tracker's writes that are not part
// of its API, for callers inside this module: the worker pool says what it needs back.
package writeopt

import "context"

type withoutTaskKey struct{}

// WithoutTask returns a copy of ctx under which a tracker.Complete that applies returns no
// task (a nil *Task and a nil error): its write asks DynamoDB to return nothing, so that
// neither DynamoDB nor the client spends time on the item. A refused write still reads the
// task as it was, which explains the refusal and recognises a replay. Give it only to the
// call itself, never to code that may call the tracker for its own needs (a handler).
func WithoutTask(ctx context.Context) context.Context {
	return context.WithValue(ctx, withoutTaskKey{}, true)
}

// TaskWanted reports whether the caller under ctx wants the task a write leaves: true
// unless ctx comes from WithoutTask.
func TaskWanted(ctx context.Context) bool {
	return ctx.Value(withoutTaskKey{}) == nil
}
