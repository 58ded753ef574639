package clientsetup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// existingGitConfig has what setup must keep: user settings, a bare credential.helper (which
// must stay, and must not be asked for Gcore hosts), another host's helper, and an old helper
// list for one of our hosts.
const existingGitConfig = `[user]
	name = Test User
	email = test@example.com
[credential]
	helper = store
[credential "https://github.com"]
	helper = osxkeychain
[credential "https://registry.gcore.com"]
	helper = cache
	helper = old-gcore
`

// gitList returns every setting of a config file as git reads it, in order.
func gitList(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command("git", "config", "--file", file, "-z", "--list").Output()
	if err != nil {
		t.Fatalf("git config --list %s: %v", file, err)
	}
	return splitNUL(out)
}

func TestGitApply(t *testing.T) {
	requireTool(t, "git")
	home := isolate(t)
	path := filepath.Join(home, "gitconfig")
	writeFile(t, path, existingGitConfig)
	g := Git{Hosts: []string{"registry.gcore.com", "git.gcore.com:8443"}, ConfigFile: path}
	ctx := context.Background()

	changed, err := g.Apply(ctx)
	if err != nil || !changed {
		t.Fatalf("Apply() = %v, %v; want a change", changed, err)
	}
	want := []string{
		"user.name\nTest User",
		"user.email\ntest@example.com",
		"credential.helper\nstore",
		"credential.https://github.com.helper\nosxkeychain",
		"credential.https://registry.gcore.com.helper\n",
		"credential.https://registry.gcore.com.helper\ngcore",
		"credential.https://git.gcore.com:8443.helper\n",
		"credential.https://git.gcore.com:8443.helper\ngcore",
	}
	if diff := cmp.Diff(want, gitList(t, path)); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	applied := readString(t, path)
	if changed, err := g.Apply(ctx); err != nil || changed {
		t.Errorf("second Apply() = %v, %v; want no change", changed, err)
	}
	if readString(t, path) != applied {
		t.Error("second Apply rewrote the file")
	}
}

// TestGitHelperScope asks git itself which helpers it runs for each URL: the Gcore helper only
// for the configured host, and alone there, so no token reaches github.com or another store.
func TestGitHelperScope(t *testing.T) {
	requireTool(t, "git")
	home := isolate(t)
	writeFile(t, filepath.Join(home, ".gitconfig"), existingGitConfig)
	if _, err := (Git{Hosts: []string{"registry.gcore.com"}, Global: true}).Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		"https://registry.gcore.com/org/repo.git":  {"gcore"},
		"https://github.com/org/repo.git":          {"store", "osxkeychain"},
		"https://example.com/":                     {"store"},
		"http://registry.gcore.com/":               {"store"},
		"https://registry.gcore.com.evil.example/": {"store"},
	}
	for url, want := range tests {
		t.Run(url, func(t *testing.T) {
			if diff := cmp.Diff(want, helpersRun(t, url)); diff != "" {
				t.Errorf("helpers run for %s (-want +got):\n%s", url, diff)
			}
		})
	}
}

