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
	// MaxBackoff caps the wait before a failed task's next attempt, and Backoff itself.
	MaxBackoff = 300 * time.Second
	// MaxMaxRetry bounds MaxRetry; MaxLeaseDuration bounds LeaseDuration.
	MaxMaxRetry      = 1000
	MaxLeaseDuration = 24 * time.Hour
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
	// MaxRetry is how many failed attempts move a task to Ignored, at most MaxMaxRetry; 0
	// means 3.
	MaxRetry int
	// LeaseDuration is how long a claim holds a task, at most MaxLeaseDuration; 0 means 15
	// minutes.
	LeaseDuration time.Duration
	// Backoff is the wait after a task's first failure before it may run again, at most
	// MaxBackoff; it doubles with every further failure, up to MaxBackoff. 0 means 5 seconds.
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Tracker{db: client, cfg: cfg}, nil
}

// Validate checks every setting of c against its range (a zero value, its default, passes):
// the status codes, MaxRetry up to MaxMaxRetry, LeaseDuration up to MaxLeaseDuration,
// Backoff up to MaxBackoff, none negative. The table name is New's to check. A refusal is a
// *ValidationError naming the field.
func (c Config) Validate() error {
	if c.Codes != (StatusCodes{}) {
		if err := c.Codes.Validate(); err != nil {
			return err
		}
	}
	for job, codes := range c.JobCodes {
		if err := codes.Validate(); err != nil {
			return fmt.Errorf("codes of job %q: %w", job, err)
		}
	}
	for _, r := range []struct {
		field    string
		v, limit int64
		unit     string
	}{
		{"max_retry", int64(c.MaxRetry), MaxMaxRetry, ""},
		{"lease_duration", int64(c.LeaseDuration), int64(MaxLeaseDuration), "duration"},
		{"backoff", int64(c.Backoff), int64(MaxBackoff), "duration"},
	} {
		if r.v < 0 || r.v > r.limit {
			limit := fmt.Sprint(r.limit)
			if r.unit == "duration" {
				limit = time.Duration(r.limit).String()
			}
			return &ValidationError{Field: r.field, Reason: "must be between 0 (the default) and " + limit}
		}
	}
	return nil
}

// withDefaults returns c with the default of every zero setting filled in.
func (c Config) withDefaults() Config {
	if c.Codes == (StatusCodes{}) {
		c.Codes = DefaultStatusCodes
	}
	if c.MaxRetry == 0 {
		c.MaxRetry = DefaultMaxRetry
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	switch {
	case c.ClockSkew == 0:
		c.ClockSkew = DefaultClockSkew
	case c.ClockSkew < 0:
		c.ClockSkew = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
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
// Backoff doubling per failure, capped at MaxBackoff.
func (t *Tracker) BackoffAfter(retry int) time.Duration {
	if retry < 1 {
		return 0
	}
	d := t.cfg.Backoff << min(retry-1, 16)
	return min(d, MaxBackoff)
}
