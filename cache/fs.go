package cache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
	"github.com/G-Core/gcore-credential-helper/internal/nopoll"
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
// another user; or when a directory above it would let another user replace
// it (see checkAncestors). The error's reason says how to fix it; nothing is
// ever removed.
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
	return checkDirInfo(path, fi)
}

// checkPrivateDir is EnsurePrivateDir for a directory that must exist
// already: nothing is created.
func checkPrivateDir(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("check private directory: %w", err)
	}
	return checkDirInfo(path, fi)
}

// checkDirInfo checks the directory at path, whose Lstat is fi, and the
// directories above it.
func checkDirInfo(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafePathError{Path: path, Reason: "is a symbolic link: make it a directory of its own (mode 0700)"}
	case !fi.IsDir():
		return &UnsafePathError{Path: path, Reason: "is not a directory: move it out of the way"}
	}
	if reason := unsafeMode(fi, 0o022); reason != "" {
		return &UnsafePathError{Path: path, Reason: reason + ": run chmod 700 on it"}
	}
	if reason := unsafeOwner(fi); reason != "" {
		return &UnsafePathError{Path: path, Reason: reason + ": run the helper as that user, or chown the directory to this one"}
	}
	return checkAncestors(path)
}

// maxFileSize bounds a store file readPrivateFile reads. The helper's records
// (tokens, certificates, docker logins) are kilobytes; the bound is far above
// them so that no value Put accepts in practice becomes unreadable, and still
// keeps a planted file from costing every call its size in memory.
const maxFileSize = 16 << 20

// readPrivateFile reads one of the store's own files. It refuses, with an
// *UnsafePathError, a file that is not a regular file, that another user owns
// or that group or others may read or write: the store writes every file 0600
// itself, so anything else was put there by someone else (a sudo run, a
// restored backup) and is not trusted. A file larger than maxFileSize is a
// *CorruptError. Nothing is removed; a missing file is an error wrapping
// fs.ErrNotExist.
func readPrivateFile(path string) ([]byte, error) {
	// Non-blocking, so that a FIFO planted in the store cannot hang the open
	// (see nopoll).
	f, err := nopoll.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &UnsafePathError{Path: path, Reason: "is not a regular file: move it out of the way"}
	}
	if reason := unsafeOwner(fi); reason != "" {
		return nil, &UnsafePathError{Path: path, Reason: reason + ": run the helper as that user, or move the file out of the way"}
	}
	if reason := unsafeMode(fi, 0o077); reason != "" {
		return nil, &UnsafePathError{Path: path, Reason: reason + ": run chmod 600 on it"}
	}
	if fi.Size() > maxFileSize {
		return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("larger than %d bytes", maxFileSize)}
	}
	// Files are replaced by rename, never rewritten in place: the size the
	// open file has now is the size it keeps.
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
