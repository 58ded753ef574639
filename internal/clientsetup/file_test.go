package clientsetup

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBackupNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	var got []string
	for _, content := range []string{"first", "second", "third"} {
		name, err := backup(path, []byte(content), fixedNow())
		if err != nil {
			t.Fatal(err)
		}
		wantMode(t, name, 0o600)
		if c := readString(t, name); c != content {
			t.Errorf("%s holds %q, want %q", name, c, content)
		}
		got = append(got, filepath.Base(name))
	}
	want := []string{
		"config.bak-" + fixedStamp,
		"config.bak-" + fixedStamp + "-2",
		"config.bak-" + fixedStamp + "-3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backup names (-want +got):\n%s", diff)
	}
}

func TestWriteAtomicCreatesPrivateFileAndDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "config.json")
	if err := writeAtomic(path, []byte("x")); err != nil {
		t.Fatal(err)
	}
	wantMode(t, dir, 0o700)
	wantMode(t, path, 0o600)
	if diff := cmp.Diff([]string{"config.json"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestResolveKeepsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "config")
	writeFile(t, target, "x")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	got, err := resolve(link)
	if err != nil {
		t.Fatal(err)
	}
	if got != target {
		t.Errorf("resolve(link) = %q, want %q", got, target)
	}
	missing := filepath.Join(dir, "missing")
	if got, err := resolve(missing); err != nil || got != missing {
		t.Errorf("resolve(missing) = %q, %v; want the path itself", got, err)
	}
}

func TestCheckHosts(t *testing.T) {
	tests := []struct {
		hosts []string
		ok    bool
	}{
		{[]string{"registry.gcore.com"}, true},
		{[]string{"registry.gcore.com:5000", "git.gcore.com"}, true},
		{[]string{"[::1]:5000"}, true},
		{nil, false},
		{[]string{""}, false},
		{[]string{"https://registry.gcore.com"}, false},
		{[]string{"registry.gcore.com/path"}, false},
		{[]string{"user@registry.gcore.com"}, false},
		{[]string{"registry.gcore.com?x=1"}, false},
		{[]string{"registry.gcore.com#x"}, false},
		{[]string{"a b"}, false},
		{[]string{`a"b`}, false},
		{[]string{"host:port"}, false},
		{[]string{"ok.example", "bad/"}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.hosts), func(t *testing.T) {
			if err := checkHosts(tt.hosts); (err == nil) != tt.ok {
				t.Errorf("checkHosts(%q) = %v, want ok=%v", tt.hosts, err, tt.ok)
			}
		})
	}
}
