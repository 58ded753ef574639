package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data so that a reader, or the file
// system after a crash, sees either the old content or the new, never a mix:
// it writes a temporary file in the same directory, syncs it, renames it over
// path and syncs the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, filepath.Base(path), data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(dir)
}

// linkNew publishes data at path only if path does not exist yet; otherwise
// it returns an error wrapping fs.ErrExist and leaves path alone. A hard link
// of a complete temporary file is atomic and never replaces, which a rename
// cannot promise on every platform.
func linkNew(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, filepath.Base(path), data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("publish %s: %w", path, err)
	}
	return syncDir(dir)
}

// writeTemp writes data to a new synced file next to base in dir and returns
// its name; on error nothing is left behind.
func writeTemp(dir, base string, data []byte, perm os.FileMode) (name string, err error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return "", fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return f.Name(), nil
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
