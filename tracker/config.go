package tracker

import (
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxRetry      = 3
	DefaultLeaseDuration = 900 * time.Second
	DefaultBackoff       = 5 * time.Second
	DefaultClockSkew     = 30 * time.Second
	// MaxBackoff caps the wait before a failed task's next attempt.
	MaxBackoff = 300 * time.Second
)

// Config configures a Tracker. The zero value of every field but Table has a default.
//
// Leases and clocks: a claim stamps lock_time from the claiming worker's clock and the lease
// runs for LeaseDuration from there; another worker takes the task over only once its own
// clock is LeaseDuration + ClockSkew past lock_time. So that a live worker never loses a
// task it is working on:
//
//   - ClockSkew must cover the largest difference between the clocks of any two workers;
//   - a worker must finish, or Extend its lease, well within LeaseDuration of its last claim
//     or extension: a handler's timeout (a Lambda function's timeout, say) must be under
//     LeaseDuration, or the work must heartbeat, extending every LeaseDuration/3 or so;
//   - a worker should stop working on a task once its own clock passes Lease.Expires, since
//     from LeaseDuration + ClockSkew on the task may be someone else's.
//
// Extend never moves lock_time back, so a worker whose clock runs behind cannot shorten a
// lease. The seed's code takes a lock over after 900 seconds with no allowance for skew: with
// seed workers on the same table, keep LeaseDuration at 900 seconds or less.
type Config struct {
	// Table is the DynamoDB table name. Required.
	Table string
	// Codes are the status codes of every job; the zero value means DefaultStatusCodes.
	Codes StatusCodes
	// JobCodes overrides Codes for the jobs it names.
	JobCodes map[string]StatusCodes
	// MaxRetry is how many failed attempts move a task to Ignored; 0 means 3.
	MaxRetry int
	// LeaseDuration is how long a claim holds a task; 0 means 15 minutes.
	LeaseDuration time.Duration
	// Backoff is the wait after a task's first failure before it may run again; it doubles
	// with every further failure, up to MaxBackoff (or Backoff, when that is larger). 0 means
	// 5 seconds.
	Backoff time.Duration
	// ClockSkew is how far apart workers' clocks may be; a lease is taken over only
	// LeaseDuration + ClockSkew after its lock time. 0 means 30 seconds; a negative value
	// means no allowance.
	ClockSkew time.Duration
	// Now is the clock; nil means time.Now. Tests inject one to expire leases.
	Now func() time.Time
}

// Tracker reads and moves the tasks of one table. It is safe for concurrent use.
type Tracker struct {
	db         *dynamodb.Client
	cfg        Config
	layout     layoutCheck
	templates  sync.Map   // templateKey → *template: the hot transitions' expressions (compiled)
	shardCache shardCache // each job's shards, from the registry
}

// New returns a Tracker for cfg.Table through client (any endpoint and region: the caller
// builds the client). It validates the configuration and makes no call.
func New(client *dynamodb.Client, cfg Config) (*Tracker, error) {
	if client == nil {
		return nil, &ValidationError{Field: "client", Reason: "a *dynamodb.Client is required"}
	}
	if cfg.Table == "" {
		return nil, &ValidationError{Field: "table", Reason: "a table name is required"}
	}
	if cfg.Codes == (StatusCodes{}) {
		cfg.Codes = DefaultStatusCodes
	}
	if err := cfg.Codes.Validate(); err != nil {
		return nil, err
	}
	for job, codes := range cfg.JobCodes {
		if err := codes.Validate(); err != nil {
			return nil, fmt.Errorf("codes of job %q: %w", job, err)
		}
	}
	if cfg.MaxRetry < 0 {
		return nil, &ValidationError{Field: "max_retry", Reason: "must not be negative"}
	}
	if cfg.MaxRetry == 0 {
		cfg.MaxRetry = DefaultMaxRetry
	}
	if cfg.LeaseDuration < 0 {
		return nil, &ValidationError{Field: "lease_duration", Reason: "must not be negative"}
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.Backoff < 0 {
		return nil, &ValidationError{Field: "backoff", Reason: "must not be negative"}
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultBackoff
	}
	switch {
	case cfg.ClockSkew == 0:
		cfg.ClockSkew = DefaultClockSkew
	case cfg.ClockSkew < 0:
		cfg.ClockSkew = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tracker{db: client, cfg: cfg}, nil
}

// Config returns the configuration with its defaults filled in.
func (t *Tracker) Config() Config { return t.cfg }

// Codes returns the status codes of job.
func (t *Tracker) Codes(job string) StatusCodes {
	if c, ok := t.cfg.JobCodes[job]; ok {
		return c
	}
	return t.cfg.Codes
}

func (t *Tracker) now() time.Time { return t.cfg.Now().UTC().Truncate(time.Microsecond) }

// BackoffAfter is how long a task that has failed retry times waits before its next attempt:
// Backoff doubling per failure, capped at MaxBackoff (or Backoff when that is larger).
func (t *Tracker) BackoffAfter(retry int) time.Duration {
	if retry < 1 {
		return 0
	}
	d := t.cfg.Backoff << min(retry-1, 16)
	return min(d, max(MaxBackoff, t.cfg.Backoff))
}
