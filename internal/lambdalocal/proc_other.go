//go:build !linux

package lambdalocal

import "syscall"

// Start refuses to run off Linux; these let the package compile there.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func (in *instance) kill() error {
	_ = in.cmd.Process.Kill()
	<-in.exited
	return nil
}
