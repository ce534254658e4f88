//go:build unix

package worker_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readCPU reads this process's CPU time and, on Linux with $DYNAMODB_PID set (as
// scripts/dynamodb-local.sh prints it), DynamoDB Local's, and its JIT compiler threads'; what
// it cannot read is 0.
func readCPU() cpuTimes {
	var ru syscall.Rusage
	var c cpuTimes
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	pid := os.Getenv("DYNAMODB_PID")
	if _, err := strconv.Atoi(pid); err != nil {
		return c // not "/proc//stat", which is /proc/stat: the machine's
	}
	proc := "/proc/" + pid
	c.server = procCPU(proc + "/stat")
	// The JVM names its compiler threads "C1 CompilerThre" and "C2 CompilerThre" (comm holds
	// 15 characters).
	threads, _ := filepath.Glob(proc + "/task/*")
	for _, t := range threads {
		if comm, err := os.ReadFile(t + "/comm"); err == nil && strings.Contains(string(comm), "CompilerThre") {
			c.jit += procCPU(t + "/stat")
		}
	}
	return c
}

// procCPU reads the CPU time a /proc stat file records, 0 when it cannot.
func procCPU(path string) time.Duration {
	stat, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th,
	// in clock ticks of 10 ms.
	paren := strings.LastIndexByte(string(stat), ')')
	if paren < 0 {
		return 0
	}
	f := strings.Fields(string(stat[paren+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return time.Duration(u+s) * 10 * time.Millisecond
}
