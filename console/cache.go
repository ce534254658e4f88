package console

import (
	"context"
	"sync"
	"time"
)

// cache keeps the latest value read for each key (a job) and reads it again in the
// background when a page asks for it and it is due: never more than one read per key at a
// time, at most Config.Readers keys at once, and a key whose read is slow less often (see due).
type cache[T any] struct {
	base context.Context
	cfg  Config
	read func(ctx context.Context, key string) (T, error)
	sem  chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	entries map[string]*entry[T]
}

type entry[T any] struct {
	val T
	has bool
	err error // the last read's error; nil when it succeeded
	// started and took are when the last read that ended started, and how long it took.
	started time.Time
	took    time.Duration
	// reading is closed when the running read ends; nil when none runs.
	reading chan struct{}
	// dirty says the key changed (an action was taken on the job): read it at the next look.
	dirty bool
}

// result is a key's value as a page shows it.
type result[T any] struct {
	Val T
	// Has says a read succeeded once: Val is its value, read At (the end of that read).
	Has bool
	At  time.Time
	// Took is how long the last read took; Err its error, when it failed.
	Took time.Duration
	Err  error
	// Reading says a read runs now.
	Reading bool
}

// readTimeout bounds one background read.
const readTimeout = 10 * time.Minute

func newCache[T any](base context.Context, cfg Config, read func(context.Context, string) (T, error)) *cache[T] {
	return &cache[T]{base: base, cfg: cfg, read: read, sem: make(chan struct{}, cfg.Readers), entries: map[string]*entry[T]{}}
}

// due reports whether e should be read again at now: it never was, it is dirty, or its last
// read started an interval ago. The interval is Refresh, or four times what the last read
// took when that is longer, so that a job whose counts take 10 s to read is read at most every
// 40 s. A tenth of slack keeps a page that polls every Refresh from missing every other read.
func (c *cache[T]) due(e *entry[T], now time.Time) bool {
	if e.reading != nil {
		return false
	}
	if e.dirty || e.started.IsZero() {
		return true
	}
	interval := max(c.cfg.Refresh, 4*e.took)
	return now.Sub(e.started) >= interval-interval/10
}

// kick starts a read of key when it is due, and returns the channel of the read that runs
// (nil when none does).
func (c *cache[T]) kick(key string) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		e = &entry[T]{}
		c.entries[key] = e
	}
	if c.base.Err() != nil || !c.due(e, c.cfg.Now()) {
		return e.reading
	}
	ch := make(chan struct{})
	e.reading, e.dirty = ch, false
	c.wg.Add(1)
	go c.run(key, e, ch)
	return ch
}

// run reads key once a reader is free, and records what it read.
func (c *cache[T]) run(key string, e *entry[T], ch chan struct{}) {
	defer c.wg.Done()
	defer close(ch)
	select {
	case c.sem <- struct{}{}:
	case <-c.base.Done():
		c.mu.Lock()
		e.reading = nil
		c.mu.Unlock()
		return
	}
	defer func() { <-c.sem }()
	ctx, cancel := context.WithTimeout(c.base, readTimeout)
	defer cancel()
	started := c.cfg.Now()
	val, err := c.read(ctx, key)
	took := c.cfg.Now().Sub(started)
	if err != nil && c.base.Err() == nil {
		c.cfg.Logger.Warn("console: read failed", "key", key, "error", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e.reading, e.started, e.took, e.err = nil, started, took, err
	if err == nil {
		e.val, e.has = val, true
	}
}

// peek returns what is known of key now.
func (c *cache[T]) peek(key string) result[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return result[T]{}
	}
	return result[T]{Val: e.val, Has: e.has, At: e.started.Add(e.took), Took: e.took, Err: e.err, Reading: e.reading != nil}
}

// get starts a read of key when it is due and waits up to wait for the read that runs, then
// returns what is known.
func (c *cache[T]) get(ctx context.Context, key string, wait time.Duration) result[T] {
	return c.getAll(ctx, []string{key}, wait)[key]
}

// getAll is get for many keys, waiting up to wait for all of their reads together.
func (c *cache[T]) getAll(ctx context.Context, keys []string, wait time.Duration) map[string]result[T] {
	var running []<-chan struct{}
	for _, k := range keys {
		if ch := c.kick(k); ch != nil {
			running = append(running, ch)
		}
	}
	if len(running) > 0 && wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
	wait:
		for _, ch := range running {
			select {
			case <-ch:
			case <-timer.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
	}
	out := make(map[string]result[T], len(keys))
	for _, k := range keys {
		out[k] = c.peek(k)
	}
	return out
}

// invalidate marks key dirty: the next look reads it again.
func (c *cache[T]) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		e.dirty = true
	}
}

// wait waits for the reads that run to end.
func (c *cache[T]) wait() { c.wg.Wait() }
