package dynamotest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// helperEnv makes TestHelperProcess act, in a child test binary that Main started a server in.
const helperEnv = "DYNAMOTEST_HELPER"

// TestHelperProcess checks that Main exported the endpoint of a server that answers. In a child
// started by TestMainStopsTheServerItStarted it also prints the server's pid and log, then
// passes or panics as told.
func TestHelperProcess(t *testing.T) {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(Endpoint(), "http://"), 5*time.Second)
	if err != nil {
		t.Fatalf("DYNAMODB_ENDPOINT %q does not answer: %v", Endpoint(), err)
	}
	conn.Close()
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	if started == nil {
		t.Fatal("Main started no server")
	}
	fmt.Printf("server pid=%d log=%s\n", started.cmd.Process.Pid, started.log)
	if mode == "panic" {
		panic("a test panics")
	}
}

var serverLine = regexp.MustCompile(`server pid=(\d+) log=(\S+)`)

func TestMainStopsTheServerItStarted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, mode string
	}{
		{"when the tests pass", "pass"},
		{"when a test panics", "panic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.mode == "panic" && runtime.GOOS != "linux" {
				t.Skip("only Linux kills the server with a panicking test binary")
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=5m")
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, EnvEndpoint+"=") { // so that Main starts its own server
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, helperEnv+"="+tc.mode)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			m := serverLine.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("the child printed no server pid (%v):\n%s", err, out.String())
			}
			pid, _ := strconv.Atoi(m[1])
			switch tc.mode {
			case "pass":
				if err != nil {
					t.Fatalf("child failed: %v\n%s", err, out.String())
				}
				// Main's stop waits for the exit, so the server must be gone already.
				if alive(pid) {
					t.Errorf("server pid %d still runs after the tests passed", pid)
				}
				if _, err := os.Stat(m[2]); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("server log %s not removed by a clean stop: %v", m[2], err)
				}
			case "panic":
				t.Cleanup(func() { _ = os.Remove(m[2]) }) // the child died before removing it
				var exit *exec.ExitError
				if !errors.As(err, &exit) || !strings.Contains(out.String(), "a test panics") {
					t.Fatalf("child did not die of the panic: %v\n%s", err, out.String())
				}
				// The kernel kills the server asynchronously once the child has exited.
				deadline := time.Now().Add(10 * time.Second)
				for alive(pid) {
					if time.Now().After(deadline) {
						_ = syscall.Kill(pid, syscall.SIGKILL)
						t.Fatalf("server pid %d outlived its panicking test binary by 10s", pid)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// alive reports whether pid runs: it exists and, where /proc tells, is not a zombie waiting
// for its new parent to reap it.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || runtime.GOOS != "linux"
	}
	// The state follows the command name, which is in parentheses and may hold spaces.
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	return !bytes.HasPrefix(bytes.TrimSpace(rest), []byte("Z"))
}
