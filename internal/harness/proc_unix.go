//go:build unix

package harness

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// detach starts cmd in a new session: without a controlling terminal, /dev/tty cannot be opened,
// so a child that tried to prompt fails instead of hanging the run.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

func maxRSSKiB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss / 1024 // bytes there, KiB elsewhere
	}
	return ru.Maxrss
}
