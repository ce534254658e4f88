//go:build !linux

package dynamotest

import "syscall"

// dieWithParent has no portable equivalent outside Linux: there, a panicking test binary can
// leave its server running, and Main's deferred stop is all there is.
func dieWithParent() *syscall.SysProcAttr { return nil }
