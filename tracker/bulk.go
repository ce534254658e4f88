package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Bulk actions: an operator's Retry or Ignore applied to every task of a selection (a failure
// group, an error text, statuses), on the server. A bulk action pages its selection and
// applies the transition to each task listed with one conditional write, which applies only
// while the task is as it was listed: in the same status, unchanged since (the same update
// time, and the same failure for a selection of failures) and not running (no live lease). A
// task that moved on (claimed, finished, failed again, retried by someone else) is counted
// as refused, never overwritten. The selection is bounded by the action's start (Bulk.Before):
// a task that fails again, or comes into a selected status, after the action started is not
// touched, so an action always ends, even while a run keeps failing tasks.
//
// A Bulk is plain data: the state machine carries it from step to step (the claim function
// runs BulkStep), and a process can run one to the end itself (RunBulk). Each step also
// writes the action's progress to the table (one small item per action, under the job), so
// that an operator or a console can follow it (BulkStatus, Bulks) and resume it after a
// failure from its cursor.

// BulkAction is the transition a bulk action applies.
type BulkAction string

// The bulk actions: Retry and Ignore, each as the one-task transition of that name.
const (
	BulkRetry  BulkAction = "retry"
	BulkIgnore BulkAction = "ignore"
)

// Why a bulk action left a task as it was (Bulk.RefusedBy).
const (
	// RefusedRunning: the task is in progress under a live lease.
	RefusedRunning = "running"
	// RefusedSucceeded: the task succeeded since it was listed.
	RefusedSucceeded = "succeeded"
	// RefusedChanged: the task moved on since it was listed (claimed and failed again,
	// retried, ignored).
	RefusedChanged = "changed"
	// RefusedGone: the task was deleted.
	RefusedGone = "not_found"
)

// Bulk action limits.
const (
	// BulkConcurrency is how many writes a bulk step keeps in flight.
	BulkConcurrency = 16
	// DefaultBulkStepTasks is how many tasks one BulkStep handles unless told otherwise, and
	// MaxBulkStepTasks the most: a step runs in a function whose timeout is 10 seconds.
	DefaultBulkStepTasks = 2000
	MaxBulkStepTasks     = 10000
	// MaxBulkRefusals is how many refused tasks a Bulk names (it counts them all).
	MaxBulkRefusals = 20
	// bulkPage is how many tasks a step lists at a time.
	bulkPage = 500
	// bulkMargin is how long before its ctx's deadline a step stops.
	bulkMargin = 2 * time.Second
)

// Selection selects a job's tasks: those whose current failure has Fingerprint, or whose
// current failure's message contains ErrorContains (both: both), among Statuses; or, without
// either, every task in Statuses.
type Selection struct {
	Fingerprint   string   `json:"fingerprint,omitempty"`
	ErrorContains string   `json:"error,omitempty"`
	Statuses      []Status `json:"statuses,omitempty"`
}

// failures reports whether the selection reads the failure index.
func (s Selection) failures() bool { return s.Fingerprint != "" || s.ErrorContains != "" }

// statuses are the statuses action selects from: Statuses, or by default the failed and
// ignored tasks for a retry and the failed ones for an ignore.
func (s Selection) statuses(action BulkAction) []Status {
	if len(s.Statuses) > 0 {
		return dedupe(s.Statuses)
	}
	if action == BulkIgnore {
		return []Status{Failed}
	}
	return slices.Clone(failureStatuses)
}

// actionFrom are the statuses each action applies to.
var actionFrom = map[BulkAction][]Status{
	BulkRetry:  {Failed, Ignored},
	BulkIgnore: {Todo, InProgress, Failed},
}

