package tracker

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Group is one way a job's tasks fail now: the tasks that are failed, or ignored after a
// failure, whose current failure has one fingerprint.
type Group struct {
	// Fingerprint is the failures' fingerprint: "v1:3fa9c2d41b7e".
	Fingerprint string `json:"fingerprint"`
	// Tasks counts the group's tasks: Failed (they run again once due) and Ignored.
	Tasks   int `json:"tasks"`
	Failed  int `json:"failed"`
	Ignored int `json:"ignored"`
	// FirstSeen and LastSeen are the times of the group's oldest and latest failure, among
	// its tasks now (a task that failed this way and then succeeded, or was retried, is no
	// longer counted).
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// SampleID is the task of the group's latest failure.
	SampleID string `json:"sample_id"`
	// Sample is that task read whole, its Error holding the failure's text and traceback:
	// set for the groups GroupOptions.Samples asks for, nil for the others and when the task
	// is gone.
	Sample *Task `json:"sample,omitempty"`
}

// GroupOptions selects what Groups reads.
type GroupOptions struct {
	// Fingerprint, when set, reads that group only (a fingerprint as
	// fingerprint.Fingerprint.String writes it).
	Fingerprint string
	// Samples is how many groups, largest first, get their Sample read (one GetItem each);
	// 0 reads none.
	Samples int
}

// Validate checks the options.
func (o GroupOptions) Validate() error {
	if o.Fingerprint != "" {
		if err := ValidateFingerprint(o.Fingerprint); err != nil {
			return err
		}
	}
	if o.Samples < 0 {
		return &ValidationError{Field: "samples", Reason: "must not be negative"}
	}
	return nil
}

// groupReads is how many partitions Groups reads at once, and how many samples.
const groupReads = 8

// Groups returns the ways job's tasks fail now, largest group first (then the latest
// failure first): for each fingerprint, how many tasks are failed and ignored, the first and
// last time one of them failed, and a sample. It reads the job's entries of the failure
// index (FailureIndexName), the keys alone, never a task item but the samples asked for; a
// job whose failures are many reads them all (about 100 bytes each: a read unit per 40
// failures, at most 1 MB a call, the index's partitions in parallel). A failure recorded by
// code that does not fingerprint (the seed's) is in no group. On a table without the failure
// index it returns a *TableLayoutError matching ErrTableLayout.
func (t *Tracker) Groups(ctx context.Context, job string, opts GroupOptions) ([]Group, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	checked := t.checkFailureLayoutBeside(ctx)
	groups, err := t.groups(ctx, job, opts)
	if lerr := checked(); lerr != nil {
		return nil, lerr
	}
	return groups, err
}

