package keyring_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
)

var update = flag.Bool("update", false, "rewrite "+patchFile+" from upstream and this folder")

const (
	upstreamModule  = "github.com/99designs/keyring"
	upstreamVersion = "v1.2.2"
	// upstreamSum is the h1: hash of upstream's module zip. go.mod does not
	// require the module, so go.sum does not pin it; the test does.
	upstreamSum = "h1:pZd3neh/EmUzWONb35LxQfvuY7kiSXAq3HQd97+XBn0="
	patchFile   = "upstream.patch"
	// regenerate is how to rewrite the patch after a change made on purpose.
	regenerate = "`make keyring-patch` (go test ./internal/keyring -run TestUpstreamPatch -update)"
)

// ours are this folder's own files, not upstream's; every other file here is
// compared with upstream.
var ours = []string{"README.md", patchFile, "upstream_test.go", "staticcheck.conf"}

// TestUpstreamPatch holds the copy to upstream.patch: the patch, made afresh
// from upstream's source and this folder, must be the one checked in, so
// every difference from upstream is in the patch for a reviewer to read.
func TestUpstreamPatch(t *testing.T) {
	got, err := makePatch(upstreamDir(t), ".")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(patchFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(patchFile)
	if err != nil {
		t.Fatalf("%v\nhint: make it with %s", err, regenerate)
	}
	if d := diff.Diff(patchFile, want, "made now", got); d != nil {
		t.Errorf("internal/keyring differs from %s@%s other than %s says:\n%s\n"+
			"hint: if the change is meant, run %s, commit the patch and say why in README.md",
			upstreamModule, upstreamVersion, patchFile, d, regenerate)
	}
}

// upstreamDir fetches upstream's module through the module cache and the
// proxy the go command is set up with, and returns where its source is.
func upstreamDir(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", upstreamModule+"@"+upstreamVersion)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var m struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &m); err != nil && runErr == nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	if runErr != nil || m.Error != "" {
		t.Fatalf("cannot fetch %s@%s to compare this copy with: %v: %s%s\n"+
			"hint: the comparison needs upstream's source, from the module cache or the module proxy (go env GOPROXY); it cannot pass without it",
			upstreamModule, upstreamVersion, runErr, m.Error, stderr.Bytes())
	}
	if m.Sum != upstreamSum {
		t.Fatalf("%s@%s has hash %s, want %s: not upstream's release", upstreamModule, upstreamVersion, m.Sum, upstreamSum)
	}
	return m.Dir
}

// makePatch describes how the folder local differs from upstream: the
// upstream files it leaves out, by name, then a unified diff of every file
// changed or added (as `patch -p1` reads it, run in upstream's folder).
func makePatch(upstream, local string) ([]byte, error) {
	up, err := files(upstream, nil)
	if err != nil {
		return nil, err
	}
	if len(up) == 0 {
		return nil, fmt.Errorf("%s holds no files", upstream)
	}
	here, err := files(local, ours)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "How internal/keyring differs from %s %s; README.md there says why.\n", upstreamModule, upstreamVersion)
	fmt.Fprintf(&b, "Written by `make keyring-patch` and checked by TestUpstreamPatch: do not edit.\n")
	fmt.Fprintf(&b, "To apply: in a copy of upstream's source, delete the files left out, then `patch -p1`.\n")
	fmt.Fprintf(&b, "\nLeft out of the copy:\n\n")
	for _, name := range slices.Sorted(maps.Keys(up)) {
		switch _, ok := here[name]; {
		case slices.Contains(ours, name):
			fmt.Fprintf(&b, "\t%s (the one in internal/keyring is this project's)\n", name)
		case !ok:
			fmt.Fprintf(&b, "\t%s\n", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(here)) {
		old, ok := up[name]
		oldName := "a/" + name
		if !ok {
			oldName = "/dev/null"
		}
		if d := diff.Diff(oldName, old, "b/"+name, here[name]); d != nil {
			b.WriteString("\n")
			b.Write(d)
		}
	}
	return b.Bytes(), nil
}

// files reads every regular file under dir except those named in skip, by
// slash-separated path.
func files(dir string, skip []string) (map[string][]byte, error) {
	all := make(map[string][]byte)
	fsys := os.DirFS(dir)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || slices.Contains(skip, name) {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s/%s is not a regular file", dir, name)
		}
		all[name], err = fs.ReadFile(fsys, name)
		return err
	})
	return all, err
}
