// Package upstreamcopy holds a patched copy of a third-party module to the
// patch checked in beside it, for the copies' tests (internal/keyring,
// internal/kong, internal/kongplete). A copy is a package of this module, not a
// replaced module, because the go command refuses `go install …@version` for a
// module whose go.mod has replace directives. The patch, made afresh from
// upstream's source and the copy, must be the one checked in, so every
// difference from upstream is in the patch for a reviewer to read.
package upstreamcopy

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

var update = flag.Bool("update", false, "rewrite "+PatchFile+" from upstream and this folder")

// PatchFile is the name of the patch in each copy's folder.
const PatchFile = "upstream.patch"

// Regenerate is how to rewrite the patches after a change made on purpose.
const Regenerate = "`make upstream-patches`"

// Copy describes one patched copy.
type Copy struct {
	Module, Version string
	// Sum is the h1: hash of upstream's module zip. go.mod does not require
	// the module, so go.sum does not pin it; the test does.
	Sum string
	// Folder is the copy's folder from the repository root, for messages.
	Folder string
	// Ours are the folder's own files, not upstream's; every other file there
	// is compared with upstream. The patch and the test are always ours.
	Ours []string
}

// Check fails t when the copy in the working directory differs from
// upstream other than its patch says; with -update it rewrites the patch.
func Check(t *testing.T, c Copy) {
	t.Helper()
	got, err := c.makePatch(c.upstreamDir(t), ".")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(PatchFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(PatchFile)
	if err != nil {
		t.Fatalf("%v\nhint: make it with %s", err, Regenerate)
	}
	if d := diff.Diff(PatchFile, want, "made now", got); d != nil {
		t.Errorf("%s differs from %s@%s other than %s says:\n%s\n"+
			"hint: if the change is meant, run %s, commit the patch and say why in README.md",
			c.Folder, c.Module, c.Version, PatchFile, d, Regenerate)
	}
}

// upstreamDir fetches upstream's module through the module cache and the
// proxy the go command is set up with, and returns where its source is.
func (c Copy) upstreamDir(t *testing.T) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "mod", "download", "-json", c.Module+"@"+c.Version)
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
			c.Module, c.Version, runErr, m.Error, stderr.Bytes())
	}
	if m.Sum != c.Sum {
		t.Fatalf("%s@%s has hash %s, want %s: not upstream's release", c.Module, c.Version, m.Sum, c.Sum)
	}
	return m.Dir
}

// makePatch describes how the folder local differs from upstream: the
// upstream files it leaves out, by name, then a unified diff of every file
// changed or added (as `patch -p1` reads it, run in upstream's folder).
func (c Copy) makePatch(upstream, local string) ([]byte, error) {
	ours := append([]string{PatchFile, "upstream_test.go"}, c.Ours...)
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
	fmt.Fprintf(&b, "How %s differs from %s %s; README.md there says why.\n", c.Folder, c.Module, c.Version)
	fmt.Fprintf(&b, "Written by `make upstream-patches` and checked by TestUpstreamPatch: do not edit.\n")
	fmt.Fprintf(&b, "To apply: in a copy of upstream's source, delete the files left out, then `patch -p1`.\n")
	fmt.Fprintf(&b, "\nLeft out of the copy:\n\n")
	for _, name := range slices.Sorted(maps.Keys(up)) {
		switch _, ok := here[name]; {
		case slices.Contains(ours, name):
			fmt.Fprintf(&b, "\t%s (the one in %s is this project's)\n", name, c.Folder)
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
