package completion

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const prog = "gcore-credential-helper"

// testSpec is shaped like the product's command line.
func testSpec() Spec {
	return Spec{
		Program:     prog,
		GlobalFlags: []string{"--profile", "-p", "--help"},
		Commands: []Command{
			{Name: "login", Flags: []string{"--username", "--client-id"}},
			{Name: "get", Flags: []string{"--format", "--min-ttl", "--refresh"}},
			{Name: "docker", Args: []string{"get", "store", "erase", "list", "version"}},
			{Name: "git", Args: []string{"get", "store", "erase", "capability"}},
			{Name: "export", Flags: []string{"--format"}},
			{Name: "setup", Flags: []string{"--write"}, Args: []string{"kubectl", "docker", "git"}},
			{Name: "status", Flags: []string{"--json"}},
			{Name: "version"},
		},
		FlagValues: map[string][]string{
			"--format":    {"json", "token", "header", "sh", "fish"},
			"--profile":   nil,
			"-p":          nil,
			"--min-ttl":   nil,
			"--username":  nil,
			"--client-id": nil,
		},
	}
}

var generators = []struct {
	shell string
	gen   func(io.Writer, Spec) error
}{
	{"bash", Bash},
	{"zsh", Zsh},
	{"fish", Fish},
}

func TestGolden(t *testing.T) {
	for _, g := range generators {
		t.Run(g.shell, func(t *testing.T) {
			var b bytes.Buffer
			if err := g.gen(&b, testSpec()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", g.shell+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s script (-golden +got):\n%s", g.shell, diff)
			}
		})
	}
}

func TestInvalidSpec(t *testing.T) {
	tests := map[string]func(*Spec){
		"empty program":     func(s *Spec) { s.Program = "" },
		"program with $":    func(s *Spec) { s.Program = "a$b" },
		"flag without dash": func(s *Spec) { s.GlobalFlags = append(s.GlobalFlags, "profile") },
		"flag with space":   func(s *Spec) { s.Commands[0].Flags = append(s.Commands[0].Flags, "--a b") },
		"command with dash": func(s *Spec) { s.Commands[0].Name = "-login" },
		"quote in argument": func(s *Spec) { s.Commands[2].Args = append(s.Commands[2].Args, "it's") },
		"glob in value":     func(s *Spec) { s.FlagValues["--format"] = []string{"*"} },
		"value-flag key":    func(s *Spec) { s.FlagValues["format"] = nil },
		"empty value":       func(s *Spec) { s.FlagValues["--format"] = []string{""} },
	}
	for name, breakSpec := range tests {
		t.Run(name, func(t *testing.T) {
			for _, g := range generators {
				s := testSpec()
				breakSpec(&s)
				var b bytes.Buffer
				if err := g.gen(&b, s); err == nil || b.Len() != 0 {
					t.Errorf("%s: err = %v, wrote %d bytes; want an error and nothing written", g.shell, err, b.Len())
				}
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	for _, g := range generators {
		if err := g.gen(failingWriter{}, testSpec()); err == nil {
			t.Errorf("%s: no error from a failing writer", g.shell)
		}
	}
}

// script writes the shell's script to a file and returns its path, or skips without the shell.
func script(t *testing.T, shell string, gen func(io.Writer, Spec) error) string {
	t.Helper()
	if _, err := exec.LookPath(shell); err != nil {
		t.Skipf("%s not installed (Debian: apt-get install %s)", shell, shell)
	}
	var b bytes.Buffer
	if err := gen(&b, testSpec()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), shell)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func lines(out []byte) []string {
	var l []string
	for _, s := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if s != "" {
			l = append(l, s)
		}
	}
	return l
}

var allCommands = []string{"login", "get", "docker", "git", "export", "setup", "status", "version"}

// completionCases are the command lines every shell must complete alike; the last word is the
// one being completed. "=" cases are in the bash and zsh tables, whose shells split words differently.
var completionCases = []struct {
	name  string
	words []string
	want  []string
}{
	{"command prefix", []string{prog, "ge"}, []string{"get"}},
	{"all commands", []string{prog, ""}, allCommands},
	{"command after global flag value", []string{prog, "--profile", "prod", "s"}, []string{"setup", "status"}},
	{"command after short flag value", []string{prog, "-p", "docker", "g"}, []string{"get", "git"}},
	{"free-form value", []string{prog, "--profile", ""}, nil},
	{"command flag", []string{prog, "get", "--f"}, []string{"--format"}},
	{"global flags", []string{prog, "--"}, []string{"--help", "--profile"}},
	{"command and global flags", []string{prog, "status", "--"}, []string{"--help", "--json", "--profile"}},
	{"flag value", []string{prog, "get", "--format", "t"}, []string{"token"}},
	{"all flag values", []string{prog, "export", "--format", ""}, []string{"fish", "header", "json", "sh", "token"}},
	{"flag after value", []string{prog, "get", "--format", "json", "--m"}, []string{"--min-ttl"}},
	{"subverb", []string{prog, "docker", "e"}, []string{"erase"}},
	{"subverb after flag", []string{prog, "setup", "--write", "k"}, []string{"kubectl"}},
	{"only the first argument", []string{prog, "docker", "get", ""}, nil},
	{"command without arguments", []string{prog, "version", ""}, nil},
}

func TestBashCompletes(t *testing.T) {
	file := script(t, "bash", Bash)
	cases := append(slices.Clip(completionCases), []struct {
		name  string
		words []string
		want  []string
	}{
		{"value after =", []string{prog, "get", "--format", "=", "j"}, []string{"json"}},
		{"values after =", []string{prog, "get", "--format", "="}, []string{"fish", "header", "json", "sh", "token"}},
		{"command after --flag=value", []string{prog, "--profile", "=", "prod", "ve"}, []string{"version"}},
	}...)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			// The cursor is on the last word, as when the user presses TAB at the end of the line.
			cmd := exec.Command("bash", "--norc", "--noprofile", "-c", `source "$1" || exit
				COMP_WORDS=("${@:2}"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
				_gcore_credential_helper
				if ((${#COMPREPLY[@]})); then printf '%s\n' "${COMPREPLY[@]}"; fi`,
				"bash", file)
			cmd.Args = append(cmd.Args, tt.words...)
			checkCompletions(t, cmd, tt.want)
		})
	}
	out, err := exec.Command("bash", "--norc", "--noprofile", "-c", `source "$1" && complete -p `+prog, "bash", file).CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "complete -F _gcore_credential_helper "+prog; err != nil || got != want {
		t.Errorf("registration: %q, %v; want %q", got, err, want)
	}
}

