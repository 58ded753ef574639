package layering

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/G-Core/gcore-credential-helper/"

// allowed lists, for each package of the shipped binary below cmd, the
// project packages it may import. Arrows point one way: the wire formats
// (protocol) and the IAM client know nothing of the rest; the mechanism
// (cache) and the config know nothing of policy (helper) or IAM; policy
// knows them all and nothing of the command line.
var allowed = map[string][]string{
	"protocol":             {},
	"iam":                  {"internal/baseurl", "internal/http1"},
	"config":               {"internal/atomicfile", "internal/baseurl", "internal/nopoll"},
	"cache":                {"internal/atomicfile", "internal/tlv", "internal/keyring", "internal/nopoll"},
	"helper":               {"cache", "config", "iam", "protocol", "internal/tlv"},
	"internal/clientsetup": {"internal/atomicfile"},
	"internal/atomicfile":  {},
	"internal/nopoll":      {},
	"internal/http1":       {},
	"internal/baseurl":     {},
	"internal/tlv":         {},
	"internal/keyring":     {},
	// kong and kongplete are patched copies of upstream (see their
	// READMEs); kongplete needs kong's types.
	"internal/kong":      {},
	"internal/kongplete": {"internal/kong", "internal/kongplete/internal/positionalpredictor"},
	"internal/kongplete/internal/positionalpredictor": {},
}

// standardOnly are the packages that may import nothing outside the
// standard library: they are the ones most worth reusing and reviewing.
var standardOnly = []string{"protocol", "iam", "internal/baseurl", "internal/tlv", "internal/http1"}

// TestImportArrows enforces allowed and standardOnly with go list.
func TestImportArrows(t *testing.T) {
	for pkg, imports := range listImports(t, module+"...") {
		rel := strings.TrimPrefix(pkg, module)
		want, checked := allowed[rel]
		if !checked {
			continue
		}
		for _, dep := range imports {
			if own, ok := strings.CutPrefix(dep, module); ok {
				if !slices.Contains(want, own) {
					t.Errorf("%s imports %s; it may import only %v of this project", rel, own, want)
				}
				continue
			}
			if slices.Contains(standardOnly, rel) && !isStandard(dep) {
				t.Errorf("%s imports %s; it may import only the standard library", rel, dep)
			}
		}
	}
}

// TestShippedBinaryHoldsNoTestCode: the fake IAM, the test harness and the
// test keyrings are never linked into gcore-credential-helper.
func TestShippedBinaryHoldsNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"cmd/gcore-credential-helper").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, testOnly := range []string{"fakeiam", "internal/harness", "internal/testkeyring", "internal/upstreamcopy", "bench"} {
			if dep == module+testOnly || strings.HasPrefix(dep, module+testOnly+"/") {
				t.Errorf("the binary links %s", dep)
			}
		}
	}
}

// TestEveryLibraryPackageIsChecked: a new package must be given its arrows.
func TestEveryLibraryPackageIsChecked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"cmd/gcore-credential-helper").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		rel, own := strings.CutPrefix(dep, module)
		if own && !strings.HasPrefix(rel, "cmd/") {
			if _, ok := allowed[rel]; !ok {
				t.Errorf("the binary links %s, which has no entry in allowed", rel)
			}
		}
	}
}

// listImports returns each package's non-test imports.
func listImports(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, pattern).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		imports[pkg] = strings.Fields(deps)
	}
	return imports
}

// isStandard reports whether an import path is the standard library's: its
// first element has no dot (the go command's own rule).
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
