package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// RegistryMigration is what MigrateRegistry read and wrote.
type RegistryMigration struct {
	// Scanned is how many items the Scan read (their keys alone), in Pages pages.
	Scanned, Pages int
	// Jobs is how many jobs have tasks.
	Jobs int
	// Registered are the jobs that had tasks and no registry item (the seed's), now
	// registered with the default options, ordered by id.
	Registered []string
	// Moved are the jobs whose legacy registry item (____jobs____{job}) moved to the current
	// key ({job}____) with its times, run lease and shards, ordered by id.
	Moved []string
	// Dropped are the jobs whose legacy registry item was deleted because the job had an item
	// under the current key already, which holds its runs (its creation time became the
	// earlier of the two), ordered by id.
	Dropped []string
	// Skipped are the jobs left unregistered because the tracker refuses their ids (a control
	// character, say): one of their task keys each, and why.
	Skipped []RegistryError
}

// MigrateRegistry brings the job registry up to date, for `trackerctl upgrade-table`: it
// registers every job that has tasks but no registry item (CreateJob with the default
// options), and moves every legacy registry item (____jobs____{job}) to the current key
// ({job}____), keeping its attributes, then deletes it. It reads the table once, with a
// paginated Scan of the keys alone: an administrator's command, not a worker's. Running it
// again writes nothing. Each write is conditional, so a process registering a job at the same
// time loses nothing; a legacy item that changes while it moves is left for the next run,
// with an error.
func (t *Tracker) MigrateRegistry(ctx context.Context) (*RegistryMigration, error) {
	keys, err := t.scanKeys(ctx)
	if err != nil {
		return nil, err
	}
	m := &RegistryMigration{Scanned: keys.scanned, Pages: keys.pages, Jobs: len(keys.tasks)}
	for _, job := range slices.Sorted(maps.Keys(keys.legacy)) {
		moved, err := t.moveLegacyJob(ctx, job)
		if err != nil {
			return m, fmt.Errorf("move the legacy registry item of job %s: %w", job, err)
		}
		if moved {
			m.Moved = append(m.Moved, job)
		} else {
			m.Dropped = append(m.Dropped, job)
		}
		keys.registered[job] = true
	}
	for _, job := range slices.Sorted(maps.Keys(keys.tasks)) {
		if keys.registered[job] {
			continue
		}
		if err := ValidateJob(job); err != nil {
			m.Skipped = append(m.Skipped, RegistryError{Key: keys.tasks[job], Reason: err.Error()})
			continue
		}
		if _, err := t.CreateJob(ctx, job, JobOptions{}); err != nil {
			return m, fmt.Errorf("register job %s: %w", job, err)
		}
		m.Registered = append(m.Registered, job)
	}
	return m, nil
}

// tableKeys are the keys of a table's items, sorted out.
type tableKeys struct {
	scanned, pages int
	// tasks holds a task key of every job that has tasks, by job; registered the jobs with
	// a current registry item, legacy those with a legacy one.
	tasks              map[string]string
	registered, legacy map[string]bool
}

// scanKeys reads every item's key with a paginated Scan.
func (t *Tracker) scanKeys(ctx context.Context) (*tableKeys, error) {
	expr, err := expression.NewBuilder().WithProjection(expression.NamesList(expression.Name(KeyAttribute))).Build()
	if err != nil {
		return nil, err
	}
	keys := &tableKeys{tasks: map[string]string{}, registered: map[string]bool{}, legacy: map[string]bool{}}
	p := dynamodb.NewScanPaginator(t.db, &dynamodb.ScanInput{
		TableName: aws.String(t.cfg.Table), ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names(),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan the keys of table %s: %w", t.cfg.Table, err)
		}
		keys.pages++
		keys.scanned += len(out.Items)
		for _, it := range out.Items {
			if k, ok := it[KeyAttribute].(*types.AttributeValueMemberS); ok {
				keys.add(k.Value)
			}
		}
	}
	return keys, nil
}

// add sorts out one key: a legacy registry item's, a registry item's ({job}____) or a task's.
// A key without the separator is none of the tracker's and is left alone.
func (k *tableKeys) add(key string) {
	if job, ok := strings.CutPrefix(key, legacyRegistryKey); ok {
		k.legacy[job] = true
		return
	}
	job, task, err := splitKey(key)
	switch {
	case err != nil || job == "":
	case task == "":
		k.registered[job] = true
	case k.tasks[job] == "":
		k.tasks[job] = key
	}
}

// moveLegacyJob moves job's legacy registry item to the current key, unless an item is there
// already (moved false: the legacy item is dropped, its earlier creation time kept), and
// deletes it.
func (t *Tracker) moveLegacyJob(ctx context.Context, job string) (moved bool, err error) {
	legacy := keyAVRaw(legacyRegistryKey + job)
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.cfg.Table), Key: legacy, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, err
	}
	old := out.Item
	if len(old) == 0 {
		return false, nil // gone since the Scan
	}
	item := maps.Clone(old)
	item[KeyAttribute] = &types.AttributeValueMemberS{Value: registryKey(job)}
	item[StatusAttribute] = &types.AttributeValueMemberS{Value: registryValue}
	moved, err = t.putIfAbsent(ctx, item)
	if err != nil {
		return false, err
	}
	if !moved {
		if err := t.keepEarlierCreation(ctx, job, old[attrCreateTime]); err != nil {
			return false, err
		}
	}
	return moved, t.deleteUnchanged(ctx, old)
}

// putIfAbsent writes item unless an item with its key exists, and says whether it wrote it.
func (t *Tracker) putIfAbsent(ctx context.Context, item map[string]types.AttributeValue) (bool, error) {
	expr, err := expression.NewBuilder().WithCondition(expression.Name(KeyAttribute).AttributeNotExists()).Build()
	if err != nil {
		return false, err
	}
	_, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.cfg.Table), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	return err == nil, err
}

