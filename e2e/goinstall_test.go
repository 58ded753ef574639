//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// modulePath is the module `go install …@version` fetches.
const modulePath = "github.com/G-Core/gcore-credential-helper"

// TestGoInstall guards issue #12: `go install
// github.com/G-Core/gcore-credential-helper/cmd/gcore-credential-helper@VERSION`, the way Go
// users install a CLI, works. The go command refuses @version for a module whose go.mod has
// replace directives, and builds the module zip a proxy serves, not a working tree. So the test
// serves this checkout (its files as git sees them: tracked and untracked, less what .gitignore
// leaves out) as a pseudo-version from a file:// module proxy put in front of the real one,
// installs from it into an empty module cache, and runs the installed binary.
func TestGoInstall(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	root := strings.TrimSuffix(goOutput(t, ctx, "env", "GOMOD"), string(filepath.Separator)+"go.mod")
	version, when := checkoutVersion(t, ctx, root)
	proxy := t.TempDir()
	serveModule(t, ctx, proxy, root, module.Version{Path: modulePath, Version: version}, when)

	// The modules the checkout needs come from the module cache's download folder, itself a
	// proxy, so they are not downloaded again, else from the proxy go is set up with.
	goproxy := strings.Join([]string{
		fileURL(proxy),
		fileURL(filepath.Join(goOutput(t, ctx, "env", "GOMODCACHE"), "cache", "download")),
		goOutput(t, ctx, "env", "GOPROXY"),
	}, ",")
	gobin := t.TempDir()
	env := []string{
		"GOPROXY=" + goproxy,
		// The pseudo-version exists only here: no checksum database knows it. GOPRIVATE and
		// GONOPROXY are cleared so that a developer's setting for the module cannot send the
		// go command to GitHub instead.
		"GONOSUMDB=" + modulePath, "GOPRIVATE=", "GONOPROXY=",
		// A module cache of its own, so the version is fetched from the proxy, not found from
		// an earlier run; -modcacherw lets t.TempDir remove it. -trimpath, as make and
		// install.sh build, lets the build cache serve what the other tests compiled: without
		// it the new cache's folder would be part of every package's cache key.
		"GOMODCACHE=" + t.TempDir(), "GOFLAGS=-modcacherw -trimpath",
		"GOBIN=" + gobin, "GOWORK=off", "GOTOOLCHAIN=local",
		// As the README recommends on Linux.
		"CGO_ENABLED=0",
	}
	start := time.Now()
	install := exec.CommandContext(ctx, "go", "install", modulePath+"/cmd/gcore-credential-helper@"+version)
	install.Dir = t.TempDir()
	install.Env = append(os.Environ(), env...)
	if out, err := install.CombinedOutput(); err != nil {
		hint := ""
		if bytes.Contains(out, []byte("verifying module")) {
			hint = "\nhint: go install checks the module's dependencies with the checksum database, " +
				"which it reaches through the module proxy: the test cannot pass offline"
		}
		t.Fatalf("%s: %v\n%s%s", install, err, out, hint)
	}
	t.Logf("go install from the file proxy took %v", time.Since(start).Round(time.Millisecond))

	bin := filepath.Join(gobin, "gcore-credential-helper")
	// The binary says which module version it was built from.
	info := goOutput(t, ctx, "version", "-m", bin)
	if want := "\tmod\t" + modulePath + "\t" + version + "\t"; !strings.Contains(info, want) {
		t.Errorf("go version -m %s does not name %s %s:\n%s", bin, modulePath, version, info)
	}
	cmd := exec.CommandContext(ctx, bin, "version")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "gcore-credential-helper ") {
		t.Errorf("%s version: %v\n%s", bin, err, out)
	}
}

// goOutput runs the go command and returns its trimmed standard output; a failure ends the
// test.
func goOutput(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out))
}

// checkoutVersion names the checkout as the go command names a commit it finds no tag for: a
// pseudo-version of HEAD's commit time and hash.
func checkoutVersion(t *testing.T, ctx context.Context, root string) (string, time.Time) {
	t.Helper()
	out := git(t, ctx, root, "show", "-s", "--format=%H %ct", "HEAD")
	hash, unix, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	sec, err := strconv.ParseInt(unix, 10, 64)
	if err != nil || len(hash) < 12 {
		t.Fatalf("git show HEAD: %q", out)
	}
	when := time.Unix(sec, 0).UTC()
	return module.PseudoVersion("", "", when, hash[:12]), when
}

// serveModule lays out m in the file:// proxy folder dir as the GOPROXY protocol reads it
// (list, .info, .mod and .zip under the escaped module path), the zip made from the checkout
// at root by golang.org/x/mod/zip, which applies the go command's own rules for module zips.
func serveModule(t *testing.T, ctx context.Context, dir, root string, m module.Version, when time.Time) {
	t.Helper()
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	at := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, when})
	if err != nil {
		t.Fatal(err)
	}
	var files []modzip.File
	seen := map[string]bool{}
	for name := range strings.SplitSeq(strings.TrimSuffix(string(git(t, ctx, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")), "\x00"), "\x00") {
		// A file with a merge conflict is listed once per stage.
		if seen[name] {
			continue
		}
		seen[name] = true
		f := checkoutFile{root: root, name: name}
		// Deleted in the working tree but not yet in the index.
		if _, err := f.Lstat(); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		files = append(files, f)
	}
	var zip bytes.Buffer
	if err := modzip.Create(&zip, m, files); err != nil {
		t.Fatalf("module zip of %s: %v", root, err)
	}
	for name, data := range map[string][]byte{
		"list":              []byte(m.Version + "\n"),
		m.Version + ".info": info,
		m.Version + ".mod":  gomod,
		m.Version + ".zip":  zip.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkoutFile is a file of the checkout, as golang.org/x/mod/zip reads it.
type checkoutFile struct{ root, name string }

func (f checkoutFile) Path() string                 { return f.name }
func (f checkoutFile) Lstat() (fs.FileInfo, error)  { return os.Lstat(f.file()) }
func (f checkoutFile) Open() (io.ReadCloser, error) { return os.Open(f.file()) }
func (f checkoutFile) file() string                 { return filepath.Join(f.root, filepath.FromSlash(f.name)) }

// git runs git in dir and returns its standard output; a failure ends the test.
func git(t *testing.T, ctx context.Context, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("git %s: %v\n%s\nhint: the test serves the checkout as git lists it, so it needs git and a git work tree", strings.Join(args, " "), err, stderr)
	}
	return out
}

// fileURL is the file:// URL of the absolute path p.
func fileURL(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}
