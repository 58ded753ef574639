// Package atomicfile replaces files so that a reader, or the file system
// after a crash, sees either the old content or the new, never a mix: data
// goes to a synced temporary file in the same directory, which is renamed
// over the target, and the directory is synced so the rename itself lasts.
// The credential store, the config file and the callers' config files all
// write this way.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, with mode perm. The directory must exist:
// callers decide how it is created (the store insists on a private one).
func Write(path string, data []byte, perm os.FileMode) error {
	tmp, err := Temp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// Temp writes data to a new synced file beside path, with mode perm, and
// returns its name; on error nothing is left behind. Beside, so that a rename
// onto path is atomic and relative paths inside the file keep their meaning.
func Temp(path string, data []byte, perm os.FileMode) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
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
