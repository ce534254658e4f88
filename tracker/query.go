package tracker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

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
	// Through ends the listing at this task id, which need not exist: the pages hold no
	// task whose id sorts after it (the key condition bounds the query, so DynamoDB reads
	// nothing past it). Empty means the job's last task. A worker pool lists a stretch of
	// the id space with Cursor (CursorAfter) and Through.
	Through string
	// Pending keeps only the tasks Claim would take now (claimable): todo, failed and due
	// (RetryAt passed), and in progress under an expired lease (a crashed worker's task, which
	// the seed's catch-up query would leave stuck forever). With Statuses, only those of them.
	Pending bool
	// IDsOnly reads only each task's JobID, TaskID, Status, Lock and RetryAt (the other
	// fields are left zero): less for DynamoDB to send and for the client to decode, for a
	// caller that claims what it lists (ClaimListed) and gets the whole task from the claim.
	IDsOnly bool

	// Fingerprint keeps the tasks whose current failure has this fingerprint: a group of
	// Groups, its failed and its ignored tasks (Statuses narrows them).
	Fingerprint string
	// ErrorContains keeps the tasks whose current failure's error text contains this text,
	// case-sensitively, within its first MaxFailureMessageBytes bytes (what the failure
	// index carries).
	//
	// With either, the tasks are read from the failure index (FailureIndexName): only
	// failed and ignored tasks, whose failure this package recorded; Statuses may name those
	// two only, and Pending and Through are refused. Matching happens on the server, and a
	// page is full unless it is the last: the listing reads on until it has Limit matches.
	// The tasks come ordered by status (failed, then ignored), then by the index's shard, then
	// by when they failed, and carry Failure.
	ErrorContains string
}

// failures reports whether the options list the failure index.
func (o ListOptions) failures() bool { return o.Fingerprint != "" || o.ErrorContains != "" }

// checkFailureListing refuses options that a listing of the failure index cannot serve.
func (o ListOptions) checkFailureListing() error {
	if o.Fingerprint != "" {
		if err := ValidateFingerprint(o.Fingerprint); err != nil {
			return err
		}
	}
	if err := validateErrorText(o.ErrorContains); err != nil {
		return err
	}
	switch {
	case o.Pending:
		return &ValidationError{Field: "pending", Reason: "a listing by fingerprint or error text lists failed and ignored tasks, none pending"}
	case o.Through != "":
		return &ValidationError{Field: "through", Reason: "a listing by fingerprint or error text is not ordered by task id"}
	}
	for _, s := range o.Statuses {
		if s != Failed && s != Ignored {
			return &ValidationError{Field: "status", Reason: fmt.Sprintf("a listing by fingerprint or error text holds failed and ignored tasks, not %s ones", s)}
		}
	}
	return nil
}

// checkFailurePage refuses a job and options that a listing of the failure index cannot
// serve, and a page limit out of range.
func (o ListOptions) checkFailurePage(job string) error {
	if err := ValidateJob(job); err != nil {
		return err
	}
	if err := o.checkFailureListing(); err != nil {
		return err
	}
	if o.Limit < 0 || o.Limit > MaxPageLimit {
		return &ValidationError{Field: "limit", Reason: fmt.Sprintf("must be within 0..%d", MaxPageLimit)}
	}
	return nil
}

// validateErrorText refuses an error text a failure's message cannot contain.
func validateErrorText(text string) error {
	switch {
	case !utf8.ValidString(text):
		return &ValidationError{Field: "error", Reason: "must be valid UTF-8"}
	case len(text) > MaxFailureMessageBytes:
		return &ValidationError{Field: "error", Reason: fmt.Sprintf("is %d bytes: a failure index entry holds %d bytes of the message", len(text), MaxFailureMessageBytes)}
	}
	return nil
}

// Page is one page of tasks, ordered by task id.
type Page struct {
	Tasks []Task
	// Cursor resumes after this page; empty when there are no more tasks. A page may come
	// back short (even empty) with a cursor; keep going until the cursor is empty.
	Cursor string
}

// Get reads one task whole (consistent read). It reads a task whatever its id, even one
// that another writer created with an id ValidateID refuses. A task that does not exist is an
// error matching ErrTaskNotFound.
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
		return nil, fmt.Errorf("get %s/%s: %w", clip(job), clip(task), ErrTaskNotFound)
	}
	return t.decodeTask(out.Item)
}

