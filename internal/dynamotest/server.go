package dynamotest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	startTimeout = 60 * time.Second // java's start, cold JIT on a busy 2-core machine included
	stopTimeout  = 10 * time.Second // after SIGTERM, before SIGKILL
	pollInterval = 50 * time.Millisecond
	startTries   = 5 // ports taken between our check and java's bind
)

// server is a DynamoDB Local that Main started.
type server struct {
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd.Wait has returned
	endpoint string
	log      string
}

// started is the server Main started in this process, if any; tests look at its process.
var started *server

// errPortTaken reports that java could not bind its port, so another one may be tried.
var errPortTaken = errors.New("port already in use")

// startServer installs DynamoDB Local with the repository's script and starts it on a free
// loopback port, returning once it answers HTTP.
func startServer() (*server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "scripts", "dynamodb-local.sh")
	install := exec.Command("bash", script, "path")
	install.Stderr = os.Stderr
	out, err := install.Output()
	if err != nil {
		return nil, fmt.Errorf("%s path: %w", script, err)
	}
	emulator := strings.TrimSpace(string(out))
	cache := filepath.Join(root, ".cache", "dynamodb-local")
	for try := 1; ; try++ {
		srv, err := launch(emulator, cache)
		if errors.Is(err, errPortTaken) && try < startTries {
			continue
		}
		if err != nil {
			return nil, err
		}
		started = srv
		return srv, nil
	}
}

// launch starts java on a port the kernel just handed out and waits until it answers.
func launch(emulator, cache string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(cache, strconv.Itoa(port)+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer log.Close() // java has its own copy of the descriptor
	cmd := exec.Command("java",
		"-Djava.library.path="+filepath.Join(emulator, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(emulator, "DynamoDBLocal.jar"),
		"-inMemory", "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(port))
	cmd.Dir = cache // DynamoDB Local writes dynamodb-local-metadata.json into its working directory
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	srv := &server{cmd: cmd, exited: make(chan struct{}), endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), log: logPath}
	startErr := make(chan error)
	go func() {
		// The kernel signals java when the OS thread that started it exits, not the process:
		// keep this goroutine on its thread until java is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			startErr <- err
			return
		}
		startErr <- nil
		_ = cmd.Wait()
		close(srv.exited)
	}()
	if err := <-startErr; err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	if err := srv.waitUntilAnswering(); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}

// waitUntilAnswering polls the endpoint until it answers HTTP (DynamoDB answers GET / with a
// 400, which is fine), java exits, or the start timeout passes.
func (s *server) waitUntilAnswering() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			logText, _ := os.ReadFile(s.log)
			if bytes.Contains(logText, []byte("Address already in use")) || bytes.Contains(logText, []byte("BindException")) {
				return errPortTaken
			}
			return fmt.Errorf("DynamoDB Local exited before answering on %s (%v); its log:\n%s", s.endpoint, s.cmd.ProcessState, logText)
		default:
		}
		resp, err := client.Get(s.endpoint)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(s.log)
			return fmt.Errorf("DynamoDB Local did not answer on %s within %v; its log:\n%s", s.endpoint, startTimeout, logText)
		}
		time.Sleep(pollInterval)
	}
}

// stop ends the server by its PID, SIGTERM then SIGKILL, waits for it to exit and removes its log.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		fmt.Fprintf(os.Stderr, "dynamotest: DynamoDB Local pid %d ignored SIGTERM for %v: killing it\n", s.cmd.Process.Pid, stopTimeout)
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	_ = os.Remove(s.log)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