// helpersRun returns the helpers git credential fill runs for url, in order, as GIT_TRACE
// reports them ("run_command: 'git credential-store get'"); none exists here, so git asks them all.
func helpersRun(t *testing.T, url string) []string {
	t.Helper()
	trace := filepath.Join(t.TempDir(), "trace")
	cmd := exec.Command("git", "credential", "fill")
	cmd.Stdin = strings.NewReader("url=" + url + "\n\n")
	cmd.Env = append(os.Environ(), "GIT_TRACE="+trace, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=")
	cmd.Run() // fails: no helper answers and prompting is off
	var helpers []string
	for _, line := range strings.Split(readString(t, trace), "\n") {
		if _, rest, ok := strings.Cut(line, "run_command: 'git credential-"); ok {
			helpers = append(helpers, strings.Fields(rest)[0])
		}
	}
	return helpers
}

func TestGitApplyRefusesBadHosts(t *testing.T) {
	requireTool(t, "git")
	home := isolate(t)
	path := filepath.Join(home, "gitconfig")
	writeFile(t, path, existingGitConfig)
	for _, hosts := range [][]string{nil, {"https://registry.gcore.com"}, {"ok.gcore.com", "bad.gcore.com/x"}} {
		if changed, err := (Git{Hosts: hosts, ConfigFile: path}).Apply(context.Background()); err == nil || changed {
			t.Errorf("Apply with hosts %q = %v, %v; want an error", hosts, changed, err)
		}
	}
	if got := readString(t, path); got != existingGitConfig {
		t.Errorf("config changed:\n%s", got)
	}
}

func TestGitSnippet(t *testing.T) {
	got := Git{Hosts: []string{"registry.gcore.com"}, Global: true}.Snippet()
	want := `# the empty helper stops other credential helpers from seeing or storing the token
git config --global --replace-all credential.https://registry.gcore.com.helper ''
git config --global --add credential.https://registry.gcore.com.helper gcore

# or, equivalently, in ~/.gitconfig:
[credential "https://registry.gcore.com"]
	helper =
	helper = gcore
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snippet (-want +got):\n%s", diff)
	}
}

// TestGitSnippetMatchesApply runs the snippet's commands with sh, and gives its block to git as a
// file, and checks both configure what Apply does.
func TestGitSnippetMatchesApply(t *testing.T) {
	requireTool(t, "git")
	requireTool(t, "sh")
	home := isolate(t)
	g := Git{Hosts: []string{"registry.gcore.com", "git.gcore.com:8443"}, Helper: `my "helper" #1; \x`}
	g.ConfigFile = filepath.Join(home, "applied")
	if _, err := g.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := gitList(t, g.ConfigFile)

	g.ConfigFile = filepath.Join(home, "it's run")
	commands, block, ok := strings.Cut(g.Snippet(), "\n# or, equivalently, in "+g.ConfigFile+":\n")
	if !ok {
		t.Fatalf("snippet has no config block:\n%s", g.Snippet())
	}
	if out, err := exec.Command("sh", "-c", commands).CombinedOutput(); err != nil {
		t.Fatalf("snippet commands: %v\n%s", err, out)
	}
	if diff := cmp.Diff(want, gitList(t, g.ConfigFile)); diff != "" {
		t.Errorf("config from the commands (-apply +snippet):\n%s", diff)
	}

	blockFile := filepath.Join(home, "block")
	writeFile(t, blockFile, block)
	if diff := cmp.Diff(want, gitList(t, blockFile)); diff != "" {
		t.Errorf("config from the block (-apply +snippet):\n%s", diff)
	}
}

func FuzzShellQuote(f *testing.F) {
	if _, err := exec.LookPath("sh"); err != nil {
		f.Skip("sh not installed")
	}
	for _, s := range []string{"", "plain", "a b", "it's", "$HOME", "`id`", `\`, "\n", "*", "-n", "''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "\x00") {
			t.Skip("an argument cannot hold NUL")
		}
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Fatalf("sh read %q back as %q (%v)", s, out, err)
		}
	})
}

// FuzzGitValue checks that git reads a quoted config value back as it was.
func FuzzGitValue(f *testing.F) {
	if _, err := exec.LookPath("git"); err != nil {
		f.Skip("git not installed")
	}
	for _, s := range []string{"", "gcore", " lead", "trail ", "a#b", "a;b", `"q"`, `\`, "a\nb", "\t", "\b"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\x00\r") {
			t.Skip("git config values hold no NUL or CR")
		}
		file := filepath.Join(dir, "config")
		if err := os.WriteFile(file, []byte("[x]\n\tv = "+gitValue(s)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("git", "config", "--file", file, "-z", "--get", "x.v").Output()
		if got := strings.TrimSuffix(string(out), "\x00"); err != nil || got != s {
			t.Fatalf("git read %q back as %q (%v)", s, got, err)
		}
	})
}

func FuzzSplitNUL(f *testing.F) {
	f.Add("a\x00\x00b")
	f.Add("")
	f.Fuzz(func(t *testing.T, joined string) {
		values := strings.Split(joined, "\x00")
		var out []byte
		for _, v := range values {
			out = append(append(out, v...), 0)
		}
		if diff := cmp.Diff(values, splitNUL(out)); diff != "" {
			t.Fatalf("splitNUL (-want +got):\n%s", diff)
		}
	})
}