// List returns a page of a job's tasks in the given statuses, ordered by task id, from the
// index (so without Data and Error: use Get for those); with opts.Pending, only the tasks a
// run should pick up. On a table whose index lacks the tracker's layout (the seed's), it
// returns a *TableLayoutError matching ErrTableLayout. It queries each status's index
// partition from the cursor on and merges them.
func (t *Tracker) List(ctx context.Context, job string, opts ListOptions) (*Page, error) {
	if opts.failures() {
		return t.listByFailure(ctx, job, opts)
	}
	statuses := opts.Statuses
	if len(statuses) == 0 {
		statuses = Statuses()
	}
	var filter expression.ConditionBuilder
	if opts.Pending {
		filter = t.claimableFilter(t.now())
	}
	var read []Status
	for _, s := range dedupe(statuses) {
		if !s.known() {
			return nil, &ValidationError{Field: "status", Reason: fmt.Sprintf("%d is not a status", int(s))}
		}
		if !opts.Pending || slices.Contains(claimableStatuses, s) {
			read = append(read, s)
		}
	}
	var projection []string
	if opts.IDsOnly {
		projection = listedAttributes
	}
	q := indexQuery{filter: filter, projection: projection, limit: opts.Limit}
	if opts.Through != "" {
		if err := ValidateID(job, opts.Through); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) && ve.Field == "task_id" {
				return nil, &ValidationError{Field: "through", Reason: ve.Reason}
			}
			return nil, err
		}
		q.through = makeKey(job, opts.Through)
	}
	return t.page(ctx, job, read, q, opts.Cursor)
}

// listByFailure is List by fingerprint or error text, on the failure index.
func (t *Tracker) listByFailure(ctx context.Context, job string, opts ListOptions) (*Page, error) {
	if err := opts.checkFailurePage(job); err != nil {
		return nil, err
	}
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultPageLimit
	}
	l := failureListingOf(job, opts)
	entries, cursor, err := t.listFailures(ctx, l, opts.Cursor, limit)
	if err != nil {
		return nil, err
	}
	page := &Page{Tasks: make([]Task, len(entries)), Cursor: cursor}
	for i, e := range entries {
		page.Tasks[i] = e.task
	}
	return page, nil
}

// listedAttributes are what a listing of IDsOnly reads of a task: its key and status, and
// what ClaimListed asks of a task listed todo (its lock and retry time, mostly absent).
var listedAttributes = []string{KeyAttribute, StatusAttribute, attrLock, attrRetryAt}

// failureListingOf is the listing of the failure index that opts select.
func failureListingOf(job string, opts ListOptions) failureListing {
	l := failureListing{job: job, statuses: dedupe(opts.Statuses), fingerprint: opts.Fingerprint, contains: opts.ErrorContains, decode: !opts.IDsOnly}
	if opts.IDsOnly {
		l.projection = []string{KeyAttribute, FailurePartAttribute, FailureKeyAttribute}
	}
	return l
}

// Due says when a job's waiting failed tasks (not due yet) are due.
type Due struct {
	// Waiting is true when some failed task is not due yet.
	Waiting bool
	// First and Last are the earliest and the latest RetryAt among them.
	First, Last time.Time
}

// NextDue says when the job's failed tasks that are not due yet are due, and its todo tasks
// held back by ReleaseFor. It reads the job's failed and todo tasks on the index whose
// retry_at is later than now (their keys and retry_at), so a run asks once a round, when
// nothing is due: then every todo task left is one held back.
func (t *Tracker) NextDue(ctx context.Context, job string) (Due, error) {
	if err := ValidateJob(job); err != nil {
		return Due{}, err
	}
	if err := t.checkLayout(ctx); err != nil {
		return Due{}, err
	}
	shards, err := t.shards(ctx, job)
	if err != nil {
		return Due{}, err
	}
	var first, last time.Time
	q := indexQuery{filter: expression.Name(attrRetryAt).GreaterThan(expression.Value(formatTime(t.now()))),
		projection: []string{KeyAttribute, attrRetryAt}}
	codes := t.Codes(job)
	err = t.queryPartitions(ctx, q, append(partitions(job, codes.Failed, shards), partitions(job, codes.Todo, shards)...), func(out *dynamodb.QueryOutput) error {
		for _, av := range out.Items {
			s, ok := av[attrRetryAt].(*types.AttributeValueMemberS)
			if !ok {
				continue
			}
			v, err := parseTime(s.Value)
			if err != nil {
				return err
			}
			if first.IsZero() || v.Before(first) {
				first = v
			}
			if v.After(last) {
				last = v
			}
		}
		return nil
	})
	if err != nil {
		return Due{}, fmt.Errorf("next due task of %s: %w", job, err)
	}
	return Due{Waiting: !first.IsZero(), First: first, Last: last}, nil
}

