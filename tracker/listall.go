package tracker

import (
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// listReads is how many partitions of the failure index ListAll reads at once. A failure
// group spans 2 × FailureShards partitions (16 for a job of one shard), read in order; with 8
// in flight the shards of one status are read together while the consumer takes the first,
// which hides the round trips of a bare paged Query of the same keys, and the memory held
// ahead of the consumer stays at most 8 partitions' pages (listAhead each).
const listReads = 8

// listAhead is how many pages (each up to 1 MB on the wire) a partition reader of ListAll
// holds ready beyond the one it is reading.
const listAhead = 1

// ListedTask is a task ListAll yields, with where its listing resumes after it.
type ListedTask struct {
	Task Task

	// Where the task sits: a failure listing's partition and failure key, the listing's
	// fingerprint; byFailure false for a listing by status, which resumes by task id.
	byFailure   bool
	part        int
	failureKey  string
	fingerprint string
}

// Cursor returns the cursor that resumes the listing right after this task: give it as
// ListOptions.Cursor to List or ListAll. It is never empty, even after the listing's last
// task (a listing resumed there is empty).
func (lt ListedTask) Cursor() string {
	if !lt.byFailure {
		return encodeCursor(lt.Task.JobID, lt.Task.TaskID)
	}
	return failureCursor{Job: lt.Task.JobID, Fingerprint: lt.fingerprint, Part: lt.part, FailureKey: lt.failureKey, TaskID: lt.Task.TaskID}.encode()
}

// ListAll reads the rest of a listing, from opts.Cursor to its end, and yields its tasks one
// at a time in the order List pages them, each with the cursor that resumes after it: the
// tasks the pages of List from opts.Cursor hold, the same, in the same order. It stops at
// the first error, which it yields (with a zero ListedTask) as its last pair; a caller that
// must resume keeps the cursor of the last task it took. The listing is whole when the
// sequence ends without an error.
//
// A listing by failure (opts.Fingerprint or opts.ErrorContains) is read up to listReads
// (8) partitions of the failure index at once, each to its end in DynamoDB's own pages (up
// to 1 MB, not opts.Limit): partitions ahead of the one being yielded are read
// concurrently, each holding at most a page or two ready, so the memory held ahead of the
// caller is bounded whatever the listing's length. A listing by status pages List with
// opts.Limit as before, the next page read while the caller takes the last.
//
// The reads run while the caller's loop body runs; they are cancelled, and ListAll returns
// only after they ended, when the loop stops early or ctx ends. Options are checked as List
// checks them, and a refusal is the first pair.
func (t *Tracker) ListAll(ctx context.Context, job string, opts ListOptions) iter.Seq2[ListedTask, error] {
	return func(yield func(ListedTask, error) bool) {
		if !opts.failures() {
			t.listPagesAll(ctx, job, opts, yield)
			return
		}
		if err := opts.checkFailurePage(job); err != nil {
			yield(ListedTask{}, err)
			return
		}
		t.listFailuresAll(ctx, failureListingOf(job, opts), opts.Cursor, yield)
	}
}

// listChunk is a run of a listing's tasks that a reader of ListAll hands on, in order, or
// the error that ended its reading.
type listChunk struct {
	tasks []ListedTask
	err   error
}

// send hands c on to the consumer; false when ctx ended first.
func send(ctx context.Context, out chan<- listChunk, c listChunk) bool {
	select {
	case out <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// yieldChunks yields the tasks of the chunks in, until in closes, and reports whether the
// listing goes on: false when the consumer stopped or a chunk was an error (then yielded,
// explained by explain). A reader closes in early only when ctx ended, yielded as its error.
func yieldChunks(ctx context.Context, in <-chan listChunk, explain func(error) error, yield func(ListedTask, error) bool) bool {
	for c := range in {
		if c.err != nil {
			yield(ListedTask{}, explain(c.err))
			return false
		}
		for _, lt := range c.tasks {
			if ctx.Err() != nil {
				break // yielded below
			}
			if !yield(lt, nil) {
				return false
			}
		}
	}
	if err := ctx.Err(); err != nil {
		yield(ListedTask{}, err)
		return false
	}
	return true
}

// listPagesAll is ListAll of a listing by status: the pages of List, one read ahead.
func (t *Tracker) listPagesAll(ctx context.Context, job string, opts ListOptions, yield func(ListedTask, error) bool) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	pages := make(chan listChunk, 1)
	wg.Go(func() {
		defer close(pages)
		for {
			page, err := t.List(ctx, job, opts)
			c := listChunk{err: err}
			if err == nil {
				c.tasks = make([]ListedTask, len(page.Tasks))
				for i := range page.Tasks {
					c.tasks[i] = ListedTask{Task: page.Tasks[i]}
				}
			}
			if !send(ctx, pages, c) || err != nil || page.Cursor == "" {
				return
			}
			opts.Cursor = page.Cursor
		}
	})
	yieldChunks(ctx, pages, func(err error) error { return err }, yield)
}

// listFailuresAll is ListAll of a listing by failure: its partitions from cursor's on,
// listReads of them read at once, yielded in order.
func (t *Tracker) listFailuresAll(ctx context.Context, l failureListing, cursor string, yield func(ListedTask, error) bool) {
	cur, err := decodeFailureCursor(l.job, l.fingerprint, cursor)
	if err != nil {
		yield(ListedTask{}, err)
		return
	}
	// As listFailures: the queries of every projected attribute check the layout themselves
	// (a refusal is explained), those of the keys alone are checked beside.
	checked := func() error { return nil }
	if l.projection == nil {
		l.projection = failureEntryAttributes()
	} else {
		checked = t.checkFailureLayoutBeside(ctx)
	}
	explain := func(err error) error {
		if lerr := checked(); lerr != nil {
			return lerr
		}
		return t.explainFailureQuery(ctx, fmt.Errorf("list failures of %s: %w", l.job, err))
	}
	parts, err := t.failurePartitions(ctx, l.job, l.statuses)
	if err != nil {
		yield(ListedTask{}, explain(err))
		return
	}
	q, err := l.query()
	if err != nil {
		yield(ListedTask{}, err)
		return
	}
	var todo []int // the positions of the partitions to read, in order
	for i := cur.Part; i < len(parts); i++ {
		if parts[i].value != "" {
			todo = append(todo, i)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	chunks := make([]chan listChunk, len(todo))
	start := func(k int) {
		if k >= len(todo) {
			return
		}
		i := todo[k]
		q := q
		q.value = parts[i].value
		if i == cur.Part && cur.TaskID != "" {
			q.start = startAfter(l.job, q.value, cur.FailureKey, cur.TaskID)
		}
		chunks[k] = make(chan listChunk, listAhead)
		wg.Go(func() { t.readFailurePartition(ctx, l, q, i, parts[i].status, chunks[k]) })
	}
	for k := range min(listReads, len(todo)) {
		start(k)
	}
	// Nothing read is yielded before the layout check passed.
	if err := checked(); err != nil {
		yield(ListedTask{}, err)
		return
	}
	for k := range todo {
		if !yieldChunks(ctx, chunks[k], explain, yield) {
			return
		}
		chunks[k] = nil
		start(k + listReads)
	}
}

// readFailurePartition reads partition q.value (position part, status s) to its end, or
// until ctx ends, and hands its entries on to out a page at a time; it closes out.
func (t *Tracker) readFailurePartition(ctx context.Context, l failureListing, q indexQuery, part int, s Status, out chan<- listChunk) {
	defer close(out)
	err := t.queryAll(ctx, q, func(res *dynamodb.QueryOutput) error {
		c := listChunk{tasks: make([]ListedTask, 0, len(res.Items))}
		for _, av := range res.Items {
			e, err := t.failureEntry(l, s, av)
			if err != nil {
				return err
			}
			c.tasks = append(c.tasks, ListedTask{Task: e.task, byFailure: true, part: part, failureKey: e.failureKey, fingerprint: l.fingerprint})
		}
		if !send(ctx, out, c) {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		send(ctx, out, listChunk{err: err})
	}
}
