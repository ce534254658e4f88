// Package console is the operator's web console over a tracker table: every job with its
// progress, a job's status mix over time and its error groups, a page of its tasks, one task
// whole, and the operator's actions (retry or ignore tasks, a status or an error group; start
// a run), each confirmed before it is done.
//
// The pages are rendered by this server with html/template from templates embedded in the
// binary, with their stylesheet and htmx (a small library that refreshes a part of a page from
// the server: the counts of a running job, a bulk action's progress) embedded too: one binary,
// no build step. Every page works without JavaScript; htmx only refreshes them in place.
//
// What each page reads, so that no page scans a table or a job's tasks:
//
//	GET /            the job registry (tracker.Jobs: one Query of the registry's index key) and,
//	                 for the jobs shown, their counts as last read (a Snapshot per job, read in
//	                 the background: see below)
//	GET /job         the job's registry item (tracker.Job: one GetItem), its counts (Snapshot),
//	                 its error groups (tracker.Groups: the job's keys of the failure index, and one
//	                 GetItem per sample) and its bulk actions (tracker.Bulks)
//	GET /tasks       one page of tracker.List: a status's index keys from a cursor, or a failure
//	                 group's (the failure index), Limit tasks
//	GET /task        one task whole (tracker.Get: one consistent GetItem)
//	GET /bulk        a bulk action's progress (tracker.BulkStatus: one GetItem)
//	POST /act        an action: a review that counts what it would touch (CountSelected: Select
//	                 COUNT on an index) and asks for confirmation, then the action itself
//
// A Snapshot reads every index entry of a job's tasks (about 80 bytes each), and Groups every
// failure index entry of its failures: on a job of a million tasks that takes seconds. So the
// pages never wait for them longer than Config.Wait: a page shows the latest counts it has,
// with their age, and starts a new read in the background when they are older than
// Config.Refresh (or four times as long as the last read took, for a big job), never more
// than one read per job at a time and at most a few jobs at once. Counts are read only for
// the jobs someone looks at: the jobs shown on the jobs page (every job matched, when sorted
// by a count), the job whose page is open. The counts a job's page saw are kept in memory
// (Config.History of them), and make its status mix over time, its throughput and its ETA.
//
// Safe by default: the server listens where it is told (trackerctl console: 127.0.0.1), answers
// only requests whose Host is that address (a page of another site cannot reach it through a
// DNS name rebound to 127.0.0.1), and is read-only unless Config.AllowWrites. Writes are POSTs
// only, carrying the server's CSRF token, and refused when the browser says they come from
// another site (http.CrossOriginProtection: Sec-Fetch-Site and Origin). Every page is sent
// with a Content-Security-Policy that allows only this server's own script and style, so that
// no text of a task (ids, data, errors, tracebacks, all escaped by html/template and shown
// with their control and bidi characters made visible) can run as code.
package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// Config configures a console. The zero value of every field but Tracker has a default.
type Config struct {
	// Tracker reads and moves the table's tasks. Required.
	Tracker *tracker.Tracker
	// AllowWrites shows the actions and lets them run; without it the console is read-only.
	AllowWrites bool
	// Runner starts runs and bulk actions as executions of the state machine; nil means none
	// is configured: a run cannot be started (the console says so), and bulk actions run in
	// this process when BulkHere is set, else not at all.
	Runner Runner
	// BulkHere runs bulk actions in this process (tracker.RunBulk) when Runner is nil: for a
	// table in DynamoDB Local, as `trackerctl retry` does there.
	BulkHere bool
	// Where says which table the console shows, for its pages' header ("table tasks in
	// us-east-1").
	Where string
	// Refresh is how often open pages refresh and, at most, how often a job's counts are read
	// again; 0 means 5 seconds.
	Refresh time.Duration
	// Wait is how long a page waits for counts or groups that are being read before it shows
	// what it has; 0 means 400 milliseconds.
	Wait time.Duration
	// Readers bounds how many jobs' counts (and, apart, groups) are read at once; 0 means 4.
	Readers int
	// History is how many counts of a job are kept for its status mix over time; 0 means 720
	// (an hour at 5 seconds).
	History int
	// PageSize is how many tasks a page of tasks shows, and how many jobs the jobs page; 0
	// means 50.
	PageSize int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the errors of background work (a bulk action run here, a failed read);
	// nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Refresh <= 0 {
		c.Refresh = 5 * time.Second
	}
	if c.Wait <= 0 {
		c.Wait = 400 * time.Millisecond
	}
	if c.Readers <= 0 {
		c.Readers = 4
	}
	if c.History <= 0 {
		c.History = 720
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Tracker == nil:
		return errors.New("console: no tracker")
	case c.PageSize > tracker.MaxPageLimit:
		return fmt.Errorf("console: page size %d is over %d", c.PageSize, tracker.MaxPageLimit)
	}
	return nil
}

