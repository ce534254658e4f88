package tracker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The job registry: one item per job in the same table, so that a sweep can find every job
// without a Scan, every reader finds a job's shards, and a run holds a lease on its job. Its
// key is the job id and the separator, {job}____: a task's key has a non-empty task id after
// the separator, so no task has it, and it starts with the job id as a task's key does (an
// IAM policy on the keys of a tenant's jobs covers it). Its index value is the separator and
// "jobs", which no {job_id}____{NN} can be: the seed's queries by job and status never see it.
//
// Earlier versions keyed it ____jobs____{job}; such items are still read (see Jobs, Job), and
// MigrateRegistry (`trackerctl upgrade-table`) moves them.
const (
	registryValue     = Separator + "jobs"
	legacyRegistryKey = Separator + "jobs" + Separator
	attrLastRun       = "last_run"
	attrShards        = "shards"
)

// registryKey is job's registry item key.
func registryKey(job string) string { return job + Separator }

// ErrJobNotRegistered: the job has no registry item (Job): its tasks, if any, were written by
// code that does not register jobs (the seed's).
var ErrJobNotRegistered = errors.New("job not registered")

// ErrJobExists: CreateJob found the job registered with other options (its shards).
var ErrJobExists = errors.New("job already exists with other options")

// ErrRunLive: another run holds the job's run lease (see AcquireRun).
var ErrRunLive = errors.New("another run of the job is live")

// ErrRunLost: the run's lease on its job is no longer its own (it expired and another run
// took it).
var ErrRunLost = errors.New("the run's lease on the job was lost")

// Job is a job in the registry.
type Job struct {
	JobID string `json:"job_id"`
	// Shards is how many index keys each status of the job is spread over (JobOptions); 1 is
	// the seed's layout. Jobs leaves it 0 (the index does not carry it): Job reads it.
	Shards int `json:"shards,omitempty"`
	// Created is when the job was registered.
	Created time.Time `json:"created"`
	// Updated is when a Tracker last registered it (a process's first creation of tasks of
	// the job: a Tracker registers a job once).
	Updated time.Time `json:"updated"`
	// LastRun is when a run last took the job's run lease; zero if never.
	LastRun time.Time `json:"last_run,omitzero"`
	// Run is who holds (or last held) the job's run lease: the holder and when its lease runs
	// out. Zero when no run ever held it.
	Run RunHolder `json:"run,omitzero"`
}

// RunHolder is who holds a job's run lease, as the registry says.
type RunHolder struct {
	// Owner is the run (a Step Functions execution's ARN, say).
	Owner string `json:"owner,omitempty"`
	// Expires is when the lease runs out unless renewed; zero when no run holds it.
	Expires time.Time `json:"expires,omitzero"`
}

// Live reports whether a run holds the job at now.
func (h RunHolder) Live(now time.Time) bool { return !h.Expires.IsZero() && now.Before(h.Expires) }

// JobOptions are a job's options, fixed when it is registered.
type JobOptions struct {
	// Shards spreads each status of the job over this many index keys (1 to MaxShards), so
	// that one job can pass about 500 tasks a second (see ShardOf); 0 or 1 is the seed's
	// layout. A sharded job's tasks are invisible to the seed's queries by status.
	Shards int
}

// Validate checks the options.
func (o JobOptions) Validate() error {
	if o.Shards < 0 || o.Shards > MaxShards {
		return &ValidationError{Field: "shards", Reason: fmt.Sprintf("%d is out of range 1..%d", o.Shards, MaxShards)}
	}
	return nil
}

type jobItem struct {
	Key        string  `dynamodbav:"key"`
	CreateTime string  `dynamodbav:"create_time"`
	UpdateTime string  `dynamodbav:"update_time"`
	LastRun    string  `dynamodbav:"last_run,omitempty"`
	Shards     int     `dynamodbav:"shards,omitempty"`
	Lock       *string `dynamodbav:"lock,omitempty"`
	LockTime   string  `dynamodbav:"lock_time,omitempty"`
	LockOwner  string  `dynamodbav:"lock_owner,omitempty"`
}

