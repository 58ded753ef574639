package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// linkNew publishes data at path only if path does not exist yet; otherwise
// it returns an error wrapping fs.ErrExist and leaves path alone. A hard link
// of a complete temporary file is atomic and never replaces, which a rename
// cannot promise on every platform.
func linkNew(path string, data []byte, perm os.FileMode) error {
	tmp, err := atomicfile.Temp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("publish %s: %w", path, err)
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// EnsurePrivateDir creates path (and missing parents) with mode 0700 when it
// does not exist, then refuses it with an *UnsafePathError when it is a
// symbolic link, not a directory, writable by group or others, or owned by
// another user.
func EnsurePrivateDir(path string) error {
	if path == "" {
		return errors.New("ensure private directory: empty path")
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return fmt.Errorf("create private directory: %w", err)
		}
		fi, err = os.Lstat(path)
	}
	if err != nil {
		return fmt.Errorf("check private directory: %w", err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafePathError{Path: path, Reason: "is a symbolic link"}
	case !fi.IsDir():
		return &UnsafePathError{Path: path, Reason: "is not a directory"}
	}
	if reason := unsafeOwnerOrMode(fi); reason != "" {
		return &UnsafePathError{Path: path, Reason: reason}
	}
	return nil
}
