//go:build linux

package cache

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/G-Core/gcore-credential-helper/internal/testkeyring"
)

// TestPassGitBackedStoreStaysCommitted guards the reference's storage (the pass backend) for
// users who sync their password store with git: every write, replace and
// delete the helper makes is committed, as pass's own commands are, so the
// store's working tree stays clean and a sync carries whole entries.
func TestPassGitBackedStoreStaysCommitted(t *testing.T) {
	env, err := testkeyring.Pass(t)
	if err == nil {
		env, err = testkeyring.PassGit(env)
	}
	if err != nil {
		testkeyring.Unavailable(t, "pass", err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // pass and gpg read them from the process environment
	}
	s, err := OpenKeyring("pass", KeyringOptions{ServiceName: uniqueService(t), Env: os.Getenv, Timeout: conformanceTimeout})
	if err != nil {
		t.Fatal(err)
	}
	commitsBefore := gitOutput(t, "rev-list", "--count", "HEAD")
	mustPut(t, s, conformKey, []byte("first"))
	mustPut(t, s, conformKey, []byte("second"))
	mustGet(t, s, conformKey, []byte("second"))
	if dirty := gitOutput(t, "status", "--porcelain", "--untracked-files=all"); dirty != "" {
		t.Errorf("the store's working tree after two writes:\n%s", dirty)
	}
	if tracked := gitOutput(t, "ls-files"); strings.Contains(tracked, ".tmp") {
		t.Errorf("a temporary entry is tracked:\n%s", tracked)
	}
	if err := s.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
	if dirty := gitOutput(t, "status", "--porcelain", "--untracked-files=all"); dirty != "" {
		t.Errorf("the store's working tree after a delete:\n%s", dirty)
	}
	if commitsBefore == gitOutput(t, "rev-list", "--count", "HEAD") {
		t.Error("no commit was made")
	}
}

// gitOutput runs git in the password store of this test's environment.
func gitOutput(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", os.Getenv("PASSWORD_STORE_DIR")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
