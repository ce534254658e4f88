package tracker

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Page limits.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// ListOptions selects a page of a job's tasks.
type ListOptions struct {
	// Statuses to include; empty means every status.
	Statuses []Status
	// Limit is the most tasks the page holds, over all statuses together; 0 means 100.
	Limit int
	// Cursor resumes after the previous page; empty starts at the first task.
	Cursor string
}

// Page is one page of tasks, ordered by task id.
type Page struct {
	Tasks []Task
	// Cursor resumes after this page; empty when there are no more tasks. A page may come
	// back short (even empty) with a cursor; keep going until the cursor is empty.
	Cursor string
}

// Get reads one task whole (consistent read). It reads a task whatever its id, even one
// that another writer created with an id ValidateID refuses.
func (t *Tracker) Get(ctx context.Context, job, task string) (*Task, error) {
	if err := validateStoredID(job, task); err != nil {
		return nil, err
	}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(t.cfg.Table), Key: keyAV(job, task), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", job, task, err)
	}
	if len(out.Item) == 0 {
		return nil, &ConflictError{Op: "get", JobID: job, TaskID: task, Reason: ErrTaskNotFound}
	}
	return t.decodeTask(out.Item)
}

// List returns a page of a job's tasks in the given statuses, ordered by task id, from the
// index (so without Data and Error: use Get for those). On a table whose index lacks the
// tracker's layout (the seed's), it returns a *TableLayoutError matching ErrTableLayout. It queries each status's index
// partition from the cursor on and merges them.
func (t *Tracker) List(ctx context.Context, job string, opts ListOptions) (*Page, error) {
	statuses := opts.Statuses
	if len(statuses) == 0 {
		statuses = Statuses
	}
	streams := make([]stream, 0, len(statuses))
	for _, s := range dedupe(statuses) {
		if !s.known() {
			return nil, &ValidationError{Field: "status", Reason: fmt.Sprintf("%d is not a status", int(s))}
		}
		streams = append(streams, stream{status: s})
	}
	return t.page(ctx, job, streams, opts.Limit, opts.Cursor)
}

// Pending returns a page of the tasks a run should pick up, ordered by task id: todo, failed
// and due (RetryAt passed), and in progress with an expired lease (a crashed worker's task,
// which the seed's catch-up query would leave stuck forever): the tasks Claim would take.
// limit 0 means 100; cursor resumes a previous page.
func (t *Tracker) Pending(ctx context.Context, job string, limit int, cursor string) (*Page, error) {
	now := t.now()
	return t.page(ctx, job, []stream{{status: Todo}, {status: Failed, filter: due(now)}, {status: InProgress, filter: t.lockFree(now)}}, limit, cursor)
}

// NextDue returns the earliest and the latest RetryAt among the job's failed tasks that are
// not due yet, and false when there is none. It reads the job's failed tasks on the index
// (their keys and retry_at), so a run asks once per round, not per page.
func (t *Tracker) NextDue(ctx context.Context, job string) (first, last time.Time, ok bool, err error) {
	if err := ValidateJob(job); err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	if err := t.checkLayout(ctx); err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	at := expression.Name(attrRetryAt)
	b := expression.NewBuilder().
		WithKeyCondition(expression.Key(StatusAttribute).Equal(expression.Value(makeValue(job, t.Codes(job).Failed)))).
		WithFilter(at.GreaterThan(expression.Value(formatTime(t.now())))).
		WithProjection(expression.NamesList(expression.Name(KeyAttribute), at))
	expr, err := b.Build()
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName: aws.String(t.cfg.Table), IndexName: aws.String(IndexName),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return time.Time{}, time.Time{}, false, fmt.Errorf("next due task of %s: %w", job, err)
		}
		for _, av := range out.Items {
			s, ok := av[attrRetryAt].(*types.AttributeValueMemberS)
			if !ok {
				continue
			}
			v, err := parseTime(s.Value)
			if err != nil {
				return time.Time{}, time.Time{}, false, err
			}
			if first.IsZero() || v.Before(first) {
				first = v
			}
			if v.After(last) {
				last = v
			}
		}
	}
	return first, last, !first.IsZero(), nil
}

// Count returns how many tasks of a job are in each status (every status present, zero
// included). It counts on the index with Select COUNT, reading no items.
func (t *Tracker) Count(ctx context.Context, job string) (map[Status]int, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	codes := t.Codes(job)
	counts := make(map[Status]int, len(Statuses))
	for _, s := range Statuses {
		expr, err := expression.NewBuilder().
			WithKeyCondition(expression.Key(StatusAttribute).Equal(expression.Value(makeValue(job, codes.Code(s))))).Build()
		if err != nil {
			return nil, err
		}
		in := &dynamodb.QueryInput{
			TableName: aws.String(t.cfg.Table), IndexName: aws.String(IndexName), Select: types.SelectCount,
			KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}
		p := dynamodb.NewQueryPaginator(t.db, in)
		counts[s] = 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("count %s tasks of %s: %w", s, job, err)
			}
			counts[s] += int(out.Count)
		}
	}
	return counts, nil
}

