package tracker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// exampleTracker connects to DynamoDB Local (DYNAMODB_ENDPOINT) the way a user connects to
// any endpoint, creates the table if needed and starts from an empty job.
func exampleTracker(table, job string, now func() time.Time) *tracker.Tracker {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	if err != nil {
		log.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("DYNAMODB_ENDPOINT"))
	})
	if err := tracker.CreateTable(ctx, db, table); err != nil {
		log.Fatal(err)
	}
	tr, err := tracker.New(db, tracker.Config{Table: table, Now: now})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tr.DeleteJob(ctx, job); err != nil {
		log.Fatal(err)
	}
	return tr
}

// The happy path: create a task, claim it, do the work, complete it with a result.
func Example() {
	ctx := context.Background()
	tr := exampleTracker("example-happy-path", "parse-json", nil)

	task, _ := tr.CreateTask(ctx, "parse-json", "t-1", nil)
	fmt.Printf("before the job starts: %s, locked: %v\n", task.Status, task.Lock != "")

	lease, err := tr.Claim(ctx, "parse-json", "t-1", "worker-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("in progress: %s, locked: %v\n", lease.Task.Status, lease.Task.Lock != "")

	task, err = tr.Complete(ctx, *lease, json.RawMessage(`{"n_records": 100}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("finished: %s, locked: %v, data: %s\n", task.Status, task.Lock != "", task.Data)
	// Output:
	// before the job starts: todo, locked: false
	// in progress: in_progress, locked: true
	// finished: succeeded, locked: false, data: {"n_records":100}
}

// The failure path: the work fails, the task records the error and counts the attempt; the
// third failure ignores it.
func ExampleTracker_Fail() {
	ctx := context.Background()
	now := time.Now()
	tr := exampleTracker("example-failure-path", "parse-json", func() time.Time { return now })
	if _, err := tr.CreateTask(ctx, "parse-json", "t-2", nil); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		lease, err := tr.Claim(ctx, "parse-json", "t-2", "worker-1")
		if err != nil {
			log.Fatal(err)
		}
		task, err := tr.Fail(ctx, *lease, tracker.Failure{
			Error:     "UserError('something wrong!')",
			Traceback: "main.go:17 raise UserError",
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s, retry %d, error %s\n", task.Status, task.Retry, task.Error.Error)
		now = now.Add(tr.BackoffAfter(task.Retry)) // a failed task waits out its backoff
	}
	_, err := tr.Claim(ctx, "parse-json", "t-2", "worker-1")
	fmt.Println(errors.Is(err, tracker.ErrTaskIgnored))
	// Output:
	// failed, retry 1, error UserError('something wrong!')
	// failed, retry 2, error UserError('something wrong!')
	// ignored, retry 3, error UserError('something wrong!')
	// true
}

// Catch up from the last run: a Pending listing holds todo and failed tasks and those whose
// worker crashed with the lease (its lease expired), never succeeded or ignored ones.
func ExampleTracker_List_pending() {
	ctx := context.Background()
	now := time.Now()
	tr := exampleTracker("example-catch-up", "copy-files", func() time.Time { return now })
	for _, id := range []string{"t-1", "t-2", "t-3", "t-4", "t-5"} {
		if _, err := tr.CreateTask(ctx, "copy-files", id, nil); err != nil {
			log.Fatal(err)
		}
	}
	tr.Claim(ctx, "copy-files", "t-2", "crashed-worker") // never finishes
	l3, _ := tr.Claim(ctx, "copy-files", "t-3", "worker")
	tr.Fail(ctx, *l3, tracker.Failure{Error: "timeout"})
	l4, _ := tr.Claim(ctx, "copy-files", "t-4", "worker")
	tr.Complete(ctx, *l4, nil)
	tr.Ignore(ctx, "copy-files", "t-5")

	now = now.Add(16 * time.Minute) // t-2's 15-minute lease runs out
	page, err := tr.List(ctx, "copy-files", tracker.ListOptions{Pending: true, Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, task := range page.Tasks {
		fmt.Println(task.TaskID, task.Status)
	}
	// Output:
	// t-1 todo
	// t-2 in_progress
	// t-3 failed
}

// Claim what a listing found: ClaimListed claims a task the listing saw new with a leaner
// write than Claim's, and any other task as Claim does.
func ExampleTracker_ClaimListed() {
	ctx := context.Background()
	now := time.Now()
	tr := exampleTracker("example-claim-listed", "resize", func() time.Time { return now })
	for _, id := range []string{"t-1", "t-2"} {
		if _, err := tr.CreateTask(ctx, "resize", id, nil); err != nil {
			log.Fatal(err)
		}
	}
	l2, _ := tr.Claim(ctx, "resize", "t-2", "worker")
	tr.Fail(ctx, *l2, tracker.Failure{Error: "timeout"})

	now = now.Add(time.Minute) // t-2's 5-second backoff runs out
	page, err := tr.List(ctx, "resize", tracker.ListOptions{Pending: true, IDsOnly: true, Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for i := range page.Tasks {
		lease, err := tr.ClaimListed(ctx, &page.Tasks[i], "worker")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(lease.TaskID, "listed", page.Tasks[i].Status, "then", lease.Task.Status, "attempt", lease.Attempt)
	}
	// Output:
	// t-1 listed todo then in_progress attempt 1
	// t-2 listed failed then in_progress attempt 2
}