// CreateJob registers job with opts (one conditional write): a new job, or one registered
// with the same options (a no-op then, but for its update time). A job registered with other
// shards, or one whose tasks already exist unregistered with shards other than opts', gets a
// *ConflictError matching ErrJobExists: a job's shards never change once it has tasks.
func (t *Tracker) CreateJob(ctx context.Context, job string, opts JobOptions) (*Job, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	shards := max(opts.Shards, 1)
	if shards > 1 {
		// A job registered otherwise, or with tasks and no registry item (the seed's), keeps
		// its layout: its tasks are where that layout put them.
		if ok, err := t.mayShard(ctx, job, shards); err != nil {
			return nil, err
		} else if !ok {
			return nil, &ConflictError{Op: "create job", JobID: job, Reason: ErrJobExists}
		}
	}
	now := formatTime(t.now())
	update := expression.Set(expression.Name(StatusAttribute), expression.Value(registryValue)).
		Set(expression.Name(attrCreateTime), expression.IfNotExists(expression.Name(attrCreateTime), expression.Value(now))).
		Set(expression.Name(attrUpdateTime), expression.Value(now))
	sameShards := expression.Name(attrShards).Equal(expression.Value(shards))
	cond := expression.Or(expression.Name(KeyAttribute).AttributeNotExists(), sameShards)
	if shards == 1 {
		cond = expression.Or(cond, expression.Name(attrShards).AttributeNotExists())
	} else {
		update = update.Set(expression.Name(attrShards), expression.IfNotExists(expression.Name(attrShards), expression.Value(shards)))
	}
	item, refused, err := t.writeRegistry(ctx, job, cond, update)
	if err != nil {
		return nil, fmt.Errorf("create job %s: %w", job, err)
	}
	if refused {
		return nil, &ConflictError{Op: "create job", JobID: job, Reason: ErrJobExists}
	}
	j, err := item.job(t.expiry())
	if err != nil {
		return nil, err
	}
	t.rememberShards(job, shardEntry{shards: max(j.Shards, 1)})
	return j, nil
}

// mayShard reports whether job may be registered with shards (> 1): it is registered with
// those shards already, or it is not registered and has no task.
func (t *Tracker) mayShard(ctx context.Context, job string, shards int) (bool, error) {
	j, err := t.Job(ctx, job)
	switch {
	case err == nil:
		return j.Shards == shards, nil
	case !isNotFound(err):
		return false, err
	}
	page, err := t.List(ctx, job, ListOptions{Limit: 1, IDsOnly: true})
	if err != nil {
		return false, err
	}
	return len(page.Tasks) == 0 && page.Cursor == "", nil
}

// register makes sure job is in the registry before tasks are written to it: once per job
// and Tracker (CreateJob with the default options if the registry lacks it).
func (t *Tracker) register(ctx context.Context, job string) error {
	t.shardCache.mu.Lock()
	e, known := t.shardCache.known[job]
	t.shardCache.mu.Unlock()
	if known && e.until.IsZero() {
		return nil // registered, and its shards read
	}
	if _, err := t.Job(ctx, job); err == nil {
		return nil
	} else if !isNotFound(err) {
		return err
	}
	_, err := t.CreateJob(ctx, job, JobOptions{})
	return err
}

// Job reads job's registry item (consistent read); a job that has none gets an error
// matching ErrJobNotRegistered.
func (t *Tracker) Job(ctx context.Context, job string) (*Job, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	for _, key := range []string{registryKey(job), legacyRegistryKey + job} {
		out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(t.cfg.Table), Key: keyAVRaw(key), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("read job %s: %w", job, err)
		}
		if len(out.Item) == 0 {
			continue
		}
		it, err := decodeJobItem(out.Item)
		if err != nil {
			return nil, err
		}
		j, err := it.job(t.expiry())
		if err != nil {
			return nil, err
		}
		t.rememberShards(job, shardEntry{shards: max(j.Shards, 1)})
		return j, nil
	}
	return nil, fmt.Errorf("job %s: %w", clip(job), ErrJobNotRegistered)
}

// Registry is what Jobs read: the registered jobs and the registry items it skipped.
type Registry struct {
	// Jobs are the registered jobs, ordered by id.
	Jobs []Job
	// Bad lists the registry items that could not be read (a malformed id or time, written
	// by hand or by another tool), each with why; the jobs they stand for are left out.
	Bad []RegistryError
}

