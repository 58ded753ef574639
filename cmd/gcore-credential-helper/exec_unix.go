//go:build !windows

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// forwardedSignals are passed on to exec's child: the ones a terminal, a job
// control shell or a supervisor sends.
func forwardedSignals() []os.Signal {
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
}

// childStatus is the exit status a shell would report for the child:
// 128+N when signal N killed it.
func childStatus(err *exec.ExitError) int {
	if ws, ok := err.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return err.ExitCode()
}
