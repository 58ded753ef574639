package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsStandAlone guards issue #10: the README and docs/ cite no
// document users do not have, and every test they name as proof exists at
// the path they give, from the repository root.
func TestDocsStandAlone(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	testPath := regexp.MustCompile("`([A-Za-z0-9_./*-]+(?:_test\\.go|\\.txtar))`")
	for _, doc := range append(docs, filepath.Join("..", "README.md")) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, cited := range []string{"SPEC", "§"} {
			if strings.Contains(text, cited) {
				t.Errorf("%s cites %q, a document that is not in the repository", doc, cited)
			}
		}
		for _, m := range testPath.FindAllStringSubmatch(text, -1) {
			matches, err := filepath.Glob(filepath.Join("..", m[1]))
			if err != nil || len(matches) == 0 {
				t.Errorf("%s names %s, which is not there (paths are from the repository root)", doc, m[1])
			}
		}
	}
}