// Validate checks the selection for action: a fingerprint or error text, or statuses; each
// status one action applies to, and only failed and ignored with a fingerprint or an error
// text.
func (s Selection) Validate(action BulkAction) error {
	from, ok := actionFrom[action]
	if !ok {
		return &ValidationError{Field: "action", Reason: fmt.Sprintf("%q is not retry or ignore", action)}
	}
	if s.Fingerprint != "" {
		if err := ValidateFingerprint(s.Fingerprint); err != nil {
			return err
		}
	}
	if err := validateErrorText(s.ErrorContains); err != nil {
		return err
	}
	if !s.failures() && len(s.Statuses) == 0 {
		return &ValidationError{Field: "selection", Reason: "give a fingerprint, an error text or statuses"}
	}
	for _, st := range s.Statuses {
		switch {
		case !slices.Contains(from, st):
			return &ValidationError{Field: "statuses", Reason: fmt.Sprintf("%s applies to %v tasks, not %s ones", action, from, st)}
		case s.failures() && st != Failed && st != Ignored:
			return &ValidationError{Field: "statuses", Reason: fmt.Sprintf("a selection by fingerprint or error text holds failed and ignored tasks, not %s ones", st)}
		}
	}
	return nil
}

// Bulk is a bulk action and how far it has come. It travels through JSON between steps.
type Bulk struct {
	// ID names the action; its progress is stored under it.
	ID     string     `json:"id"`
	JobID  string     `json:"job_id"`
	Action BulkAction `json:"action"`
	Select Selection  `json:"select"`
	// Before bounds the selection: tasks whose status changed later (and, with a
	// fingerprint, whose failure is later) are not touched. It is when the action started.
	Before time.Time `json:"before"`
	// Cursor is where the listing of the selection stands; empty at the start.
	Cursor string `json:"cursor,omitempty"`
	// Listed counts the tasks listed; each was Changed or Refused.
	Listed  int `json:"listed"`
	Changed int `json:"changed"`
	Refused int `json:"refused"`
	// RefusedBy counts the refusals by reason (RefusedRunning, ...), and Refusals names the
	// first MaxBulkRefusals.
	RefusedBy map[string]int `json:"refused_by,omitempty"`
	Refusals  []BulkRefusal  `json:"refusals,omitempty"`
	// Steps counts the steps run so far.
	Steps int `json:"steps"`
	// Done says the whole selection was listed: the action is over.
	Done bool `json:"done"`
	// Started is when the action started, Updated when its last step ended.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// BulkRefusal is a task a bulk action left as it was, and why.
type BulkRefusal struct {
	TaskID string `json:"task_id"`
	Reason string `json:"reason"`
}

// BulkOptions starts a bulk action.
type BulkOptions struct {
	Action BulkAction
	Select Selection
	// ID names the action (letters, digits, '-' and '_', at most 80: an execution name
	// fits); "" makes one from the action and a random token.
	ID string
}

// bulkID is what an action's id may hold.
var bulkID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// Validate checks the options.
func (o BulkOptions) Validate() error {
	if o.ID != "" && !bulkID.MatchString(o.ID) {
		return &ValidationError{Field: "id", Reason: fmt.Sprintf("%q is not 1 to 80 letters, digits, '-' or '_'", clip(o.ID))}
	}
	return o.Select.Validate(o.Action)
}

// NewBulk starts a bulk action on job's tasks: it checks the options and fixes the
// selection's bound (Before: now, by the tracker's clock). It reads and writes nothing:
// BulkStep or RunBulk do the work, and record the progress. Invalid options are a
// *ValidationError.
func (t *Tracker) NewBulk(job string, opts BulkOptions) (*Bulk, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	now := t.now()
	b := &Bulk{ID: opts.ID, JobID: job, Action: opts.Action, Select: opts.Select, Before: now, Started: now, Updated: now}
	b.Select.Statuses = opts.Select.statuses(opts.Action)
	if b.ID == "" {
		b.ID = string(opts.Action) + "-" + newToken()[:12]
	}
	return b, nil
}

// validateBulk refuses a Bulk that NewBulk cannot have made (one from JSON).
func validateBulk(b *Bulk) error {
	if err := ValidateJob(b.JobID); err != nil {
		return err
	}
	if err := (BulkOptions{Action: b.Action, Select: b.Select, ID: b.ID}).Validate(); err != nil {
		return err
	}
	switch {
	case b.Before.IsZero():
		return &ValidationError{Field: "before", Reason: "is not set: start the action with NewBulk"}
	case b.Listed < 0 || b.Changed < 0 || b.Refused < 0 || b.Changed+b.Refused != b.Listed:
		return &ValidationError{Field: "listed", Reason: "the counts do not add up"}
	}
	return nil
}

// BulkStep runs one step of a bulk action: it lists up to maxTasks more tasks of the
// selection (0 means DefaultBulkStepTasks, at most MaxBulkStepTasks), applies the action to
// each with one conditional write, BulkConcurrency at a time, and returns the action with its
// counts and cursor moved on, Done once the selection is listed to its end. It stops early,
// with less done, when ctx's deadline is near (a function's timeout). Then it records the
// progress (one write). A step that fails part-way returns the error and b as it was: the
// next step lists those tasks again, and the writes that applied are refused then
// (RefusedChanged): a task is never changed twice.
func (t *Tracker) BulkStep(ctx context.Context, b Bulk, maxTasks int) (*Bulk, error) {
	if err := validateBulk(&b); err != nil {
		return nil, err
	}
	switch {
	case maxTasks < 0 || maxTasks > MaxBulkStepTasks:
		return nil, &ValidationError{Field: "max_tasks", Reason: fmt.Sprintf("must be within 0..%d", MaxBulkStepTasks)}
	case maxTasks == 0:
		maxTasks = DefaultBulkStepTasks
	}
	b.RefusedBy = maps.Clone(b.RefusedBy)
	b.Refusals = slices.Clone(b.Refusals)
	if err := t.bulkPages(ctx, &b, maxTasks); err != nil {
		return nil, fmt.Errorf("%s %s: %w", b.Action, b.JobID, err)
	}
	b.Steps++
	b.Updated = t.now()
	if err := t.saveBulk(ctx, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// RunBulk runs a bulk action's steps (BulkStep with maxTasks) until it is done, calling
// progress, when set, after each. It is what the state machine does, in one process.
func (t *Tracker) RunBulk(ctx context.Context, b Bulk, maxTasks int, progress func(Bulk)) (*Bulk, error) {
	cur := &b
	for !cur.Done {
		next, err := t.BulkStep(ctx, *cur, maxTasks)
		if err != nil {
			return cur, err
		}
		cur = next
		if progress != nil {
			progress(*cur)
		}
	}
	return cur, nil
}

// bulkListed is a page of a bulk step's listing: its tasks and the cursor after them, and,
// once written, why each was refused ("" when it changed).
type bulkListed struct {
	entries []bulkEntry
	cursor  string
	err     error
	reasons []string
}

// bulkTask is a task of a step to write, and where its outcome goes.
type bulkTask struct {
	entry bulkEntry
	at    time.Time
	why   *string
}

// bulkPages lists up to maxTasks tasks of b's selection from its cursor, a page at a time,
// and applies the action to each, BulkConcurrency writes in flight from the first task of
// the step to its last; then it counts the outcomes into b and moves its cursor on. The
// listing runs a page ahead (the writes change only tasks before the cursor, so the next
// page is the same either way) and the writers go from one page to the next without waiting
// for the slowest write of a page: a step's time is its writes'. It stops before a page when
// ctx's deadline is near. On an error b is left as it was.
func (t *Tracker) bulkPages(ctx context.Context, b *Bulk, maxTasks int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	var lister, writers sync.WaitGroup
	defer lister.Wait()
	defer cancel(nil)
	pages := make(chan bulkListed)
	lister.Go(func() { t.listAhead(ctx, *b, maxTasks, pages) })
	writes := make(chan bulkTask)
	for range BulkConcurrency {
		writers.Go(func() {
			for w := range writes {
				if ctx.Err() != nil {
					continue
				}
				why, err := t.bulkWrite(ctx, b, w.entry, w.at)
				if err != nil {
					cancel(err)
				}
				*w.why = why
			}
		})
	}
	var done []bulkListed
	for page := range pages {
		if page.err != nil {
			cancel(page.err)
			break
		}
		if deadlineNear(ctx) {
			break
		}
		page.reasons = make([]string, len(page.entries))
		at := t.now()
		for i, e := range page.entries {
			select {
			case writes <- bulkTask{entry: e, at: at, why: &page.reasons[i]}:
			case <-ctx.Done():
			}
		}
		done = append(done, page)
	}
	close(writes)
	writers.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	for _, page := range done {
		b.count(page.entries, page.reasons)
		b.Cursor, b.Done = page.cursor, page.cursor == ""
	}
	return nil
}

// listAhead lists up to maxTasks tasks of b's selection from its cursor into pages, a page
// at a time, until the selection ends, a listing fails (the page carries the error) or ctx
// ends; then it closes pages.
func (t *Tracker) listAhead(ctx context.Context, b Bulk, maxTasks int, pages chan<- bulkListed) {
	defer close(pages)
	for listed := 0; listed < maxTasks && !deadlineNear(ctx); {
		entries, cursor, err := t.selectPage(ctx, &b, min(bulkPage, maxTasks-listed))
		select {
		case pages <- bulkListed{entries: entries, cursor: cursor, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil || cursor == "" {
			return
		}
		listed += len(entries)
		b.Cursor = cursor
	}
}

// deadlineNear reports whether ctx ends within bulkMargin: a step stops there, and records
// how far it came.
func deadlineNear(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < bulkMargin
}

// bulkEntry is a task a bulk step listed: its id, its status, and what the write checks is
// unchanged (its update time, its failure).
type bulkEntry struct {
	id, updateTime, failureKey string
	status                     Status
}

// selectPage lists up to n more tasks of the action's selection.
func (t *Tracker) selectPage(ctx context.Context, b *Bulk, n int) ([]bulkEntry, string, error) {
	updated := formatTime(b.Before)
	if b.Select.failures() {
		l := failureListing{job: b.JobID, statuses: b.Select.statuses(b.Action), fingerprint: b.Select.Fingerprint,
			contains: b.Select.ErrorContains, updatedUpTo: updated,
			projection: []string{KeyAttribute, FailurePartAttribute, FailureKeyAttribute, attrUpdateTime}}
		if b.Select.Fingerprint != "" {
			l.upTo = b.Before
		}
		found, cursor, err := t.listFailures(ctx, l, b.Cursor, n)
		if err != nil {
			return nil, "", err
		}
		entries := make([]bulkEntry, len(found))
		for i, e := range found {
			entries[i] = bulkEntry{id: e.task.TaskID, status: e.status, updateTime: e.updateTime, failureKey: e.failureKey}
		}
		return entries, cursor, nil
	}
	q := indexQuery{limit: n, projection: []string{KeyAttribute, StatusAttribute, attrUpdateTime},
		filter: expression.Name(attrUpdateTime).LessThanEqual(expression.Value(updated))}
	page, err := t.page(ctx, b.JobID, b.Select.statuses(b.Action), q, b.Cursor)
	if err != nil {
		return nil, "", err
	}
	entries := make([]bulkEntry, len(page.Tasks))
	for i, task := range page.Tasks {
		entries[i] = bulkEntry{id: task.TaskID, status: task.Status, updateTime: formatTime(task.UpdateTime)}
	}
	return entries, page.Cursor, nil
}

// count adds the outcomes of writing entries (why each was refused, "" when it changed).
func (b *Bulk) count(entries []bulkEntry, reasons []string) {
	for i, why := range reasons {
		b.Listed++
		if why == "" {
			b.Changed++
			continue
		}
		b.Refused++
		if b.RefusedBy == nil {
			b.RefusedBy = map[string]int{}
		}
		b.RefusedBy[why]++
		if len(b.Refusals) < MaxBulkRefusals {
			b.Refusals = append(b.Refusals, BulkRefusal{TaskID: entries[i].id, Reason: why})
		}
	}
}

// bulkWrite applies the action to one listed task with one conditional UpdateItem and
// returns why it was refused ("" when it applied).
func (t *Tracker) bulkWrite(ctx context.Context, b *Bulk, e bulkEntry, at time.Time) (string, error) {
	r, err := t.ref(ctx, b.JobID, e.id)
	if err != nil {
		return "", err
	}
	args := bulkArgs{listed: makeValue(b.JobID, r.codes.Code(e.status)), updated: e.updateTime, failureKey: e.failureKey,
		lockedBefore: t.lockedBefore(at), now: formatTime(at), value: r.value(Todo)}
	op, build := "bulk-retry", bulkRetryWrite
	if b.Action == BulkIgnore {
		op, build = "bulk-ignore", bulkIgnoreWrite
		args.value, args.failurePart = r.value(Ignored), r.failurePart(Ignored)
	}
	expr, err := compile(t, op, r.codes, args, build)
	if err != nil {
		return "", err
	}
	_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.cfg.Table), Key: keyAV(b.JobID, e.id),
		ConditionExpression: expr.cond, UpdateExpression: expr.update,
		ExpressionAttributeNames: expr.names, ExpressionAttributeValues: expr.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return RefusedGone, nil
		}
		old, err := t.decodeTask(ccf.Item)
		if err != nil {
			return "", err
		}
		return t.bulkRefusal(old, at), nil
	}
	if err != nil {
		return "", fmt.Errorf("%s %s/%s: %w", b.Action, b.JobID, e.id, err)
	}
	return "", nil
}

// bulkRefusal says why a bulk write was refused on old, the task as it was then.
func (t *Tracker) bulkRefusal(old *Task, at time.Time) string {
	switch {
	case old.Status == Succeeded:
		return RefusedSucceeded
	case old.Locked(at, t.expiry()):
		return RefusedRunning
	}
	return RefusedChanged
}

// bulkArgs are what a bulk write is made of: the task's index value's prefix in the status
// it was listed in, its update time then and its failure (failureKey, "" for a selection by
// status), the time at or before which a lock taken is no longer live, the time, and the
// task's new index value and, for an ignore, its failure index key.
type bulkArgs struct {
	listed, updated, failureKey string
	lockedBefore, now           string
	value, failurePart          string
}

func (a *bulkArgs) strings() []*string {
	return []*string{&a.listed, &a.updated, &a.failureKey, &a.lockedBefore, &a.now, &a.value, &a.failurePart}
}

// bulkCondition is what every bulk write applies on: the task is in the status it was listed
// in, unchanged since (its update time; its failure, when the selection is by failure) and
// not running (no live lock).
func bulkCondition(a bulkArgs) expression.ConditionBuilder {
	cond := expression.Name(StatusAttribute).BeginsWith(a.listed).
		And(expression.Name(attrUpdateTime).Equal(expression.Value(a.updated))).
		And(lockFree(a.lockedBefore))
	if a.failureKey != "" {
		cond = cond.And(expression.Name(FailureKeyAttribute).Equal(expression.Value(a.failureKey)))
	}
	return cond
}

// bulkRetryWrite is a bulk retry's write (Retry's): back to todo, retry 0, unlocked, out of
// the failure index.
func bulkRetryWrite(a bulkArgs) (expression.ConditionBuilder, expression.UpdateBuilder) {
	return bulkCondition(a), clearFailure(expression.Set(expression.Name(StatusAttribute), expression.Value(a.value)).
		Set(expression.Name(attrUpdateTime), expression.Value(a.now)).
		Set(expression.Name(attrRetry), expression.Value(0)).
		Set(expression.Name(attrLock), null).
		Remove(expression.Name(attrRetryAt)))
}

// bulkIgnoreWrite is a bulk ignore's write (Ignore's): ignored, unlocked, in the failure
// index as ignored when it has a failure.
func bulkIgnoreWrite(a bulkArgs) (expression.ConditionBuilder, expression.UpdateBuilder) {
	return bulkCondition(a), expression.Set(expression.Name(StatusAttribute), expression.Value(a.value)).
		Set(expression.Name(attrUpdateTime), expression.Value(a.now)).
		Set(expression.Name(attrLock), null).
		Set(expression.Name(FailurePartAttribute), expression.Value(a.failurePart)).
		Remove(expression.Name(attrRetryAt))
}

// CountSelected counts the tasks of job that a bulk action would select now (Select COUNT
// on the index, reading no item): what a dry run says it would touch. Tasks that are
// running or move on by the time the action reaches them are refused then.
func (t *Tracker) CountSelected(ctx context.Context, job string, action BulkAction, sel Selection) (int, error) {
	if err := ValidateJob(job); err != nil {
		return 0, err
	}
	if err := sel.Validate(action); err != nil {
		return 0, err
	}
	if sel.failures() {
		n, err := t.countFailures(ctx, failureListing{job: job, statuses: sel.statuses(action), fingerprint: sel.Fingerprint, contains: sel.ErrorContains})
		if err != nil {
			return 0, fmt.Errorf("count %s of %s: %w", action, job, err)
		}
		return n, nil
	}
	return t.CountUpTo(ctx, job, sel.statuses(action), 0)
}

// The progress of a job's bulk actions is kept in one item per action, keyed
// {job}________bulk____{id} (no task has it: a task id holds no separator) and listed on the
// status index under {job}____bulk, which no status code is; the seed's queries never see
// it. Its attribute bulk holds the Bulk as JSON.
const (
	bulkValueSuffix = "bulk"
	attrBulk        = "bulk"
)

func bulkKey(job, id string) string {
	return job + Separator + Separator + bulkValueSuffix + Separator + id
}

func bulkValue(job string) string { return job + Separator + bulkValueSuffix }

// saveBulk records b's progress (one unconditional UpdateItem).
func (t *Tracker) saveBulk(ctx context.Context, b *Bulk) error {
	raw, err := json.Marshal(b)
	if err != nil {
		return err
	}
	expr, err := expression.NewBuilder().WithUpdate(
		expression.Set(expression.Name(StatusAttribute), expression.Value(bulkValue(b.JobID))).
			Set(expression.Name(attrUpdateTime), expression.Value(formatTime(b.Updated))).
			Set(expression.Name(attrBulk), expression.Value(string(raw)))).Build()
	if err != nil {
		return err
	}
	_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.cfg.Table), Key: keyAVRaw(bulkKey(b.JobID, b.ID)),
		UpdateExpression: expr.Update(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("record the progress of %s %s: %w", b.Action, b.ID, err)
	}
	return nil
}

// ErrBulkNotFound: no bulk action of that id is recorded for the job.
var ErrBulkNotFound = errors.New("bulk action not found")

// BulkStatus reads the recorded progress of job's bulk action id (consistent read): how far
// it came, and its cursor to resume it from (RunBulk, or a new execution, with it). An
// unknown id gets an error matching ErrBulkNotFound.
func (t *Tracker) BulkStatus(ctx context.Context, job, id string) (*Bulk, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if !bulkID.MatchString(id) {
		return nil, &ValidationError{Field: "id", Reason: fmt.Sprintf("%q is not a bulk action's id", clip(id))}
	}
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.cfg.Table), Key: keyAVRaw(bulkKey(job, id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read bulk action %s of %s: %w", id, job, err)
	}
	if len(out.Item) == 0 {
		return nil, fmt.Errorf("job %s: %s: %w", clip(job), id, ErrBulkNotFound)
	}
	return decodeBulk(out.Item)
}

// Bulks lists job's recorded bulk actions, the latest started first, from the status index.
func (t *Tracker) Bulks(ctx context.Context, job string) ([]Bulk, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	var out []Bulk
	var mu sync.Mutex
	err := t.queryAll(ctx, indexQuery{value: bulkValue(job), projection: []string{KeyAttribute}}, func(res *dynamodb.QueryOutput) error {
		for _, it := range res.Items {
			k, _ := it[KeyAttribute].(*types.AttributeValueMemberS)
			if k == nil {
				continue
			}
			got, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.cfg.Table), Key: keyAVRaw(k.Value)})
			if err != nil {
				return err
			}
			if len(got.Item) == 0 {
				continue
			}
			b, err := decodeBulk(got.Item)
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, *b)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bulk actions of %s: %w", job, err)
	}
	slices.SortFunc(out, func(a, b Bulk) int { return b.Started.Compare(a.Started) })
	return out, nil
}

func decodeBulk(item map[string]types.AttributeValue) (*Bulk, error) {
	raw, ok := item[attrBulk].(*types.AttributeValueMemberS)
	if !ok {
		return nil, errors.New("a bulk action's record without its progress")
	}
	var b Bulk
	if err := json.Unmarshal([]byte(raw.Value), &b); err != nil {
		return nil, fmt.Errorf("decode a bulk action's progress: %w", err)
	}
	return &b, nil
}
