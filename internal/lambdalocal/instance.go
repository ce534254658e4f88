package lambdalocal

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	startTimeout = 10 * time.Second // for an RIE to listen
	stopTimeout  = 5 * time.Second  // for an RIE and its runtime to exit after SIGKILL
	startTries   = 3                // an RIE that exits before it listens lost its port to another process
)

// An instance is one RIE process and, once invoked, the function process it runs.
type instance struct {
	pid       int
	seq       int64 // the pool's count of instances, to tell instances apart in logs
	baseURL   string
	invokeURL string
	cmd       *exec.Cmd
	tail      *tail

	exited   chan struct{} // closed when the RIE has exited and been reaped
	waitErr  error         // cmd.Wait's error, set before exited is closed
	stopping atomic.Bool   // stop was called: the exit is no crash
}

var instanceSeq atomic.Int64

// start starts an RIE for the pool's function and waits until it listens.
func (p *pool) start(ctx context.Context) (*instance, error) {
	var err error
	for range startTries {
		var in *instance
		in, err = p.launch()
		if err != nil {
			return nil, err
		}
		err = in.waitReady(ctx, p.s.client)
		if err == nil {
			p.s.log.Debug("RIE ready", "function", p.fn.Name, "instance", in.seq, "pid", in.pid, "url", in.baseURL)
			return in, nil
		}
		exitedEarly := in.hasExited()
		in.stop()
		if !exitedEarly || ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func (p *pool) launch() (*instance, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	in := &instance{
		seq:    instanceSeq.Add(1),
		tail:   &tail{max: 20},
		exited: make(chan struct{}),
	}
	rieAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	in.baseURL = "http://" + rieAddr
	// The RIE serves one function, always named "function" in its URL.
	in.invokeURL = in.baseURL + "/2015-03-31/functions/function/invocations"
	cmd := exec.Command(p.s.rie,
		// Explicit, else the RIE takes its level from LOG_LEVEL, which is the function's.
		"--log-level", "info",
		"--runtime-interface-emulator-address", rieAddr,
		// Explicit, else every RIE's Runtime API would take the default 127.0.0.1:9001.
		"--runtime-api-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		p.fn.Bootstrap)
	// The RIE runs the bootstrap in its own working directory: Lambda's /var/task.
	cmd.Dir = filepath.Dir(p.fn.Bootstrap)
	cmd.Env = p.env
	cmd.SysProcAttr = sysProcAttr()
	log := p.s.log.With("function", p.fn.Name, "instance", in.seq)
	emit := func(line string) {
		in.tail.add(line)
		logLine(log, line, in.stopping.Load())
	}
	cmd.Stdout = &lineWriter{emit: emit}
	cmd.Stderr = &lineWriter{emit: emit}
	// An orphaned runtime may hold the output pipes open; stop kills it, and this bounds the rest.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.s.rie, err)
	}
	in.cmd = cmd
	in.pid = cmd.Process.Pid
	go func() {
		in.waitErr = cmd.Wait()
		close(in.exited)
	}()
	return in, nil
}

// waitReady polls the RIE until it answers HTTP. Any answer will do: the RIE serves only its
// invocation path, and a request elsewhere (a 404) does not start the function.
func (in *instance) waitReady(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	delay := time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.baseURL+"/", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-in.exited:
			return fmt.Errorf("RIE exited before it listened (%v): %s", in.waitErr, in.tail)
		case <-ctx.Done():
			return fmt.Errorf("RIE did not listen on %s: %w: %s", in.baseURL, context.Cause(ctx), in.tail)
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

func (in *instance) hasExited() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}

// stop kills the RIE and the function process it started, and waits until both are gone.
func (in *instance) stop() error {
	in.stopping.Store(true)
	return in.kill()
}

// freePorts returns n distinct free loopback ports. Another process may take one before the
// RIE binds it; start then tries again.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// childEnv is the environment of the pool's RIEs. The RIE hands its whole environment to the
// function, so this is the function's environment too: fn.Env plus what Lambda sets.
func childEnv(fn Function, region string) []string {
	env := map[string]string{
		"PATH": cmp.Or(os.Getenv("PATH"), "/usr/local/bin:/usr/bin:/bin"),
		"TZ":   ":UTC", // as on Lambda
	}
	maps.Copy(env, fn.Env)
	env["AWS_LAMBDA_FUNCTION_NAME"] = fn.Name
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(memoryMB)
	// The RIE's timeout: whole seconds (it panics on anything else).
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(fn.Timeout / time.Second))
	env["AWS_REGION"] = cmp.Or(env["AWS_REGION"], env["AWS_DEFAULT_REGION"], region)
	env["AWS_DEFAULT_REGION"] = cmp.Or(env["AWS_DEFAULT_REGION"], env["AWS_REGION"])
	if env["AWS_ACCESS_KEY_ID"] == "" && env["AWS_PROFILE"] == "" {
		// Dummy credentials, enough for DynamoDB Local; Lambda gives its functions the role's.
		env["AWS_ACCESS_KEY_ID"] = "lambdalocal"
		env["AWS_SECRET_ACCESS_KEY"] = "lambdalocal"
		delete(env, "AWS_SESSION_TOKEN")
	}
	// Set, it switches the RIE to its Lambda Managed Instances mode, a different emulator.
	delete(env, "AWS_LAMBDA_MAX_CONCURRENCY")
	delete(env, "AWS_LAMBDA_RUNTIME_API") // the RIE sets the function's own

	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// logLine logs a line of an RIE's output: the function's own output at info, the RIE's at
// debug (warn for its warnings and errors, unless it is being stopped and complains of that),
// START/END/REPORT lines at debug.
func logLine(log *slog.Logger, line string, stopping bool) {
	const rapid = "] (rapid) " // 29 Nov 2026 04:03:37,938 [INFO] (rapid) exec './bootstrap'
	if i := strings.Index(line, rapid); i >= 0 {
		level := line[strings.LastIndexByte(line[:i], '[')+1 : i]
		lvl := slog.LevelDebug
		if level != "INFO" && level != "DEBUG" && level != "TRACE" && !stopping {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "rie: "+line[i+len(rapid):])
		return
	}
	for _, p := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: "} {
		if strings.HasPrefix(line, p) {
			log.Debug(strings.TrimRight(line, "\t "))
			return
		}
	}
	log.Info(line)
}

// lineWriter calls emit for every line written to it. exec.Cmd writes to it from one
// goroutine per stream.
type lineWriter struct {
	emit func(string)
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line: emit it in pieces
		w.emit(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// tail keeps the last lines of an RIE's output, for errors about it.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == t.max {
		t.lines = slices.Delete(t.lines, 0, 1)
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "no output"
	}
	return "output: " + strings.Join(t.lines, " | ")
}