// keepEarlierCreation sets the creation time of job's registry item to created when that is
// earlier (the times' fixed-width UTC format orders as text); a nil created changes nothing.
func (t *Tracker) keepEarlierCreation(ctx context.Context, job string, created types.AttributeValue) error {
	if created == nil {
		return nil
	}
	ct := expression.Name(attrCreateTime)
	cond := expression.Name(KeyAttribute).AttributeExists().And(expression.Or(ct.AttributeNotExists(), ct.GreaterThan(expression.Value(created))))
	_, _, err := t.writeRegistry(ctx, job, cond, expression.Set(ct, expression.Value(created)))
	return err
}

// deleteUnchanged deletes the legacy registry item old, provided that no write changed it
// since it was read (an earlier version of this package still running, say).
func (t *Tracker) deleteUnchanged(ctx context.Context, old map[string]types.AttributeValue) error {
	cond := expression.Name(KeyAttribute).AttributeExists()
	for _, name := range []string{attrUpdateTime, attrLockTime, attrLastRun, attrLock} {
		if v, ok := old[name]; ok {
			cond = cond.And(expression.Name(name).Equal(expression.Value(v)))
		} else {
			cond = cond.And(expression.Name(name).AttributeNotExists())
		}
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	_, err = t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.cfg.Table), Key: map[string]types.AttributeValue{KeyAttribute: old[KeyAttribute]},
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return errors.New("it changed while being moved: run the migration again")
	}
	return err
}

// FailureMigration is what MigrateFailures read and wrote.
type FailureMigration struct {
	// Scanned is how many items the Scan read (those with an error and no fingerprint), in
	// Pages pages.
	Scanned, Pages int
	// Fingerprinted counts the failed and ignored tasks that now carry their failure in the
	// failure index.
	Fingerprinted int
	// Changed counts the tasks that changed while the migration ran: left as they were, for
	// the next run (or their next failure) to fingerprint.
	Changed int
}

// MigrateFailures puts the current failures recorded before failures were fingerprinted
// (by an earlier version of this package, or by the seed's code) into the failure index, for
// `trackerctl upgrade-table`: each failed or ignored task with an errors attribute and no
// failure_key gets the fingerprint of its stored error and traceback, with its update time as
// the failure's time. It reads the table once, with a paginated Scan of those items, and
// writes each with one conditional UpdateItem that applies only while the task is as the
// Scan read it. Running it again writes nothing. A fingerprint computed from a stored
// traceback that was cut short may differ from the one the whole failure would have had.
func (t *Tracker) MigrateFailures(ctx context.Context) (*FailureMigration, error) {
	filter := expression.Name(attrErrors).AttributeExists().And(expression.Name(FailureKeyAttribute).AttributeNotExists())
	proj := expression.NamesList(expression.Name(KeyAttribute), expression.Name(StatusAttribute), expression.Name(attrErrors), expression.Name(attrUpdateTime))
	expr, err := expression.NewBuilder().WithFilter(filter).WithProjection(proj).Build()
	if err != nil {
		return nil, err
	}
	m := &FailureMigration{}
	p := dynamodb.NewScanPaginator(t.db, &dynamodb.ScanInput{
		TableName: aws.String(t.cfg.Table), FilterExpression: expr.Filter(), ProjectionExpression: expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return m, fmt.Errorf("scan the failures of table %s: %w", t.cfg.Table, err)
		}
		m.Pages++
		m.Scanned += len(out.Items)
		for _, it := range out.Items {
			done, err := t.fingerprintStored(ctx, it)
			if err != nil {
				return m, err
			}
			switch done {
			case migrated:
				m.Fingerprinted++
			case changed:
				m.Changed++
			}
		}
	}
	return m, nil
}

// Outcomes of fingerprintStored.
const (
	notAFailure = iota
	migrated
	changed
)

// fingerprintStored puts one scanned item's failure into the failure index, when it is a
// failed or ignored task's.
func (t *Tracker) fingerprintStored(ctx context.Context, av map[string]types.AttributeValue) (int, error) {
	it, err := decodeItem(av)
	if err != nil || it.Errors == nil {
		return notAFailure, nil
	}
	job, id, err := splitKey(it.Key)
	if err != nil || ValidateID(job, id) != nil {
		return notAFailure, nil // a registry item, a bulk action's record, another writer's
	}
	code, _, ok := parseValue(job, it.Value)
	s := t.Codes(job).Status(code)
	if !ok || (s != Failed && s != Ignored) {
		return notAFailure, nil
	}
	var te TaskError
	if json.Unmarshal([]byte(*it.Errors), &te) != nil {
		return notAFailure, nil
	}
	at, err := parseTime(it.UpdateTime)
	if err != nil {
		return notAFailure, nil
	}
	r, err := t.ref(ctx, job, id)
	if err != nil {
		return notAFailure, err
	}
	cond := expression.Name(StatusAttribute).Equal(expression.Value(it.Value)).
		And(expression.Name(attrUpdateTime).Equal(expression.Value(it.UpdateTime))).
		And(expression.Name(FailureKeyAttribute).AttributeNotExists())
	update := setFailure(expression.UpdateBuilder{}, r, s, fingerprintOf(te.Error, te.Traceback), at, te.Error)
	_, refused, err := t.write(ctx, transition{op: "fingerprint", job: job, task: id, cond: cond, update: update})
	switch {
	case err != nil:
		return notAFailure, err
	case refused:
		return changed, nil
	}
	return migrated, nil
}
