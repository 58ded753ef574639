//go:build linux

// Command launch runs one program and reports its exit status, wall time and peak RSS to the
// harness on an inherited file descriptor.
//
// It exists because Go starts children with vfork, and at exec Linux folds the high-water RSS of
// the address space being left (the parent's, under vfork) into the child's ru_maxrss. A child of
// the harness or of the benchmark would report their peak instead of its own. Started from this
// small process, a child's ru_maxrss is its own peak or this launcher's (about 2 MiB), whichever
// is larger.
//
// Usage: launch FD PROGRAM [ARG...]. PROGRAM is an absolute path (no PATH search); it inherits
// stdin, stdout, stderr, the environment and the session, and is killed if the launcher dies.
// The report is one line on FD: "STATUS WALL_NS MAXRSS_KIB", STATUS being the exit code or minus
// the terminating signal. The launcher exits 0 once it has reported, 2 on misuse and 127 when
// PROGRAM cannot be started.
package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) < 2 {
		os.Stderr.WriteString("usage: launch FD PROGRAM [ARG...]\n")
		return 2
	}
	fd, err := strconv.Atoi(args[0])
	if err != nil || fd < 3 {
		os.Stderr.WriteString("launch: report descriptor must be a number above 2\n")
		return 2
	}
	// The report descriptor is for us alone: PROGRAM must not see or hold it.
	syscall.CloseOnExec(fd)
	report := os.NewFile(uintptr(fd), "report")
	attr := &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	start := time.Now()
	pid, err := syscall.ForkExec(args[1], args[1:], attr)
	if err != nil {
		os.Stderr.WriteString("launch: start " + args[1] + ": " + err.Error() + "\n")
		return 127
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		os.Stderr.WriteString("launch: wait: " + err.Error() + "\n")
		return 127
	}
	status := ws.ExitStatus()
	if ws.Signaled() {
		status = -int(ws.Signal())
	}
	line := strconv.Itoa(status) + " " + strconv.FormatInt(wall.Nanoseconds(), 10) + " " + strconv.FormatInt(ru.Maxrss, 10) + "\n"
	if _, err := report.WriteString(line); err != nil {
		os.Stderr.WriteString("launch: write report: " + err.Error() + "\n")
		return 2
	}
	return 0
}
