package tracker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/internal/dynamotest"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// report adds the per-task figures the issue asks for.
func report(b *testing.B, c *dynamotest.Counter, tasks int, elapsed time.Duration) {
	b.ReportMetric(float64(c.Total())/float64(tasks), "calls/task")
	b.ReportMetric(c.Capacity()/float64(tasks), "CU/task")
	b.ReportMetric(float64(tasks)/elapsed.Seconds(), "tasks/s")
}

func newTasks(prefix string, n int) []tracker.NewTask {
	tasks := make([]tracker.NewTask, n)
	for i := range tasks {
		tasks[i] = tracker.NewTask{ID: fmt.Sprintf("%s-%07d", prefix, i), Data: []byte(`{"path":"s3://bucket/in/file.json"}`)}
	}
	return tasks
}

// BenchmarkCreateBatched creates b.N tasks with CreateTasks: one existence look-up per 100
// and one BatchWriteItem per 25.
func BenchmarkCreateBatched(b *testing.B) {
	var c dynamotest.Counter
	e := newEnv(b, tracker.Config{}, c.Option())
	tasks := newTasks(fmt.Sprint("create-", b.N), b.N)
	c.Reset()
	start := time.Now()
	b.ResetTimer()
	res, err := e.tr.CreateTasks(context.Background(), job, tasks)
	b.StopTimer()
	if err != nil || len(res.Created) != b.N {
		b.Fatalf("created %v, %v", res, err)
	}
	report(b, &c, b.N, time.Since(start))
	b.ReportMetric(float64(c.Calls()["BatchWriteItem"])/float64(b.N), "writes/task")
}

// BenchmarkLifecycle claims and completes b.N tasks, by one worker and by 16 concurrent
// workers, counting every DynamoDB call and every claim per task, and the client's
// allocations per task (the SDK's included).
func BenchmarkLifecycle(b *testing.B) {
	for _, workers := range []int{1, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ctx := context.Background()
			var c dynamotest.Counter
			e := newEnv(b, tracker.Config{}, c.Option())
			tasks := newTasks(fmt.Sprint("life-", b.N), b.N)
			if _, err := e.tr.CreateTasks(ctx, job, tasks); err != nil {
				b.Fatal(err)
			}
			ids := make(chan string, len(tasks))
			for _, t := range tasks {
				ids <- t.ID
			}
			close(ids)
			var claims sync.Map
			var doubles, failures atomic.Int64
			c.Reset()
			start := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for id := range ids {
						lease, err := e.tr.Claim(ctx, job, id, fmt.Sprint("worker-", w))
						if err != nil {
							failures.Add(1)
							continue
						}
						if _, loaded := claims.LoadOrStore(id, w); loaded {
							doubles.Add(1)
						}
						if _, err := e.tr.Complete(ctx, *lease, []byte(`{"ok":true}`)); err != nil {
							failures.Add(1)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if failures.Load() != 0 || doubles.Load() != 0 {
				b.Fatalf("%d failures, %d double claims", failures.Load(), doubles.Load())
			}
			report(b, &c, b.N, time.Since(start))
			b.ReportMetric(float64(doubles.Load()), "double-claims")
		})
	}
}
