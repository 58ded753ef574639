package clientsetup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// DefaultGitHelper is the helper name git expands to the git-credential-gcore link.
const DefaultGitHelper = "gcore"

// Git scopes git's credential helper to https://HOST for each host. It is never set as a bare
// credential.helper, which git would ask for every host, github.com included (the reference's security rules).
type Git struct {
	// Hosts are the hosts (host[:port], no scheme) to route to the helper.
	Hosts []string
	// Helper is the credential helper; "" means DefaultGitHelper.
	Helper string
	// Global writes the user's global config (git config --global); false means the
	// repository config of the working directory, as git config itself does.
	Global bool
	// ConfigFile, when set, is the file to edit (git config --file) and overrides Global.
	ConfigFile string
}

// scope returns git config's location flags.
func (g Git) scope() []string {
	switch {
	case g.ConfigFile != "":
		return []string{"--file", g.ConfigFile}
	case g.Global:
		return []string{"--global"}
	}
	return nil
}

func (g Git) helper() string {
	if g.Helper == "" {
		return DefaultGitHelper
	}
	return g.Helper
}

// values are what each host's helper list must hold: the empty value first resets the helpers
// configured before it (credential.helper=store, osxkeychain, …), so no other helper is asked
// for a Gcore host, nor handed the Gcore token to store in plain text.
func (g Git) values() []string { return []string{"", g.helper()} }

func helperKey(host string) string { return "credential.https://" + host + ".helper" }

// Snippet returns the git config commands to run, and the equivalent config file block.
func (g Git) Snippet() string {
	scope := make([]string, 0, 2)
	for _, s := range g.scope() {
		scope = append(scope, shellQuote(s))
	}
	file := ".git/config"
	switch {
	case g.ConfigFile != "":
		file = g.ConfigFile
	case g.Global:
		file = "~/.gitconfig"
	}
	var cmds, ini strings.Builder
	for _, h := range g.Hosts {
		git := strings.Join(append([]string{"git", "config"}, scope...), " ")
		fmt.Fprintf(&cmds, "%s --replace-all %s ''\n", git, helperKey(h))
		fmt.Fprintf(&cmds, "%s --add %s %s\n", git, helperKey(h), shellQuote(g.helper()))
		fmt.Fprintf(&ini, "[credential %q]\n\thelper =\n\thelper = %s\n", "https://"+h, gitValue(g.helper()))
	}
	return "# the empty helper stops other credential helpers from seeing or storing the token\n" +
		cmds.String() + "\n# or, equivalently, in " + file + ":\n" + ini.String()
}

// Apply configures each host whose helper list is not already exactly the wanted one, through
// the real git config, which keeps the rest of the file as it was.
func (g Git) Apply(ctx context.Context) (changed bool, err error) {
	if err := checkHosts(g.Hosts); err != nil {
		return false, fmt.Errorf("set up git: %w", err)
	}
	if strings.ContainsAny(g.helper(), "\n\x00") {
		return false, errors.New("set up git: helper contains a newline or NUL")
	}
	bin, err := exec.LookPath("git")
	if err != nil {
		return false, fmt.Errorf("set up git: %w", err)
	}
	want := g.values()
	for _, h := range g.Hosts {
		key := helperKey(h)
		got, err := g.get(ctx, bin, key)
		if err != nil {
			return changed, err
		}
		if slices.Equal(got, want) {
			continue
		}
		if err := g.run(ctx, bin, "--replace-all", key, want[0]); err != nil {
			return changed, err
		}
		if err := g.run(ctx, bin, "--add", key, want[1]); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

// get returns every value of key, in config order; none when it is unset.
func (g Git) get(ctx context.Context, bin, key string) ([]string, error) {
	out, err := g.output(ctx, bin, "-z", "--get-all", key)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && len(out) == 0 {
		return nil, nil // git's "key not found"
	}
	if err != nil {
		return nil, err
	}
	return splitNUL(out), nil
}

// splitNUL splits git config -z output: every value ends with NUL and may itself be empty.
func splitNUL(out []byte) []string {
	if len(out) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

func (g Git) run(ctx context.Context, bin string, args ...string) error {
	_, err := g.output(ctx, bin, args...)
	return err
}

func (g Git) output(ctx context.Context, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, append(append([]string{"config"}, g.scope()...), args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("git config %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// gitValue quotes s for a git config file when it has characters git would strip or read as a
// comment, using the escapes git config understands inside double quotes.
func gitValue(s string) string {
	if shellSafe(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\b", `\b`)
	return `"` + r.Replace(s) + `"`
}

// shellSafe reports whether s needs no quoting in a POSIX shell, nor in a git config value:
// ^[A-Za-z0-9_./:@%+=,-]+$. (Not matched with regexp, whose package initialisation every
// process, every cache hit, would pay for once it is linked.)
func shellSafe(s string) bool {
	return s != "" && onlyBytesOf(s, "_./:@%+=,-")
}

// shellQuote quotes s for a POSIX shell in single quotes; a quote in s ends the quoted part,
// is escaped, and a new quoted part begins.
func shellQuote(s string) string {
	if shellSafe(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