func TestFishCompletes(t *testing.T) {
	file := script(t, "fish", Fish)
	cases := append(slices.Clip(completionCases), []struct {
		name  string
		words []string
		want  []string
	}{
		{"value after =", []string{prog, "get", "--format=j"}, []string{"--format=json"}},
	}...)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			line := strings.Join(tt.words, " ")
			cmd := exec.Command("fish", "--no-config", "-c", `source $argv[1]; or exit 1; complete -C $argv[2]`, file, line)
			checkCompletions(t, cmd, tt.want)
		})
	}
}

// TestZshCompletes runs the script's completion function in zsh with compadd and compset
// stood in by functions that print what would be offered, so it can assert exact lists, empty
// ones included. TestZshWidget drives the real completion widget for a few lines.
func TestZshCompletes(t *testing.T) {
	file := script(t, "zsh", Zsh)
	cases := append(slices.Clip(completionCases), []struct {
		name  string
		words []string
		want  []string
	}{
		{"value after =", []string{prog, "get", "--format=j"}, []string{"json"}},
	}...)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("zsh", "-f", "-c", `
				compdef() { : }
				compadd() { [[ $1 == -- ]] && shift; local w; for w; do [[ $w == ${PREFIX}* ]] && print -r -- $w; done; return 0 }
				compset() { [[ $1 == -P && $2 == '*=' && $PREFIX == *=* ]] && PREFIX=${PREFIX#*=} }
				source $1 || exit
				words=("${@[2,-1]}"); CURRENT=${#words}; PREFIX=${words[CURRENT]}
				_gcore-credential-helper; return 0`, "zsh", file)
			cmd.Args = append(cmd.Args, tt.words...)
			checkCompletions(t, cmd, tt.want)
		})
	}
}

