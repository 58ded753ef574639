package cache

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestEnsurePrivateDir guards the reference's security rules ("directories 0700, refused if group/world writable") and
// issue #5 item 4: each unsafe directory is refused by path, with the reason and the fix.
func TestEnsurePrivateDir(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, base string) string // returns the path to ensure
		reason string                                 // "" = accepted
	}{
		{"created with parents", func(t *testing.T, base string) string {
			return filepath.Join(base, "a", "b")
		}, ""},
		{"existing 0700", func(t *testing.T, base string) string {
			return mkdir(t, base, 0o700)
		}, ""},
		{"existing 0755 (readable, not writable)", func(t *testing.T, base string) string {
			return mkdir(t, base, 0o755)
		}, ""},
		{"world-writable", func(t *testing.T, base string) string {
			return mkdir(t, base, 0o777)
		}, "is group- or world-writable (mode 0777): run chmod 700 on it"},
		{"group-writable", func(t *testing.T, base string) string {
			return mkdir(t, base, 0o770)
		}, "is group- or world-writable (mode 0770)"},
		{"symlink to a private dir", func(t *testing.T, base string) string {
			link := filepath.Join(base, "link")
			if err := os.Symlink(mkdir(t, base, 0o700), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "is a symbolic link: make it a directory of its own"},
		{"regular file", func(t *testing.T, base string) string {
			path := filepath.Join(base, "file")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, "is not a directory"},
		{"other owner", func(t *testing.T, base string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory away")
			}
			dir := mkdir(t, base, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "is owned by uid 65534, not by this user (uid 0): run the helper as that user, or chown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			err := EnsurePrivateDir(path)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Lstat(path)
				if err != nil || !fi.IsDir() {
					t.Fatalf("%s is not a directory afterwards: %v", path, err)
				}
				return
			}
			var ue *UnsafePathError
			if !errors.As(err, &ue) || ue.Path != path || !strings.HasPrefix(ue.Reason, tt.reason) {
				t.Errorf("EnsurePrivateDir = %v, want an *UnsafePathError for %s: %s", err, path, tt.reason)
			}
		})
	}
}

// TestEnsurePrivateDirAncestors guards the reference's security rules and issue #5 item 4 (XDG_CACHE_HOME and
// XDG_DATA_HOME that others control): a private directory is refused when a directory above it
// lets another user replace it, and accepted under a sticky /tmp-like directory, through a
// symbolic link to a safe place, or in a home directory (three levels up) another uid owns, as
// in a CI container. Nothing is removed either way.
func TestEnsurePrivateDirAncestors(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the directory to ensure and the ancestor expected in the error ("" for
		// accepted).
		setup  func(t *testing.T, base string) (dir, culprit string)
		reason string
	}{
		{"world-writable parent", func(t *testing.T, base string) (string, string) {
			parent := mkdir(t, base, 0o777)
			return filepath.Join(parent, "app", "locks"), parent
		}, "is group- or world-writable without the sticky bit (mode 0777), so others could replace "},
		{"grandparent writable by this user's own group, as umask 002 makes it", func(t *testing.T, base string) (string, string) {
			return filepath.Join(mkdir(t, base, 0o775), "app", "store"), ""
		}, ""},
		{"grandparent writable by another group", func(t *testing.T, base string) (string, string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a directory to another group")
			}
			xdg := mkdir(t, base, 0o775)
			if err := os.Chown(xdg, os.Geteuid(), 65534); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(xdg, "app", "store"), xdg
		}, "is group- or world-writable without the sticky bit (mode 0775)"},
		{"sticky world-writable parent, like /tmp", func(t *testing.T, base string) (string, string) {
			return filepath.Join(mkdir(t, base, 0o777|os.ModeSticky), "app", "locks"), ""
		}, ""},
		{"parent is a symlink to a private directory", func(t *testing.T, base string) (string, string) {
			link := filepath.Join(base, "cache-link")
			if err := os.Symlink(mkdir(t, base, 0o700), link); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "app", "locks"), ""
		}, ""},
		{"parent is a symlink into a world-writable directory", func(t *testing.T, base string) (string, string) {
			open := mkdir(t, base, 0o777)
			target := filepath.Join(open, "cache")
			if err := os.Mkdir(target, 0o700); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(base, "cache-link")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(link, "app", "locks"), open
		}, "is group- or world-writable without the sticky bit (mode 0777)"},
		{"grandparent owned by another user", func(t *testing.T, base string) (string, string) {
			xdg := chownedDir(t, base)
			return filepath.Join(xdg, "app", "locks"), xdg
		}, "is owned by uid 65534, who could replace "},
		{"parent owned by another user", func(t *testing.T, base string) (string, string) {
			app := filepath.Join(chownedDir(t, base), "app")
			if err := os.Mkdir(app, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(app, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(app, "locks"), app
		}, "is owned by uid 65534, who could replace "},
		{"another user's home above the XDG directory", func(t *testing.T, base string) (string, string) {
			return filepath.Join(chownedDir(t, base), ".cache", "app", "locks"), ""
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" {
				t.Skip("no POSIX owners or modes")
			}
			dir, culprit := tt.setup(t, t.TempDir())
			err := EnsurePrivateDir(dir)
			if culprit == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ue *UnsafePathError
			if !errors.As(err, &ue) || ue.Path != culprit || !strings.HasPrefix(ue.Reason, tt.reason) {
				t.Fatalf("EnsurePrivateDir(%s) = %v, want an *UnsafePathError for %s: %s", dir, err, culprit, tt.reason)
			}
			if !strings.Contains(ue.Reason, dir) {
				t.Errorf("reason %q does not name the directory it protects", ue.Reason)
			}
		})
	}
}

