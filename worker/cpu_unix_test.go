//go:build unix

package worker_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readCPU reads this process's CPU time and, on Linux with $DYNAMODB_PID set (as
// scripts/dynamodb-local.sh prints it), DynamoDB Local's; what it cannot read is 0.
func readCPU() cpuTimes {
	var ru syscall.Rusage
	var c cpuTimes
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	stat, err := os.ReadFile("/proc/" + os.Getenv("DYNAMODB_PID") + "/stat")
	if err != nil {
		return c
	}
	// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th,
	// in clock ticks of 10 ms.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) > 12 {
		u, _ := strconv.Atoi(f[11])
		s, _ := strconv.Atoi(f[12])
		c.server = time.Duration(u+s) * 10 * time.Millisecond
	}
	return c
}
