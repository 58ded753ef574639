//go:build !unix

package harness

import (
	"os"
	"os/exec"
)

// detach does nothing: sessions and controlling terminals are a Unix notion.
func detach(*exec.Cmd) {}

// maxRSSKiB is unknown: the platform's rusage has no peak RSS.
func maxRSSKiB(*os.ProcessState) int64 { return 0 }
