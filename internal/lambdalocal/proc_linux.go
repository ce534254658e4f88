package lambdalocal

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// sysProcAttr starts an RIE as the leader of a new session. The RIE starts the function in a
// process group of its own, so a signal to the RIE's group would miss the function; the
// session holds both, even once the RIE is gone and the function orphaned. Pdeathsig kills the
// RIE if this process dies without Close (its function then loses the Runtime API and exits).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
}

// kill kills every process of the instance's session and waits until none runs. It kills the
// function first, while the RIE lives to reap it, then the RIE, which this process reaps.
func (in *instance) kill() error {
	sid := in.pid
	deadline := time.Now().Add(stopTimeout)
	for {
		procs, err := sessionProcs(sid)
		if err != nil {
			return err
		}
		var others []proc
		for _, p := range procs {
			// An orphaned zombie is init's to reap; it runs no more.
			if p.pid != sid && (p.state != 'Z' || p.ppid == sid) {
				others = append(others, p)
			}
		}
		switch {
		case len(others) > 0:
			for _, p := range others {
				if p.state != 'Z' {
					_ = syscall.Kill(p.pid, syscall.SIGKILL)
				}
			}
		case !in.hasExited():
			_ = in.cmd.Process.Kill()
		default:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("RIE %d: processes still running after SIGKILL: %v", sid, others)
		}
		select {
		case <-in.exited:
		case <-time.After(2 * time.Millisecond):
		}
	}
}

type proc struct {
	pid, ppid int
	state     byte
}

// sessionProcs lists the processes of session sid from /proc.
func sessionProcs(sid int) ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var procs []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, session, ok := readStat(pid)
		if ok && session == sid {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// readStat reads a process's state, parent and session from /proc/PID/stat; ok is false when
// the process is gone.
func readStat(pid int) (p proc, session int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, 0, false
	}
	// pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return proc{}, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 4 {
		return proc{}, 0, false
	}
	ppid, _ := strconv.Atoi(string(f[1]))
	session, _ = strconv.Atoi(string(f[3]))
	return proc{pid: pid, ppid: ppid, state: f[0][0]}, session, true
}
