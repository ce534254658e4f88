package tracker_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// failTasks creates tasks t-1..t-n of job and fails each once, a second apart: the first
// ones because the file is missing, the others because it is not an image.
func failTasks(tr *tracker.Tracker, clock *time.Time, job string, n, missing int) {
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("t-%d", i)
		if _, err := tr.CreateTask(ctx, job, id, nil); err != nil {
			log.Fatal(err)
		}
		lease, err := tr.Claim(ctx, job, id, "worker-1")
		if err != nil {
			log.Fatal(err)
		}
		f := tracker.Failure{Error: fmt.Sprintf("NotFound: s3://bucket/in/%s.png does not exist", id),
			Traceback: "  File \"/var/task/resize.py\", line 12, in handler\n    body = s3.get_object(Bucket=b, Key=k)\n"}
		if i > missing {
			f = tracker.Failure{Error: fmt.Sprintf("UnidentifiedImageError: cannot identify image file '%s.png'", id),
				Traceback: "  File \"/var/task/resize.py\", line 14, in handler\n    img = Image.open(body)\n"}
		}
		if _, err := tr.Fail(ctx, *lease, f); err != nil {
			log.Fatal(err)
		}
		*clock = clock.Add(time.Second)
	}
}

// A job fails in two ways: Groups counts each, largest first, with a sample, and List pages
// the tasks of one group.
func ExampleTracker_Groups() {
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tr := exampleTracker("example-groups", "resize", func() time.Time { return clock })
	failTasks(tr, &clock, "resize", 5, 3)

	groups, err := tr.Groups(ctx, "resize", tracker.GroupOptions{Samples: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range groups {
		fmt.Printf("%s: %d tasks (%d failed), %s to %s, latest %s\n", g.Fingerprint, g.Tasks, g.Failed,
			g.FirstSeen.Format(time.TimeOnly), g.LastSeen.Format(time.TimeOnly), g.SampleID)
	}
	fmt.Println("sample:", groups[0].Sample.Error.Error)

	page, err := tr.List(ctx, "resize", tracker.ListOptions{Fingerprint: groups[0].Fingerprint})
	if err != nil {
		log.Fatal(err)
	}
	var ids []string
	for _, task := range page.Tasks {
		ids = append(ids, task.TaskID)
	}
	slices.Sort(ids)
	fmt.Println("its tasks:", ids)
	// Output:
	// v1:58426be6fe84: 3 tasks (3 failed), 09:00:00 to 09:00:02, latest t-3
	// v1:28f17025620d: 2 tasks (2 failed), 09:00:03 to 09:00:04, latest t-5
	// sample: NotFound: s3://bucket/in/t-3.png does not exist
	// its tasks: [t-1 t-2 t-3]
}

// A bulk action retries a failure group: each task with one conditional write, in steps; a
// task that runs or moved on meanwhile would be counted as refused, never overwritten.
func ExampleTracker_RunBulk() {
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tr := exampleTracker("example-bulk", "resize", func() time.Time { return clock })
	failTasks(tr, &clock, "resize", 5, 3)
	groups, err := tr.Groups(ctx, "resize", tracker.GroupOptions{})
	if err != nil {
		log.Fatal(err)
	}

	sel := tracker.Selection{Fingerprint: groups[0].Fingerprint}
	n, err := tr.CountSelected(ctx, "resize", tracker.BulkRetry, sel)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a dry run would retry", n, "tasks")
	b, err := tr.NewBulk("resize", tracker.BulkOptions{Action: tracker.BulkRetry, Select: sel, ID: "retry-missing"})
	if err != nil {
		log.Fatal(err)
	}
	done, err := tr.RunBulk(ctx, *b, 2, func(p tracker.Bulk) { fmt.Printf("step %d: %d listed\n", p.Steps, p.Listed) })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d changed, %d refused, done %v\n", done.ID, done.Changed, done.Refused, done.Done)
	task, err := tr.Get(ctx, "resize", "t-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("t-1 is %s again, its failure in its history: %s\n", task.Status, task.History[0].Error)
	// Output:
	// a dry run would retry 3 tasks
	// step 1: 2 listed
	// step 2: 3 listed
	// retry-missing: 3 changed, 0 refused, done true
	// t-1 is todo again, its failure in its history: NotFound: s3://bucket/in/t-1.png does not exist
}

// Snapshot counts a job's tasks once each, whatever moves while it reads.
func ExampleTracker_Snapshot() {
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tr := exampleTracker("example-snapshot", "resize", func() time.Time { return clock })
	failTasks(tr, &clock, "resize", 3, 3)
	if _, err := tr.CreateTask(ctx, "resize", "t-4", nil); err != nil {
		log.Fatal(err)
	}
	snap, err := tr.Snapshot(ctx, "resize")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d tasks: %d todo, %d failed\n", snap.Total, snap.Counts[tracker.Todo], snap.Counts[tracker.Failed])
	// Output:
	// 4 tasks: 1 todo, 3 failed
}

// ListAll reads a whole failure group, several partitions of the failure index at once, in
// the order List pages it; the cursor of a task resumes the listing after it.
func ExampleTracker_ListAll() {
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tr := exampleTracker("example-listall", "resize", func() time.Time { return clock })
	failTasks(tr, &clock, "resize", 5, 3)
	groups, err := tr.Groups(ctx, "resize", tracker.GroupOptions{})
	if err != nil {
		log.Fatal(err)
	}

	opts := tracker.ListOptions{Fingerprint: groups[0].Fingerprint}
	var first tracker.ListedTask
	for lt, err := range tr.ListAll(ctx, "resize", opts) {
		if err != nil {
			log.Fatal(err) // lt is zero; the last task taken has the cursor to resume from
		}
		if first.Task.TaskID == "" {
			first = lt
		}
		fmt.Println(lt.Task.TaskID, lt.Task.Status, lt.Task.Failure.Message)
	}
	opts.Cursor = first.Cursor()
	fmt.Print("after ", first.Task.TaskID, ":")
	for lt, err := range tr.ListAll(ctx, "resize", opts) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Print(" ", lt.Task.TaskID)
	}
	fmt.Println()
	// Output:
	// t-2 failed NotFound: s3://bucket/in/t-2.png does not exist
	// t-1 failed NotFound: s3://bucket/in/t-1.png does not exist
	// t-3 failed NotFound: s3://bucket/in/t-3.png does not exist
	// after t-2: t-1 t-3
}
