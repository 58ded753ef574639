package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
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
	out := linkerDependencies(t)
	var marked []string
	for line := range strings.Lines(out) {
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

// TestNothingLinkedThatStartsSlowly guards the cache-hit budget too: what is
// reachable from main decides which package-level tables each process builds
// before main runs. Reaching regexp's matcher makes the program build
// unicode's category and script tables at every start; go/ast and go/doc came
// with kong's help. Together they cost a cache hit about 0.4 ms (README,
// Performance; internal/kong/README.md). The help wraps text with go/doc/comment, and the
// few patterns the helper checks are written out, each tested against the
// expression it replaces.
func TestNothingLinkedThatStartsSlowly(t *testing.T) {
	out := linkerDependencies(t)
	for _, prefix := range []string{"regexp.(*Regexp).", "unicode.Categories", "unicode.Scripts", "go/ast.", "go/doc."} {
		for line := range strings.Lines(out) {
			_, target, ok := strings.Cut(strings.TrimSpace(line), " -> ")
			// A function's argument liveness data is shared by content between
			// functions alike, so it names unrelated code: not a reference.
			if ok && strings.HasPrefix(target, prefix) && !strings.HasSuffix(target, ".argliveinfo") {
				t.Errorf("%s is reachable: %s", strings.TrimSuffix(prefix, "."), strings.TrimSpace(line))
				break
			}
		}
	}
}

// TestNoNetHTTP guards the cache-hit budget as well: a program that imports
// net/http pays for it at every start (its packages' initialisation, and a
// megabyte of code and tables the runtime sets up), about 0.9 ms of a get hit
// here, though a hit never sends a request. The IAM client's transport is
// internal/http1 (README, Performance).
func TestNoNetHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "crypto/tls") {
		t.Fatalf("go list -deps printed no crypto/tls; the check cannot run:\n%.2000s", out)
	}
	for _, pkg := range deps {
		if pkg == "net/http" || strings.HasPrefix(pkg, "net/http/") {
			t.Errorf("the binary imports %s; hint: send requests with internal/http1", pkg)
		}
	}
}

// linkerDependencies links the binary and returns the linker's dump of what
// reaches what, one "caller -> callee" per line.
var linkerDependencies = func() func(t *testing.T) string {
	var once sync.Once
	var out []byte
	var err error
	return func(t *testing.T) string {
		t.Helper()
		if testing.Short() {
			t.Skip("links the binary")
		}
		once.Do(func() {
			cmd := exec.Command("go", "build", "-o", os.DevNull, "-ldflags=-dumpdep", ".")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err = cmd.CombinedOutput()
		})
		if err != nil {
			t.Fatalf("go build: %v\n%.2000s", err, out)
		}
		if !strings.Contains(string(out), " -> ") {
			t.Fatalf("go build -ldflags=-dumpdep printed no dependencies; the check cannot run:\n%.2000s", out)
		}
		return string(out)
	}
}()
