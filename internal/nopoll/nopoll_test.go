package nopoll

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenReadsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name() != path {
		t.Errorf("Name() = %q, want %q", f.Name(), path)
	}
	data, err := io.ReadAll(f)
	if err != nil || string(data) != "content" {
		t.Fatalf("read %q, %v", data, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != 7 {
		t.Fatalf("Stat: %v, %v", fi, err)
	}
}

func TestOpenMissingIsNotExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	_, err := Open(path)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != path || pe.Op != "open" {
		t.Fatalf("Open(missing) = %v, want an *fs.PathError for %s that is fs.ErrNotExist", err, path)
	}
	_, osErr := os.Open(path)
	if err.Error() != osErr.Error() {
		t.Errorf("error %q, os.Open says %q", err, osErr)
	}
}