// RegistryError is a registry item Jobs could not read.
type RegistryError struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Jobs lists the registered jobs, ordered by id, from the index (no Scan). An item it cannot
// read is skipped and reported in Registry.Bad, so that one bad item does not hide every job.
func (t *Tracker) Jobs(ctx context.Context) (*Registry, error) {
	byID := map[string]Job{}
	reg := &Registry{}
	err := t.queryAll(ctx, indexQuery{value: registryValue}, func(out *dynamodb.QueryOutput) error {
		for _, av := range out.Items {
			it, err := decodeJobItem(av)
			var j *Job
			if err == nil {
				j, err = it.job(t.expiry())
			}
			if err != nil {
				key := ""
				if k, ok := av[KeyAttribute].(*types.AttributeValueMemberS); ok {
					key = k.Value
				}
				reg.Bad = append(reg.Bad, RegistryError{Key: key, Reason: err.Error()})
				continue
			}
			// An item in the legacy form and one in the new: the new one holds the runs.
			if old, dup := byID[j.JobID]; dup && strings.HasPrefix(it.Key, legacyRegistryKey) {
				j = &old
			}
			byID[j.JobID] = *j
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	for _, j := range byID {
		reg.Jobs = append(reg.Jobs, j)
	}
	sort.Slice(reg.Jobs, func(a, b int) bool { return reg.Jobs[a].JobID < reg.Jobs[b].JobID })
	return reg, nil
}

func decodeJobItem(av map[string]types.AttributeValue) (*jobItem, error) {
	var it jobItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, fmt.Errorf("decode job item: %w", err)
	}
	return &it, nil
}

// job reads the item as a Job; expiry is how long a run's lease lasts from its lock time.
func (it *jobItem) job(expiry time.Duration) (*Job, error) {
	id, ok := strings.CutPrefix(it.Key, legacyRegistryKey)
	if !ok {
		id, ok = strings.CutSuffix(it.Key, Separator)
	}
	if !ok {
		return nil, fmt.Errorf("%q is not a job registry key", clip(it.Key))
	}
	if err := ValidateJob(id); err != nil {
		return nil, fmt.Errorf("job %q: %w", clip(id), err)
	}
	j := &Job{JobID: id, Shards: it.Shards, Run: RunHolder{Owner: it.LockOwner}}
	var lockTime time.Time
	for _, f := range []struct {
		text string
		dst  *time.Time
	}{{it.CreateTime, &j.Created}, {it.UpdateTime, &j.Updated}, {it.LastRun, &j.LastRun}, {it.LockTime, &lockTime}} {
		if f.text == "" {
			continue
		}
		var err error
		if *f.dst, err = parseTime(f.text); err != nil {
			return nil, fmt.Errorf("job %s: %w", id, err)
		}
	}
	if it.Shards < 0 || it.Shards > MaxShards {
		return nil, fmt.Errorf("job %s: shards %d is out of range 1..%d", id, it.Shards, MaxShards)
	}
	if it.Lock != nil && *it.Lock != "" {
		j.Run.Expires = lockTime.Add(expiry)
	}
	return j, nil
}

// writeRegistry sends one conditional UpdateItem to job's registry item and returns the item
// as written, or, refused, as it was (nil when absent).
func (t *Tracker) writeRegistry(ctx context.Context, job string, cond expression.ConditionBuilder, update expression.UpdateBuilder) (*jobItem, bool, error) {
	b := expression.NewBuilder().WithUpdate(update)
	if cond.IsSet() {
		b = b.WithCondition(cond)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, false, err
	}
	out, err := t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.cfg.Table), Key: keyAVRaw(registryKey(job)),
		ConditionExpression: expr.Condition(), UpdateExpression: expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return nil, true, nil
		}
		it, derr := decodeJobItem(ccf.Item)
		return it, true, derr
	}
	if err != nil {
		return nil, false, err
	}
	it, err := decodeJobItem(out.Attributes)
	return it, false, err
}

// isNotFound reports whether err says that a job has no registry item.
func isNotFound(err error) bool { return errors.Is(err, ErrJobNotRegistered) }
