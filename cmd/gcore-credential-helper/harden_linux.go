//go:build linux

package main

import "golang.org/x/sys/unix"

// harden makes the process non-dumpable, first thing in main, on every
// command: its memory holds passwords, OTPs and tokens. The kernel then
// writes no core file of it (with the default fs.suid_dumpable=0), and
// refuses its /proc/<pid>/mem and environ and ptrace to every process
// without CAP_SYS_PTRACE, the user's own included. execve resets the flag,
// so exec's command and password_command run as they would anyway. It is
// one syscall, nothing on the cache-hit budget (the reference's performance targets); should it fail,
// the helper works as before, so there is nothing to report.
func harden() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
