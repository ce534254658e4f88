package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
	"github.com/dynamodb-tracker/dynamodb-tracker/worker"
)

// exampleTracker connects to DynamoDB Local (DYNAMODB_ENDPOINT) as a user would, creates the
// table if needed and starts from an empty job.
func exampleTracker(table, job string) *tracker.Tracker {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		log.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("DYNAMODB_ENDPOINT"))
		// DynamoDB Local's error responses (every refused claim) fail the SDK's CRC32 check,
		// which logs a warning each; against AWS, keep the check.
		o.DisableValidateResponseChecksum = true
	})
	if err := tracker.CreateTable(ctx, db, table); err != nil {
		log.Fatal(err)
	}
	tr, err := tracker.New(db, tracker.Config{Table: table})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tr.DeleteJob(ctx, job); err != nil {
		log.Fatal(err)
	}
	return tr
}

// A pool of workers runs a handler over every pending task of a job; a task whose input
// can never work is ended with worker.Permanent.
func ExamplePool() {
	ctx := context.Background()
	tr := exampleTracker("example-worker-pool", "squares")
	var tasks []tracker.NewTask
	for i := range 20 {
		tasks = append(tasks, tracker.NewTask{ID: fmt.Sprintf("n-%02d", i), Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))})
	}
	tasks = append(tasks, tracker.NewTask{ID: "n-xx", Data: json.RawMessage(`{"n": "x"}`)})
	if _, err := tr.CreateTasks(ctx, "squares", tasks); err != nil {
		log.Fatal(err)
	}

	pool := &worker.Pool{Tracker: tr, Job: "squares", Workers: 4,
		Handler: func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
			var in struct{ N int }
			if err := json.Unmarshal(task.Data, &in); err != nil {
				return nil, worker.Permanent(err) // retrying would not help
			}
			return json.Marshal(map[string]int{"square": in.N * in.N})
		}}
	stats, err := pool.Run(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("succeeded %d, ignored %d\n", stats.Succeeded, stats.Ignored)
	task, _ := tr.Get(ctx, "squares", "n-12")
	fmt.Println(string(task.Data))
	// Output:
	// succeeded 20, ignored 1
	// {"square":144}
}

// Run does one task, as the seed's `with task.start_job():` does: an error fails the task.
func ExampleRun() {
	ctx := context.Background()
	tr := exampleTracker("example-worker-run", "parse-json")
	if _, err := tr.CreateTask(ctx, "parse-json", "t-1", nil); err != nil {
		log.Fatal(err)
	}
	task, err := worker.Run(ctx, tr, "parse-json", "t-1", func(ctx context.Context, task *tracker.Task) (json.RawMessage, error) {
		return nil, errors.New("UserError('something wrong!')")
	})
	fmt.Println(err)
	fmt.Println(task.Status, task.Retry, task.Error.Error)
	// Output:
	// UserError('something wrong!')
	// failed 1 UserError('something wrong!')
}