// Count returns how many tasks of a job are in each status (every status present, zero
// included). It counts on the index with Select COUNT, reading no items.
func (t *Tracker) Count(ctx context.Context, job string) (map[Status]int, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	codes := t.Codes(job)
	shards, err := t.shards(ctx, job)
	if err != nil {
		return nil, err
	}
	counts := make(map[Status]int, len(Statuses()))
	for _, s := range Statuses() {
		counts[s] = 0
		err := t.queryPartitions(ctx, indexQuery{count: true}, partitions(job, codes.Code(s), shards), func(out *dynamodb.QueryOutput) error {
			counts[s] += int(out.Count)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("count %s tasks of %s: %w", s, job, err)
		}
	}
	return counts, nil
}

// CountUpTo counts the job's tasks in statuses (Select COUNT on the index, reading no items),
// stopping once the count reaches limit (0: no limit): a caller that needs to know only
// whether a job holds at least so many tasks reads no more of a big job than that.
func (t *Tracker) CountUpTo(ctx context.Context, job string, statuses []Status, limit int) (int, error) {
	if err := ValidateJob(job); err != nil {
		return 0, err
	}
	shards, err := t.shards(ctx, job)
	if err != nil {
		return 0, err
	}
	n := 0
	errEnough := errors.New("enough")
	for _, s := range dedupe(statuses) {
		// With a limit, each call reads no more entries than are left to count.
		err := t.queryPartitions(ctx, indexQuery{count: true, limit: max(limit-n, 0)}, partitions(job, t.Codes(job).Code(s), shards), func(out *dynamodb.QueryOutput) error {
			if n += int(out.Count); limit > 0 && n >= limit {
				return errEnough
			}
			return nil
		})
		if errors.Is(err, errEnough) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("count %s tasks of %s: %w", s, job, err)
		}
	}
	return n, nil
}

// page reads a page of the job's tasks in statuses, up to q.limit of them, only those
// q.filter holds for when it is set and only q.projection's attributes when it is set.
func (t *Tracker) page(ctx context.Context, job string, statuses []Status, q indexQuery, cursor string) (*Page, error) {
	limit := q.limit
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxPageLimit {
		return nil, &ValidationError{Field: "limit", Reason: fmt.Sprintf("must be within 0..%d", MaxPageLimit)}
	}
	if limit == 0 {
		limit = DefaultPageLimit
	}
	q.limit = limit
	after, err := decodeCursor(job, cursor)
	if err != nil {
		return nil, err
	}
	// The seed's index (no range key, keys only) would answer with pages out of order and
	// without the lease attributes: the page is read while the table is described, and
	// refused, unread, when the check fails.
	checked := t.checkLayoutBeside(ctx)
	page, err := t.readPage(ctx, job, statuses, q, cursor, after)
	if lerr := checked(); lerr != nil {
		return nil, lerr
	}
	return page, err
}