// Runner starts work as executions of the tracker's state machine (StepFunctions), or on
// another stack (the local one of cmd/runlocal).
type Runner interface {
	// StartRun starts a run of job's pending tasks and returns what runs it (an execution's
	// ARN). A run that another run's lease refuses is a *tracker.RunLiveError.
	StartRun(ctx context.Context, job string) (string, error)
	// StartBulk starts the bulk action b (tracker.NewBulk made it) and returns what runs it.
	// The action records its progress in the table under b.ID (tracker.BulkStatus).
	StartBulk(ctx context.Context, b tracker.Bulk) (string, error)
}

// Server is a console: an http.Handler for one listening address (Handler), and what its pages
// keep between requests (counts, groups, bulk actions run here).
type Server struct {
	cfg   Config
	tr    *tracker.Tracker
	pages map[string]*template.Template
	csrf  string // the token every write carries

	counts   *cache[*tracker.Snapshot]
	failures *cache[*failures]
	history  *history

	// base is the server's lifetime: background reads and bulk actions run here end with it.
	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu        sync.Mutex
	bulkState map[string]*localBulk // bulk actions run in this process, by job and id
}

// failures is what a job's page shows of its failures: its error groups and its bulk actions.
type failures struct {
	Groups []tracker.Group
	// GroupsErr says why the groups could not be read (a table without the failure index).
	GroupsErr error
	Bulks     []tracker.Bulk
}

// sampleGroups is how many groups, largest first, a job's page shows with their sample error.
const sampleGroups = 10

// New returns a console for cfg. Close ends its background work.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, tr: cfg.Tracker, pages: pages, csrf: hex.EncodeToString(token),
		history: newHistory(cfg.History), base: base, stop: stop, bulkState: map[string]*localBulk{}}
	s.counts = newCache(s.base, cfg, func(ctx context.Context, job string) (*tracker.Snapshot, error) {
		snap, err := s.tr.Snapshot(ctx, job)
		if err == nil {
			s.history.add(job, snap)
		}
		return snap, err
	})
	s.failures = newCache(s.base, cfg, s.readFailures)
	return s, nil
}

// readFailures reads a job's error groups (the largest with a sample task) and its bulk
// actions.
func (s *Server) readFailures(ctx context.Context, job string) (*failures, error) {
	f := &failures{}
	groups, err := s.tr.Groups(ctx, job, tracker.GroupOptions{Samples: sampleGroups})
	switch {
	case errors.Is(err, tracker.ErrTableLayout):
		f.GroupsErr = err
	case err != nil:
		return nil, err
	}
	f.Groups = groups
	if f.Bulks, err = s.tr.Bulks(ctx, job); err != nil {
		return nil, err
	}
	return f, nil
}

// Close stops the console's background work (reads, bulk actions run here) and waits for it
// to end.
func (s *Server) Close() error {
	s.stop()
	s.counts.wait()
	s.failures.wait()
	s.wg.Wait()
	return nil
}

// Handler returns the console's handler for a server listening on addr: it answers only
// requests addressed to it (see allowedHosts).
func (s *Server) Handler(addr net.Addr) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.jobsPage)
	mux.HandleFunc("GET /job", s.jobPage)
	mux.HandleFunc("GET /tasks", s.tasksPage)
	mux.HandleFunc("GET /task", s.taskPage)
	mux.HandleFunc("GET /task.json", s.taskJSON)
	mux.HandleFunc("GET /bulk", s.bulkPage)
	mux.Handle("POST /act", s.protect(http.HandlerFunc(s.act)))
	mux.Handle("GET /static/", staticHandler())
	return s.guard(allowedHosts(addr), mux)
}

// Serve serves the console on ln until ctx ends, then shuts the server down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(ln.Addr()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	<-done
	return err
}

// URL is the address a browser opens for a server listening on addr.
func URL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)) + "/"
}