// groups is Groups, its options valid, the failure index's layout checked beside it.
func (t *Tracker) groups(ctx context.Context, job string, opts GroupOptions) ([]Group, error) {
	parts, err := t.failurePartitions(ctx, job, nil)
	if err != nil {
		return nil, err
	}
	q := indexQuery{failures: true, projection: []string{KeyAttribute, FailureKeyAttribute}}
	if opts.Fingerprint != "" {
		q.prefix = opts.Fingerprint + Separator
	}
	acc := groupAccs{}
	var mu sync.Mutex
	err = forEach(ctx, len(parts), groupReads, func(i int) error {
		local := groupAccs{}
		q := q
		q.value = parts[i].value
		err := t.queryAll(ctx, q, func(out *dynamodb.QueryOutput) error {
			for _, av := range out.Items {
				local.add(parts[i].status, av)
			}
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		for fp, g := range local {
			acc.merge(fp, g)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("failure groups of %s: %w", job, err)
	}
	groups := make([]Group, 0, len(acc))
	for fp, g := range acc {
		groups = append(groups, g.group(job, fp))
	}
	slices.SortFunc(groups, func(a, b Group) int {
		return cmp.Or(b.Tasks-a.Tasks, b.LastSeen.Compare(a.LastSeen), strings.Compare(a.Fingerprint, b.Fingerprint))
	})
	samples := min(opts.Samples, len(groups))
	err = forEach(ctx, samples, groupReads, func(i int) error {
		task, err := t.Get(ctx, job, groups[i].SampleID)
		if isTaskNotFound(err) {
			return nil
		}
		groups[i].Sample = task
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("failure groups of %s: %w", job, err)
	}
	return groups, nil
}

// groupAcc adds up one group's index entries. The times are the index's fixed-width text,
// which sorts as the times do.
type groupAcc struct {
	failed, ignored int
	first, last     string
	lastKey         string // the key of the task that failed last
}

type groupAccs map[string]*groupAcc

// add counts one index entry of a task in status s.
func (accs groupAccs) add(s Status, av map[string]types.AttributeValue) {
	fk, _ := av[FailureKeyAttribute].(*types.AttributeValueMemberS)
	key, _ := av[KeyAttribute].(*types.AttributeValueMemberS)
	if fk == nil || key == nil {
		return
	}
	fp, stamp, ok := strings.Cut(fk.Value, Separator)
	if !ok {
		return
	}
	g := accs[fp]
	if g == nil {
		g = &groupAcc{first: stamp}
		accs[fp] = g
	}
	if s == Failed {
		g.failed++
	} else {
		g.ignored++
	}
	g.first = min(g.first, stamp)
	if stamp >= g.last {
		g.last, g.lastKey = stamp, key.Value
	}
}

// merge adds another partition's count of group fp.
func (accs groupAccs) merge(fp string, o *groupAcc) {
	g := accs[fp]
	if g == nil {
		accs[fp] = o
		return
	}
	g.failed += o.failed
	g.ignored += o.ignored
	g.first = min(g.first, o.first)
	if o.last > g.last {
		g.last, g.lastKey = o.last, o.lastKey
	}
}

func (g *groupAcc) group(job, fp string) Group {
	first, _ := parseTime(g.first)
	last, _ := parseTime(g.last)
	return Group{Fingerprint: fp, Tasks: g.failed + g.ignored, Failed: g.failed, Ignored: g.ignored,
		FirstSeen: first, LastSeen: last, SampleID: strings.TrimPrefix(g.lastKey, job+Separator)}
}

// failurePartition is one hash key of the failure index: a status of a job's failures, in
// one shard.
type failurePartition struct {
	status Status
	value  string
}

// failurePartitions returns the failure index's keys of job, in the order listings read
// them: every shard of failed, then of ignored; only those of statuses when it is not empty.
// The order does not depend on statuses, so that a cursor's position means the same.
func (t *Tracker) failurePartitions(ctx context.Context, job string, statuses []Status) ([]failurePartition, error) {
	shards, err := t.shards(ctx, job)
	if err != nil {
		return nil, err
	}
	n := FailureShards(shards)
	codes := t.Codes(job)
	var parts []failurePartition
	for _, s := range failureStatuses {
		for shard := range n {
			p := failurePartition{status: s, value: failurePart(job, codes.Code(s), shard)}
			if len(statuses) > 0 && !slices.Contains(statuses, s) {
				p.value = "" // kept, to keep the positions
			}
			parts = append(parts, p)
		}
	}
	return parts, nil
}

// forEach calls fn(i) for i in 0..n-1, at most width at a time, and returns the first error.
// Once one call failed, the calls not yet started are skipped.
func forEach(ctx context.Context, n, width int, fn func(i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// failureListing is a listing of the failure index: a job's tasks that fail now in statuses,
// those of a fingerprint, whose message contains a text, failed no later than upTo.
type failureListing struct {
	job         string
	statuses    []Status
	fingerprint string
	contains    string
	upTo        time.Time // zero: no bound
	updatedUpTo string    // when set, only the tasks whose status changed at or before it
	projection  []string  // nil: every attribute the index projects (failureEntryAttributes)
	decode      bool      // decode each entry as a Task (else its ids and status only)
}

// failureCursor is where a listing of the failure index stands: the partition (its position
// in failurePartitions) and the last entry read there, with the fingerprint the listing
// selects (the range key must fall within its key condition).
type failureCursor struct {
	Job         string `json:"j"`
	Fingerprint string `json:"f,omitempty"`
	Part        int    `json:"p"`
	FailureKey  string `json:"k,omitempty"`
	TaskID      string `json:"t,omitempty"`
}

// failureCursorPrefix starts a cursor of a failure listing, so that it is never read as one
// of a status listing (those are a task's key, base64-encoded, and no key starts with '{').
const failureCursorPrefix = "F"

func (c failureCursor) encode() string {
	b, _ := json.Marshal(c)
	return failureCursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// decodeFailureCursor reads a cursor of a failure listing of job and fingerprint fp.
func decodeFailureCursor(job, fp, text string) (failureCursor, error) {
	bad := &ValidationError{Field: "cursor", Reason: "is not a cursor of this listing"}
	if text == "" {
		return failureCursor{Job: job, Fingerprint: fp}, nil
	}
	raw, ok := strings.CutPrefix(text, failureCursorPrefix)
	if !ok {
		return failureCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	var c failureCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Part < 0 || !utf8.ValidString(c.TaskID) {
		return failureCursor{}, bad
	}
	if c.Job != job {
		return failureCursor{}, &ValidationError{Field: "cursor", Reason: fmt.Sprintf("belongs to job %q, not %q", clip(c.Job), clip(job))}
	}
	if c.Fingerprint != fp {
		return failureCursor{}, &ValidationError{Field: "cursor", Reason: "belongs to a listing of another fingerprint"}
	}
	if (c.FailureKey == "") != (c.TaskID == "") || (fp != "" && c.FailureKey != "" && !strings.HasPrefix(c.FailureKey, fp+Separator)) {
		return failureCursor{}, bad
	}
	return c, nil
}

// failureEntry is one entry of a failure listing: its task (the index's attributes) and its
// keys, to resume after it or to check it is unchanged.
type failureEntry struct {
	task       Task
	status     Status
	failureKey string
	updateTime string
}

// listFailures reads up to limit entries of l after cursor, partition after partition, and
// returns them with the cursor after the last ("" at the end). Each partition is queried
// until the page is full: a page comes back short only at the end of the listing.
func (t *Tracker) listFailures(ctx context.Context, l failureListing, cursor string, limit int) ([]failureEntry, string, error) {
	if l.projection == nil {
		// Its queries ask for every attribute the index projects, which DynamoDB refuses on a
		// table without the index or whose index lacks one: they check the layout themselves,
		// and the table is described only to explain a refusal.
		l.projection = failureEntryAttributes()
		out, next, err := t.readFailureListing(ctx, l, cursor, limit)
		if err != nil {
			return nil, "", t.explainFailureQuery(ctx, err)
		}
		return out, next, nil
	}
	checked := t.checkFailureLayoutBeside(ctx)
	out, next, err := t.readFailureListing(ctx, l, cursor, limit)
	if lerr := checked(); lerr != nil {
		return nil, "", lerr
	}
	return out, next, err
}

// failureEntryAttributes are the attributes of an entry of the failure index: the table's
// key, the index's keys and FailureIndexProjection.
func failureEntryAttributes() []string {
	return append([]string{KeyAttribute, FailurePartAttribute, FailureKeyAttribute}, FailureIndexProjection()...)
}

// readFailureListing is listFailures, the failure index's layout checked beside it.
func (t *Tracker) readFailureListing(ctx context.Context, l failureListing, cursor string, limit int) ([]failureEntry, string, error) {
	cur, err := decodeFailureCursor(l.job, l.fingerprint, cursor)
	if err != nil {
		return nil, "", err
	}
	parts, err := t.failurePartitions(ctx, l.job, l.statuses)
	if err != nil {
		return nil, "", err
	}
	q, err := l.query()
	if err != nil {
		return nil, "", err
	}
	var out []failureEntry
	for ; cur.Part < len(parts) && len(out) < limit; cur.Part, cur.FailureKey, cur.TaskID = cur.Part+1, "", "" {
		p := parts[cur.Part]
		if p.value == "" {
			continue
		}
		q.value = p.value
		more, err := t.readFailures(ctx, l, q, p.status, &cur, limit, &out)
		if err != nil {
			return nil, "", fmt.Errorf("list failures of %s: %w", l.job, err)
		}
		if more {
			return out, cur.encode(), nil
		}
	}
	if cur.Part >= len(parts) {
		return out, "", nil
	}
	return out, cur.encode(), nil
}

// query is the Query of the listing's entries in one partition, its value left to set.
func (l failureListing) query() (indexQuery, error) {
	q := indexQuery{failures: true, projection: l.projection}
	if l.fingerprint != "" {
		q.prefix = l.fingerprint + Separator
	}
	if !l.upTo.IsZero() {
		if l.fingerprint == "" {
			return q, fmt.Errorf("list failures of %s: a time bound needs a fingerprint", l.job)
		}
		q.upTo = failureKey(l.fingerprint, l.upTo)
	}
	var filters []expression.ConditionBuilder
	if l.contains != "" {
		filters = append(filters, expression.Name(attrFailureMessage).Contains(l.contains))
	}
	if l.updatedUpTo != "" {
		filters = append(filters, expression.Name(attrUpdateTime).LessThanEqual(expression.Value(l.updatedUpTo)))
	}
	q.filter = and(filters...)
	return q, nil
}

// startAfter is the ExclusiveStartKey that resumes a query of partition value after the
// entry of task id whose failure key is fk.
func startAfter(job, value, fk, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		KeyAttribute:         &types.AttributeValueMemberS{Value: makeKey(job, id)},
		FailurePartAttribute: &types.AttributeValueMemberS{Value: value},
		FailureKeyAttribute:  &types.AttributeValueMemberS{Value: fk},
	}
}

// readFailures reads partition q.value (of status s) after cur until out holds limit entries
// or the partition ends, moving cur after each entry it keeps; more says the partition may
// hold more.
func (t *Tracker) readFailures(ctx context.Context, l failureListing, q indexQuery, s Status, cur *failureCursor, limit int, out *[]failureEntry) (more bool, err error) {
	for {
		q.start = nil
		if cur.TaskID != "" {
			q.start = startAfter(l.job, q.value, cur.FailureKey, cur.TaskID)
		}
		q.limit = limit - len(*out)
		if q.filter.IsSet() {
			q.limit = MaxPageLimit // the limit counts entries before the filter
		}
		in, err := t.queryInput(q)
		if err != nil {
			return false, err
		}
		res, err := t.db.Query(ctx, in)
		if err != nil {
			return false, err
		}
		for _, av := range res.Items {
			if len(*out) == limit {
				return true, nil
			}
			e, err := t.failureEntry(l, s, av)
			if err != nil {
				return false, err
			}
			*out = append(*out, e)
			cur.FailureKey, cur.TaskID = e.failureKey, e.task.TaskID
		}
		switch {
		case res.LastEvaluatedKey == nil:
			return false, nil
		case len(*out) == limit:
			return true, nil
		}
		// The filter kept fewer than the entries read: go on after the last one read.
		fk, _ := res.LastEvaluatedKey[FailureKeyAttribute].(*types.AttributeValueMemberS)
		key, _ := res.LastEvaluatedKey[KeyAttribute].(*types.AttributeValueMemberS)
		if fk == nil || key == nil {
			return false, fmt.Errorf("query of %s: a last evaluated key without its keys", q.value)
		}
		_, id, err := splitKey(key.Value)
		if err != nil {
			return false, err
		}
		cur.FailureKey, cur.TaskID = fk.Value, id
	}
}

// failureEntry reads one entry of the failure index.
func (t *Tracker) failureEntry(l failureListing, s Status, av map[string]types.AttributeValue) (failureEntry, error) {
	var e failureEntry
	e.status = s
	if fk, ok := av[FailureKeyAttribute].(*types.AttributeValueMemberS); ok {
		e.failureKey = fk.Value
	}
	if ut, ok := av[attrUpdateTime].(*types.AttributeValueMemberS); ok {
		e.updateTime = ut.Value
	}
	if !l.decode {
		key, ok := av[KeyAttribute].(*types.AttributeValueMemberS)
		if !ok {
			return e, fmt.Errorf("an entry of the failure index without its key")
		}
		job, id, err := splitKey(key.Value)
		if err != nil {
			return e, err
		}
		e.task = Task{JobID: job, TaskID: id, Status: s}
		return e, nil
	}
	task, err := t.decodeTask(av)
	if err != nil {
		return e, err
	}
	e.task = *task
	return e, nil
}

// and joins conditions; none is the unset condition.
func and(conds ...expression.ConditionBuilder) expression.ConditionBuilder {
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}
	case 1:
		return conds[0]
	}
	return expression.And(conds[0], conds[1], conds[2:]...)
}

// countFailures counts the entries of a failure listing (Select COUNT, reading no item).
func (t *Tracker) countFailures(ctx context.Context, l failureListing) (int, error) {
	checked := t.checkFailureLayoutBeside(ctx)
	n, err := t.countFailureEntries(ctx, l)
	if lerr := checked(); lerr != nil {
		return 0, lerr
	}
	return n, err
}

// countFailureEntries is countFailures, the failure index's layout checked beside it.
func (t *Tracker) countFailureEntries(ctx context.Context, l failureListing) (int, error) {
	parts, err := t.failurePartitions(ctx, l.job, l.statuses)
	if err != nil {
		return 0, err
	}
	q, err := l.query()
	if err != nil {
		return 0, err
	}
	q.count, q.projection = true, nil
	var mu sync.Mutex
	n := 0
	err = forEach(ctx, len(parts), groupReads, func(i int) error {
		if parts[i].value == "" {
			return nil
		}
		q := q
		q.value = parts[i].value
		return t.queryAll(ctx, q, func(out *dynamodb.QueryOutput) error {
			mu.Lock()
			n += int(out.Count)
			mu.Unlock()
			return nil
		})
	})
	return n, err
}

// isTaskNotFound reports whether err says the task does not exist.
func isTaskNotFound(err error) bool { return errors.Is(err, ErrTaskNotFound) }
