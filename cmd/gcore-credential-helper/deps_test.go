package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTemplatesOfOurOwn guards the cache-hit budget (the reference's performance targets):
// text/template and html/template look methods up by name through reflect,
// which makes the linker keep every exported method of every reachable type
// (1.7 MB of binary, ~1.1 MB of RSS per start when they were first linked).
// kong, the user's choice of CLI library, does the same lookups and links
// text/template through go/doc, so the binary pays that already; what this
// guards is that none of this project's packages adds a use of its own.
func TestNoTemplatesOfOurOwn(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "github.com/G-Core/gcore-credential-helper/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, dep := range strings.Fields(imports) {
			if dep == "text/template" || dep == "html/template" {
				t.Errorf("%s imports %s; render text without it", pkg, dep)
			}
		}
	}
}
