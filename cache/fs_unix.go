//go:build !windows

package cache

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// openNonBlock makes opening a FIFO return at once instead of waiting for a
// writer; it changes nothing for a regular file.
const openNonBlock = syscall.O_NONBLOCK

// openNoFollow makes opening a symbolic link fail instead of following it.
const openNoFollow = syscall.O_NOFOLLOW

// unsafeMode says why fi's permission bits in mask are too open, or "".
func unsafeMode(fi fs.FileInfo, mask fs.FileMode) string {
	perm := fi.Mode().Perm()
	if perm&mask == 0 {
		return ""
	}
	if mask&0o044 != 0 {
		return fmt.Sprintf("is readable or writable by group or others (mode %#o)", perm)
	}
	return fmt.Sprintf("is group- or world-writable (mode %#o)", perm)
}

// unsafeOwner says why fi is not this user's, or "".
func unsafeOwner(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Sprintf("is owned by uid %d, not by this user (uid %d)", st.Uid, os.Geteuid())
	}
	return ""
}

// ownerLevels is how many directories above a private directory must be this
// user's or root's: for the helper, its own directory and the XDG base
// directory holding it. Further up (a home directory, a volume's mount point)
// another uid may own the path in working setups, such as a CI container
// running as root in a home directory the host's runner user created.
const ownerLevels = 2

// othersMayReplace reports whether other users may rename entries of the
// directory fi: it is writable by others, or by a group other than this
// user's own, and has no sticky bit. A directory writable by the user's
// primary group is common and safe where each user has a private group
// (Fedora's umask 002 makes ~/.cache 0775).
func othersMayReplace(fi fs.FileInfo, st *syscall.Stat_t, ok bool) bool {
	perm := fi.Mode().Perm()
	if fi.Mode()&fs.ModeSticky != 0 {
		return false
	}
	return perm&0o002 != 0 || perm&0o020 != 0 && (!ok || int(st.Gid) != os.Getegid())
}

// checkAncestors refuses dir when a directory above it would let another
// user rename it away and put their own in its place: one of the ownerLevels
// nearest owned by someone other than this user or root, or any that
// othersMayReplace (/tmp, which has the sticky bit, is fine).
// Symbolic links on the way (a ~/.cache moved to another disk) are followed,
// and the directories they lead to are the ones checked.
func checkAncestors(dir string) error {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("check private directory: %w", err)
	}
	for level, d := 1, filepath.Dir(resolved); ; level, d = level+1, filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("check private directory: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		switch {
		case level <= ownerLevels && ok && st.Uid != 0 && int(st.Uid) != os.Geteuid():
			return &UnsafePathError{Path: d, Reason: fmt.Sprintf(
				"is owned by uid %d, who could replace %s: use a directory of your own", st.Uid, dir)}
		case othersMayReplace(fi, st, ok):
			return &UnsafePathError{Path: d, Reason: fmt.Sprintf(
				"is group- or world-writable without the sticky bit (mode %#o), so others could replace %s: run chmod go-w on it",
				fi.Mode().Perm(), dir)}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
