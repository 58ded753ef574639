package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
		}, "is group- or world-writable (mode 0777)"},
		{"group-writable", func(t *testing.T, base string) string {
			return mkdir(t, base, 0o770)
		}, "is group- or world-writable (mode 0770)"},
		{"symlink to a private dir", func(t *testing.T, base string) string {
			link := filepath.Join(base, "link")
			if err := os.Symlink(mkdir(t, base, 0o700), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "is a symbolic link"},
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
		}, "is owned by uid 65534"},
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