// chownedDir makes a directory 0755 under base and gives it to uid 65534, or skips the test
// when that needs root and this is not it.
func chownedDir(t *testing.T, base string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory away")
	}
	dir := mkdir(t, base, 0o755)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReadPrivateFile guards the reference's security rules ("files 0600") and issue #5 item 4: a store file another
// user owns, that others may read, that is not a regular file (a FIFO must not hang the read) or
// that is huge is refused by path with the reason and the fix, and left where it is.
func TestReadPrivateFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX owners, modes or FIFOs")
	}
	write := func(t *testing.T, dir string, mode os.FileMode, size int) string {
		path := filepath.Join(dir, "x.entry")
		if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string
		unsafe  string // the *UnsafePathError's reason; "" when not one
		corrupt bool
	}{
		{"0600", func(t *testing.T, dir string) string { return write(t, dir, 0o600, 100) }, "", false},
		{"0400", func(t *testing.T, dir string) string { return write(t, dir, 0o400, 100) }, "", false},
		{"largest", func(t *testing.T, dir string) string { return write(t, dir, 0o600, maxFileSize) }, "", false},
		{"0644", func(t *testing.T, dir string) string { return write(t, dir, 0o644, 100) },
			"is readable or writable by group or others (mode 0644): run chmod 600 on it", false},
		{"0620", func(t *testing.T, dir string) string { return write(t, dir, 0o620, 100) },
			"is readable or writable by group or others (mode 0620)", false},
		{"other owner", func(t *testing.T, dir string) string {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give a file away")
			}
			path := write(t, dir, 0o600, 100)
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return path
		}, "is owned by uid 65534, not by this user (uid 0): run the helper as that user, or move the file out of the way", false},
		{"directory", func(t *testing.T, dir string) string { return mkdir(t, dir, 0o700) },
			"is not a regular file: move it out of the way", false},
		{"FIFO", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "x.entry")
			if out, err := exec.Command("mkfifo", "-m", "600", path).CombinedOutput(); err != nil {
				t.Skipf("no FIFOs: %v %s", err, out)
			}
			return path
		}, "is not a regular file", false},
		{"too large", func(t *testing.T, dir string) string { return write(t, dir, 0o600, maxFileSize+1) }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			data, err := readPrivateFile(path)
			var ue *UnsafePathError
			var ce *CorruptError
			switch {
			case tt.unsafe != "":
				if !errors.As(err, &ue) || ue.Path != path || !strings.HasPrefix(ue.Reason, tt.unsafe) {
					t.Fatalf("readPrivateFile = %v, want an *UnsafePathError for %s: %s", err, path, tt.unsafe)
				}
			case tt.corrupt:
				if !errors.As(err, &ce) || ce.Path != path {
					t.Fatalf("readPrivateFile = %v, want a *CorruptError for %s", err, path)
				}
			default:
				fi, _ := os.Stat(path)
				if err != nil || int64(len(data)) != fi.Size() {
					t.Fatalf("readPrivateFile = %d bytes, %v; want the whole file", len(data), err)
				}
			}
			if _, err := os.Lstat(path); err != nil {
				t.Errorf("the file is gone after the read: %v", err)
			}
		})
	}
	if _, err := readPrivateFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readPrivateFile of a missing file = %v, want fs.ErrNotExist", err)
	}
}

// TestFileStoreRefusesForeignEntry guards issue #5 item 4 ("loses nothing"): an entry the
// store did not write is refused by Get with its path, and once its mode is fixed the same
// value is served again.
func TestFileStoreRefusesForeignEntry(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	s := newTestStore(t)
	if err := s.Put("session", []byte("value")); err != nil {
		t.Fatal(err)
	}
	path := s.entryPath("session")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get("session")
	var ue *UnsafePathError
	if !errors.As(err, &ue) || ue.Path != path || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a 0644 entry = %v, want an *UnsafePathError for %s", err, path)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get("session"); err != nil || string(got) != "value" {
		t.Fatalf("Get after chmod 600 = %q, %v; want the value", got, err)
	}
}

func TestEnsurePrivateDirCreatesMode0700(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new")
	if err := EnsurePrivateDir(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode of a created directory = %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}

func mkdir(t *testing.T, base string, perm os.FileMode) string {
	t.Helper()
	dir := filepath.Join(base, "dir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Chmod, unlike Mkdir, ignores the umask.
	if err := os.Chmod(dir, perm); err != nil {
		t.Fatal(err)
	}
	return dir
}