// stream is one index partition (a job's status) read from the cursor on.
type stream struct {
	status Status
	filter expression.ConditionBuilder // when set, only the tasks it holds for
}

func (t *Tracker) page(ctx context.Context, job string, streams []stream, limit int, cursor string) (*Page, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxPageLimit {
		return nil, &ValidationError{Field: "limit", Reason: fmt.Sprintf("must be within 0..%d", MaxPageLimit)}
	}
	if limit == 0 {
		limit = DefaultPageLimit
	}
	after, err := decodeCursor(job, cursor)
	if err != nil {
		return nil, err
	}
	// The seed's index (no range key, keys only) would answer with pages out of order and
	// without the lease attributes: refuse before reading rather than return a wrong page.
	if err := t.checkLayout(ctx); err != nil {
		return nil, err
	}
	var all []Task
	more := false
	for _, s := range streams {
		tasks, hasMore, err := t.readStream(ctx, job, s, after, limit)
		if err != nil {
			return nil, err
		}
		all = append(all, tasks...)
		more = more || hasMore
	}
	sort.Slice(all, func(i, j int) bool { return all[i].TaskID < all[j].TaskID })
	if len(all) > limit {
		all, more = all[:limit], true
	}
	page := &Page{Tasks: all}
	if more && len(all) > 0 {
		page.Cursor = encodeCursor(job, all[len(all)-1].TaskID)
	} else if more {
		page.Cursor = cursor
	}
	return page, nil
}

// readStream reads up to limit matching tasks of one stream with task ids after `after`,
// and says whether the partition may hold more.
func (t *Tracker) readStream(ctx context.Context, job string, s stream, after string, limit int) ([]Task, bool, error) {
	value := makeValue(job, t.Codes(job).Code(s.status))
	kc := expression.Key(StatusAttribute).Equal(expression.Value(value))
	if after != "" {
		kc = kc.And(expression.Key(KeyAttribute).GreaterThan(expression.Value(makeKey(job, after))))
	}
	b := expression.NewBuilder().WithKeyCondition(kc)
	if s.filter.IsSet() {
		b = b.WithFilter(s.filter)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, false, err
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(t.cfg.Table), IndexName: aws.String(IndexName),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(int32(limit)),
	}
	var tasks []Task
	for {
		out, err := t.db.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("list %s tasks of %s: %w", s.status, job, err)
		}
		for _, av := range out.Items {
			task, err := t.decodeTask(av)
			if err != nil {
				return nil, false, err
			}
			tasks = append(tasks, *task)
		}
		if out.LastEvaluatedKey == nil {
			return tasks, false, nil
		}
		if len(tasks) >= limit {
			return tasks, true, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func dedupe(ss []Status) []Status {
	seen := map[Status]bool{}
	var out []Status
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// encodeCursor names the last task of a page by its key, so that a cursor carries its job
// and cannot resume another job's listing.
func encodeCursor(job, taskID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(makeKey(job, taskID)))
}

// decodeCursor returns the task id a cursor of job resumes after.
func decodeCursor(job, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", &ValidationError{Field: "cursor", Reason: "is not a cursor this tracker returned"}
	}
	cjob, task, err := splitKey(string(b))
	if err != nil || task == "" {
		return "", &ValidationError{Field: "cursor", Reason: "is not a cursor this tracker returned"}
	}
	if cjob != job {
		return "", &ValidationError{Field: "cursor", Reason: fmt.Sprintf("belongs to job %q, not %q", clip(cjob), clip(job))}
	}
	return task, nil
}

// Truncate cuts the page to its first n tasks (n ≥ 1), with a cursor that resumes after
// them: for a caller that must bound a page by more than its count (its encoded size, say).
func (p *Page) Truncate(n int) {
	if n < 1 || n >= len(p.Tasks) {
		return
	}
	p.Tasks = p.Tasks[:n]
	p.Cursor = encodeCursor(p.Tasks[n-1].JobID, p.Tasks[n-1].TaskID)
}

// CursorAfter returns a cursor of job that resumes a listing (List or Pending) after taskID,
// which need not exist: a worker pool starts from an arbitrary point of the id space with it.
func CursorAfter(job, taskID string) string { return encodeCursor(job, taskID) }