// readPage is page, its arguments checked, the layout checked beside it.
func (t *Tracker) readPage(ctx context.Context, job string, statuses []Status, q indexQuery, cursor, after string) (*Page, error) {
	limit := q.limit
	var all []Task
	more := false
	if q.through != "" && after != "" && makeKey(job, after) >= q.through {
		statuses = nil // the listing is past its end
	}
	shards, err := t.shards(ctx, job)
	if err != nil {
		return nil, err
	}
	for _, s := range statuses {
		for _, value := range partitions(job, t.Codes(job).Code(s), shards) {
			tasks, hasMore, err := t.readPartition(ctx, job, s, value, q, after)
			if err != nil {
				return nil, err
			}
			all = append(all, tasks...)
			more = more || hasMore
		}
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

// readPartition reads up to q.limit tasks of one index partition of status s (value) with
// task ids after `after` that q's filter holds for, and says whether the partition may hold
// more.
func (t *Tracker) readPartition(ctx context.Context, job string, s Status, value string, q indexQuery, after string) ([]Task, bool, error) {
	q.value = value
	if after != "" {
		q.after = makeKey(job, after)
	}
	want := q.limit
	if q.filter.IsSet() {
		// DynamoDB applies a query's Limit before its filter: a filtered read of a few tasks
		// among many items the filter drops (the running tasks a pending listing reads past)
		// would take a call per item. Read a default page per call, and return no more than
		// the caller asked for: it goes on after the last task it got.
		q.limit = max(q.limit, DefaultPageLimit)
	}
	if q.after != "" && q.through != "" && q.limit > 0 {
		// BETWEEN holds the task the listing resumes after too, dropped below: read one item
		// more, so that a full page takes one call, not two.
		q.limit++
	}
	in, err := t.queryInput(q)
	if err != nil {
		return nil, false, err
	}
	var tasks []Task
	for {
		out, err := t.db.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("list %s tasks of %s: %w", s, job, err)
		}
		for _, av := range out.Items {
			task, err := t.decodeTask(av)
			if err != nil {
				return nil, false, err
			}
			if task.TaskID == after {
				continue // a bounded query's BETWEEN includes the task it resumes after
			}
			tasks = append(tasks, *task)
		}
		if want > 0 && len(tasks) > want {
			return tasks[:want], true, nil
		}
		if out.LastEvaluatedKey == nil {
			return tasks, false, nil
		}
		if len(tasks) >= want {
			return tasks, true, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// indexQuery is a Query of one partition of an index: on the status index, the items whose
// index value is value (a job's status, or the job registry); on the failure index
// (failures), those whose failure_part is value.
type indexQuery struct {
	value      string
	after      string                      // when set, only the items whose key sorts after it
	through    string                      // when set, only the items whose key sorts at or before it
	keyPrefix  string                      // when set (and neither is), only the items whose key begins with it
	filter     expression.ConditionBuilder // when set, only the items it holds for
	projection []string                    // when set, only these attributes
	count      bool                        // Select COUNT: the number of items, not the items
	limit      int                         // when set, the most items one call reads
	backward   bool                        // highest keys first

	// failures queries the failure index; prefix and upTo then bound its range key
	// (failure_key begins with prefix; with upTo too, lies between them).
	failures     bool
	prefix, upTo string
	// start resumes the query after this item (ExclusiveStartKey).
	start map[string]types.AttributeValue
}

// queryInput builds the Query of q on the tracker's table and index: the one place a query
// on an index is written.
func (t *Tracker) queryInput(q indexQuery) (*dynamodb.QueryInput, error) {
	if q.failures {
		return t.failureQueryInput(q)
	}
	kc := expression.Key(StatusAttribute).Equal(expression.Value(q.value))
	switch {
	case q.after != "" && q.through != "":
		// One condition on the range key: BETWEEN holds q.after too, which readStatus drops.
		kc = kc.And(expression.Key(KeyAttribute).Between(expression.Value(q.after), expression.Value(q.through)))
	case q.after != "":
		kc = kc.And(expression.Key(KeyAttribute).GreaterThan(expression.Value(q.after)))
	case q.through != "":
		kc = kc.And(expression.Key(KeyAttribute).LessThanEqual(expression.Value(q.through)))
	case q.keyPrefix != "":
		kc = kc.And(expression.Key(KeyAttribute).BeginsWith(q.keyPrefix))
	}
	return t.buildQuery(q, IndexName, kc)
}

// failureQueryInput is queryInput on the failure index.
func (t *Tracker) failureQueryInput(q indexQuery) (*dynamodb.QueryInput, error) {
	kc := expression.Key(FailurePartAttribute).Equal(expression.Value(q.value))
	rk := expression.Key(FailureKeyAttribute)
	switch {
	case q.prefix != "" && q.upTo != "":
		kc = kc.And(rk.Between(expression.Value(q.prefix), expression.Value(q.upTo)))
	case q.prefix != "":
		kc = kc.And(rk.BeginsWith(q.prefix))
	case q.upTo != "":
		kc = kc.And(rk.LessThanEqual(expression.Value(q.upTo)))
	}
	return t.buildQuery(q, FailureIndexName, kc)
}

// buildQuery is the Query of q on index with the key condition kc.
func (t *Tracker) buildQuery(q indexQuery, index string, kc expression.KeyConditionBuilder) (*dynamodb.QueryInput, error) {
	b := expression.NewBuilder().WithKeyCondition(kc)
	if q.filter.IsSet() {
		b = b.WithFilter(q.filter)
	}
	if len(q.projection) > 0 {
		names := make([]expression.NameBuilder, len(q.projection))
		for i, p := range q.projection {
			names[i] = expression.Name(p)
		}
		b = b.WithProjection(expression.NamesList(names[0], names[1:]...))
	}
	expr, err := b.Build()
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(t.cfg.Table), IndexName: aws.String(index),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey: q.start,
	}
	if q.count {
		in.Select = types.SelectCount
	}
	if q.limit > 0 {
		in.Limit = aws.Int32(int32(q.limit))
	}
	if q.backward {
		in.ScanIndexForward = aws.Bool(false)
	}
	return in, nil
}

// queryPartitions runs q on each of the index partitions values to its end (queryAll).
func (t *Tracker) queryPartitions(ctx context.Context, q indexQuery, values []string, fn func(*dynamodb.QueryOutput) error) error {
	for _, v := range values {
		q.value = v
		if err := t.queryAll(ctx, q, fn); err != nil {
			return err
		}
	}
	return nil
}

// queryAll runs q page after page to its end, handing each page to fn; it stops at the first
// error, fn's or DynamoDB's.
func (t *Tracker) queryAll(ctx context.Context, q indexQuery, fn func(*dynamodb.QueryOutput) error) error {
	in, err := t.queryInput(q)
	if err != nil {
		return err
	}
	for p := dynamodb.NewQueryPaginator(t.db, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
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

// CursorAfter returns a cursor of job that resumes a listing (List, pending or not) after taskID,
// which need not exist: a worker pool starts from an arbitrary point of the id space with it.
func CursorAfter(job, taskID string) string { return encodeCursor(job, taskID) }
