package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoMethodLookupByName guards the cache-hit budget (the reference's
// performance targets). A reachable call of reflect's MethodByName with a name
// known only at run time, or of Method(i), makes the Go linker keep every
// exported method of every type in the program, since any might be called.
// kong, kongplete (through posener/complete's installer and text/template)
// and text/template itself made such calls: with them the binary was 1.5 MB
// larger and a cache hit touched 0.9 MiB more memory (internal/kong/README.md).
// The linker marks each such function <ReflectMethod> in its dependency dump.
func TestNoMethodLookupByName(t *testing.T) {
	if testing.Short() {
		t.Skip("links the binary")
	}
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", os.DevNull, "-ldflags=-dumpdep", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%.2000s", err, out)
	}
	if !strings.Contains(string(out), " -> ") {
		t.Fatalf("go build -ldflags=-dumpdep printed no dependencies; the check cannot run:\n%.2000s", out)
	}
	var marked []string
	for line := range strings.Lines(string(out)) {
		fn, _, ok := strings.Cut(line, " <ReflectMethod> -> ")
		if ok && !slices.Contains(marked, fn) {
			marked = append(marked, fn)
		}
	}
	if len(marked) > 0 {
		t.Errorf("the binary looks methods up by a name known only at run time, in:\n\t%s\n"+
			"hint: look each method up by a constant name (see internal/kong/README.md)",
			strings.Join(marked, "\n\t"))
	}
}
