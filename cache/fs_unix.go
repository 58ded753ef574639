//go:build !windows

package cache

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

func unsafeOwnerOrMode(fi fs.FileInfo) string {
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Sprintf("is group- or world-writable (mode %#o)", perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Sprintf("is owned by uid %d, not by this user (uid %d)", st.Uid, os.Geteuid())
	}
	return ""
}
