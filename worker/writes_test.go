package worker_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/worker"
)

// TestPoolWritesReturnWhatItNeeds: a pool's claim returns the whole task (the handler gets
// it, data included), its completion returns nothing (the pool only counts it), while
// worker.Run, which returns the task as left, still gets it from the completion.
func TestPoolWritesReturnWhatItNeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var returns []types.ReturnValue
	capture := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("returns", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if u, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
					mu.Lock()
					returns = append(returns, u.ReturnValues)
					mu.Unlock()
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	}
	tr := newTracker(t, tracker.Config{}, 2, capture)
	for _, c := range []struct {
		name string
		run  func(t *testing.T, handler worker.Handler)
		want []types.ReturnValue // of the claim, then of the completion
	}{
		{"a pool", func(t *testing.T, handler worker.Handler) {
			p := &worker.Pool{Tracker: tr, Job: job, Workers: 1, Handler: handler}
			if st, err := p.Run(ctx); err != nil || st.Succeeded != 2 {
				t.Fatalf("Run = %+v, %v", st, err)
			}
		}, []types.ReturnValue{types.ReturnValueAllNew, types.ReturnValueNone}},
		{"worker.Run", func(t *testing.T, handler worker.Handler) {
			if _, err := tr.CreateTask(ctx, job, "t-002", json.RawMessage(`{"n":2}`)); err != nil {
				t.Fatal(err)
			}
			task, err := worker.Run(ctx, tr, job, "t-002", handler)
			if err != nil || task == nil || task.Status != tracker.Succeeded {
				t.Fatalf("Run = %+v, %v; want the task as left", task, err)
			}
		}, []types.ReturnValue{types.ReturnValueAllNew, types.ReturnValueAllNew}},
	} {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			returns = nil
			mu.Unlock()
			c.run(t, func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
				if len(task.Data) == 0 {
					t.Errorf("the handler got %s without its data", task.TaskID)
				}
				return nil, nil
			})
			mu.Lock()
			defer mu.Unlock()
			for i := 0; i+1 < len(returns); i += 2 {
				if returns[i] != c.want[0] || returns[i+1] != c.want[1] {
					t.Errorf("the claim and the completion asked for %q and %q, want %q and %q", returns[i], returns[i+1], c.want[0], c.want[1])
				}
			}
			if len(returns) == 0 || len(returns)%2 != 0 {
				t.Errorf("%d UpdateItem calls, want a claim and a completion per task", len(returns))
			}
		})
	}
}