// TestZshRegisters sources the script the two ways users load it, under the real compinit.
func TestZshRegisters(t *testing.T) {
	file := script(t, "zsh", Zsh)
	fpath := t.TempDir()
	if err := os.Rename(file, filepath.Join(fpath, "_"+prog)); err != nil {
		t.Fatal(err)
	}
	// A sourced script needs compinit loaded first; an $fpath directory must be known before it.
	for name, setup := range map[string][2]string{
		"source": {"", `source $1/_` + prog},
		"fpath":  {`fpath=($1 $fpath)`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command("zsh", "-f", "-c", setup[0]+`
				autoload -Uz compinit && compinit -u -D
				`+setup[1]+`
				print -r -- $_comps[`+prog+`]`, "zsh", fpath).CombinedOutput()
			if got := strings.TrimSpace(string(out)); err != nil || got != "_"+prog {
				t.Errorf("_comps[%s] = %q, %v; want _%s", prog, got, err, prog)
			}
		})
	}
}

// TestZshWidget types lines and TAB into an interactive zsh on a pseudo-terminal (zsh/zpty) with
// the real compinit, and waits for each expected text to appear on the screen.
func TestZshWidget(t *testing.T) {
	file := script(t, "zsh", Zsh)
	cases := []struct{ line, want string }{
		{prog + " ge", prog + " get "},
		{prog + " get --format=j", "--format=json "},
		{prog + " --profile prod s", "setup*status"},
		{prog + " docker e", "docker erase "},
		{prog + " setup --wr", "--write "},
	}
	args := []string{"-f", "-c", `
		zmodload zsh/zpty || exit 2
		zpty z zsh -f -i
		zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u -D; source $1"
		shift
		while (($#)); do
			zpty -w -n z "$1"$'\t'
			zpty -r z out "*$2*" || exit 1 # blocks until the text appears
			print -r -- "ok $1"
			zpty -w -n z $'\x15' # ^U empties the line (^C would also flush what is typed next)
			shift 2
		done
		zpty -d z`, "zsh", file}
	for _, c := range cases {
		args = append(args, c.line, c.want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "zsh", args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TERM=dumb")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh widget: %v (a line that never completed stops the run)\n%s", err, out)
	}
	var want []string
	for _, c := range cases {
		want = append(want, "ok "+c.line)
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("completed lines (-want +got):\n%s", diff)
	}
}

func checkCompletions(t *testing.T, cmd *exec.Cmd, want []string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("%v: %v\nstderr: %s", cmd.Args[:2], err, stderr.String())
	}
	var got []string
	for _, l := range lines(out) {
		word, _, _ := strings.Cut(l, "\t") // fish appends a tab and a description
		got = append(got, word)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
}

// FuzzScripts checks that any Spec the generators accept gives scripts each shell can parse:
// the word rules are what keeps unquoted words from breaking the shell code.
func FuzzScripts(f *testing.F) {
	f.Add("prog", "--flag", "word")
	f.Add("a.b-c", "-x", "a=b,c:d/e@f+h")
	f.Add("p", "--f", "it's")
	f.Fuzz(func(t *testing.T, program, flag, word string) {
		s := Spec{
			Program:     program,
			GlobalFlags: []string{flag},
			Commands:    []Command{{Name: word, Flags: []string{flag}, Args: []string{word}}},
			FlagValues:  map[string][]string{flag: {word}},
		}
		for _, g := range generators {
			var b bytes.Buffer
			if err := g.gen(&b, s); err != nil {
				return // rejected: nothing to parse
			}
			shell := g.shell
			if _, err := exec.LookPath(shell); err != nil {
				continue
			}
			syntax := exec.Command(shell, "-n")
			if shell == "fish" {
				syntax = exec.Command("fish", "--no-config", "--no-execute")
			}
			syntax.Stdin = &b
			if out, err := syntax.CombinedOutput(); err != nil {
				t.Fatalf("%s rejects the script for %q %q %q: %v\n%s", shell, program, flag, word, err, out)
			}
		}
	})
}
