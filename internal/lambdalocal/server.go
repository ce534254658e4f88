// Package lambdalocal serves the AWS Lambda Invoke API on a local address over a pool of
// Runtime Interface Emulators (RIE), the equivalent of `sam local start-lambda` without Docker:
// the AWS SDKs, the AWS CLI and aws-local-stepfunctions invoke natively built function
// binaries through it as they would invoke Lambda.
//
// Each RIE process serves one invocation at a time (a second concurrent request crashes it),
// so every function gets a pool of them and a request waits for an idle one. What the RIE
// leaves out, the server adds: function names and ARNs, X-Amz-Function-Error, the
// Sandbox.Timedout error and AWS's error responses. It serves synchronous (RequestResponse)
// invocations only, the one kind Step Functions makes. An RIE that dies is replaced. The
// package runs on Linux only, as the RIE does.
package lambdalocal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Function is one Lambda function served by the server.
type Function struct {
	Name      string            // required; what callers put in a function name or ARN
	Bootstrap string            // required; the path of a natively built (linux/GOARCH) bootstrap
	Env       map[string]string // the function's variables; of the server's own environment, only PATH reaches it
	Timeout   time.Duration     // 0 means 3 seconds; rounded up to whole seconds, as the RIE counts
	PoolSize  int               // RIE processes, so concurrent invocations; 0 means 1
}

// Config configures a Server.
type Config struct {
	Addr      string       // the listen address; "" means 127.0.0.1:0, a free port
	RIE       string       // the aws-lambda-rie binary; "" means BuildRIE into the user cache directory
	Region    string       // the functions' AWS_REGION when their Env has none, and the region of ARNs; "" means us-east-1
	Functions []Function   // at least one
	Logger    *slog.Logger // the server's log and the functions' output; nil means none
}

const (
	// account is the account of every ARN the server shows; the RIE puts it in the function's
	// invoked ARN (lambdacontext.InvokedFunctionArn), so the server uses the same one.
	account = "012345678912"

	defaultRegion  = "us-east-1"
	defaultTimeout = 3 * time.Second
	// memoryMB is what every function is told its memory size is; nothing enforces it.
	memoryMB = 128
)

// Server serves the Lambda Invoke API for its functions. It is safe for concurrent use.
type Server struct {
	url    string
	region string
	log    *slog.Logger
	rie    string
	client *http.Client // to the RIEs
	pools  map[string]*pool
	http   *http.Server

	// ctx ends at Close: it cancels queued and running invocations and instance starts.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed and adding to wg
	closed bool
	wg     sync.WaitGroup // every goroutine the server starts
	done   chan struct{}  // closed when the HTTP server has stopped
}

// Start starts PoolSize RIE processes for every function, waits until each answers and serves
// the Lambda API on cfg.Addr. Until Close, a process that dies is replaced. ctx bounds the
// start only, not the server's life; on an error nothing is left running.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if runtime.GOOS != "linux" {
		return nil, errors.New("lambdalocal: the Runtime Interface Emulator runs only on Linux")
	}
	if len(cfg.Functions) == 0 {
		return nil, errors.New("lambdalocal: no functions")
	}
	s := &Server{
		region: cmp.Or(cfg.Region, defaultRegion),
		log:    cfg.Logger,
		rie:    cfg.RIE,
		client: &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the RIEs are on loopback; never send them through a proxy
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     time.Minute,
		}},
		pools: map[string]*pool{},
		done:  make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))

	for _, fn := range cfg.Functions {
		fn, err := s.normalize(fn)
		if err != nil {
			s.cancel()
			return nil, err
		}
		if _, dup := s.pools[fn.Name]; dup {
			s.cancel()
			return nil, fmt.Errorf("lambdalocal: function %q given twice", fn.Name)
		}
		s.pools[fn.Name] = newPool(s, fn)
	}
	if s.rie == "" {
		rie, err := BuildRIE(ctx, "")
		if err != nil {
			s.cancel()
			return nil, err
		}
		s.rie = rie
	}

	ln, err := net.Listen("tcp", cmp.Or(cfg.Addr, "127.0.0.1:0"))
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("lambdalocal: listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()

	// Start every instance at once: a cold RIE takes tens of milliseconds and they are independent.
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	stop := context.AfterFunc(s.ctx, cancelStart)
	defer stop()
	var (
		errMu    sync.Mutex
		startErr error
	)
	var wg sync.WaitGroup
	for _, p := range s.pools {
		for _, sl := range p.slots {
			wg.Go(func() {
				if err := p.fill(startCtx, sl); err != nil {
					errMu.Lock()
					startErr = errors.Join(startErr, err)
					errMu.Unlock()
					cancelStart()
				}
			})
		}
	}
	wg.Wait()
	if startErr != nil {
		ln.Close()
		s.Close()
		return nil, fmt.Errorf("lambdalocal: start: %w", startErr)
	}

	s.http = &http.Server{
		Handler:           s.routes(),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("lambda API server stopped", "err", err)
		}
	}()
	s.log.Info("lambda API ready", "url", s.url, "functions", slices.Sorted(maps.Keys(s.pools)))
	return s, nil
}

// URL returns the server's base URL, http://host:port: the endpoint for an AWS SDK client
// (BaseEndpoint), the AWS CLI (--endpoint-url) or aws-local-stepfunctions.
func (s *Server) URL() string { return s.url }

// Close stops serving, cancels queued and running invocations, stops every RIE process and
// every function process, and waits for them to exit. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		s.wg.Wait()
		return nil
	}
	s.cancel()
	var err error
	if s.http != nil {
		err = s.http.Close()
		<-s.done
	}
	for _, p := range s.pools {
		err = errors.Join(err, p.close())
	}
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return err
}

// spawn runs f on a goroutine Close waits for; it reports false, and runs nothing, once the
// server is closing.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Go(f)
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) normalize(fn Function) (Function, error) {
	if fn.Name == "" || !validName(fn.Name) {
		return fn, fmt.Errorf("lambdalocal: invalid function name %q", fn.Name)
	}
	if fn.Bootstrap == "" {
		return fn, fmt.Errorf("lambdalocal: function %s: no bootstrap", fn.Name)
	}
	abs, err := filepath.Abs(fn.Bootstrap)
	if err != nil {
		return fn, fmt.Errorf("lambdalocal: function %s: %w", fn.Name, err)
	}
	// The RIE reports a missing bootstrap only at the first invocation, as an empty 502; say it now.
	fi, err := os.Stat(abs)
	if err != nil {
		return fn, fmt.Errorf("lambdalocal: function %s: bootstrap: %w", fn.Name, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fn, fmt.Errorf("lambdalocal: function %s: bootstrap %s is not an executable file", fn.Name, abs)
	}
	fn.Bootstrap = abs
	if fn.Timeout <= 0 {
		fn.Timeout = defaultTimeout
	}
	fn.Timeout = (fn.Timeout + time.Second - 1).Truncate(time.Second)
	if fn.PoolSize <= 0 {
		fn.PoolSize = 1
	}
	fn.Env = maps.Clone(fn.Env)
	return fn, nil
}

// validName reports whether name is a Lambda function name: letters, digits, '-' and '_'.
func validName(name string) bool {
	if len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region, account, name)
}
