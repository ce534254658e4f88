package dynamotest

import "syscall"

// dieWithParent makes the kernel kill the server when the test binary exits, even when a
// panic or a test timeout skips Main's deferred stop.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
