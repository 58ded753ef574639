// Package completion owns the shell completion scripts: it renders bash, zsh and fish scripts
// from a shell-neutral description of the command line, so the three shells offer the same
// commands, flags and values and none of them can drift from the grammar that produced the Spec.
package completion

import (
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Command is one command of the program.
type Command struct {
	// Name is the word that selects the command.
	Name string
	// Flags are the command's own flags ("--format", "-p"), offered besides the global ones.
	Flags []string
	// Args are the fixed words for the command's first positional argument, e.g. its verbs.
	Args []string
}

// Spec describes a program's command line.
type Spec struct {
	// Program is the name the shell completes for.
	Program string
	// GlobalFlags are accepted before and after any command.
	GlobalFlags []string
	// Commands are the program's commands, offered in this order where the shell keeps it.
	Commands []Command
	// FlagValues lists the flags that take a value, with the values to offer. A flag whose list
	// is empty takes a free-form value: nothing is offered for it, and its value is not mistaken
	// for a command or an argument.
	FlagValues map[string][]string
}

// Bash writes a bash completion script, loaded with: source <(PROGRAM completion bash).
func Bash(w io.Writer, s Spec) error { return render(w, bashScript, s) }

// Zsh writes a zsh completion script, loaded with: source <(PROGRAM completion zsh), or saved as
// _PROGRAM in a directory on $fpath.
func Zsh(w io.Writer, s Spec) error { return render(w, zshScript, s) }

// Fish writes a fish completion script, loaded with: PROGRAM completion fish | source.
func Fish(w io.Writer, s Spec) error { return render(w, fishScript, s) }

var (
	//go:embed bash.tmpl
	bashText string
	//go:embed zsh.tmpl
	zshText string
	//go:embed fish.tmpl
	fishText string

	bashScript = parse("bash", bashText)
	zshScript  = parse("zsh", zshText)
	fishScript = parse("fish", fishText)
)

// The scripts paste words unquoted into shell code, so every word is restricted to characters
// that mean nothing to bash, zsh or fish; the grammar needs no others.
var (
	programRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	flagRE    = regexp.MustCompile(`^--?[A-Za-z0-9][A-Za-z0-9_-]*$`)
	wordRE    = regexp.MustCompile(`^[A-Za-z0-9_.:/@+,][A-Za-z0-9_.:/@+,=-]*$`)
)

func check(s Spec) error {
	if !programRE.MatchString(s.Program) {
		return fmt.Errorf("completion: invalid program name %q", s.Program)
	}
	bad := func(kind string, re *regexp.Regexp, words []string) error {
		for _, w := range words {
			if !re.MatchString(w) {
				return fmt.Errorf("completion: invalid %s %q", kind, w)
			}
		}
		return nil
	}
	if err := bad("flag", flagRE, s.GlobalFlags); err != nil {
		return err
	}
	for _, c := range s.Commands {
		if err := bad("command", wordRE, []string{c.Name}); err != nil {
			return err
		}
		if err := bad("flag", flagRE, c.Flags); err != nil {
			return err
		}
		if err := bad("argument", wordRE, c.Args); err != nil {
			return err
		}
	}
	for f, values := range s.FlagValues {
		if err := bad("flag", flagRE, []string{f}); err != nil {
			return err
		}
		if err := bad("value", wordRE, values); err != nil {
			return err
		}
	}
	return nil
}

// data is what the templates see: the Spec, sorted where a map gave no order.
type data struct {
	Spec
	Func       string   // shell-safe identifier derived from Program
	ValueFlags []string // flags taking a value, sorted
}

// CommandNames lists the command names, space-separated.
func (d data) CommandNames() string {
	names := make([]string, len(d.Commands))
	for i, c := range d.Commands {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

// FishValue gives fish's option-argument switches for flag f: -x (a value, no file names)
// and the values to offer, if any.
func (d data) FishValue(f string) string {
	values, ok := d.FlagValues[f]
	switch {
	case !ok:
		return ""
	case len(values) == 0:
		return " -x"
	}
	return " -x -a '" + strings.Join(values, " ") + "'"
}

func render(w io.Writer, t *template.Template, s Spec) error {
	if err := check(s); err != nil {
		return err
	}
	d := data{Spec: s, Func: strings.Map(func(r rune) rune {
		if r == '.' || r == '-' {
			return '_'
		}
		return r
	}, s.Program)}
	for f := range s.FlagValues {
		d.ValueFlags = append(d.ValueFlags, f)
	}
	slices.Sort(d.ValueFlags)
	if err := t.Execute(w, d); err != nil {
		return fmt.Errorf("write %s completion: %w", t.Name(), err)
	}
	return nil
}

func parse(name, text string) *template.Template {
	return template.Must(template.New(name).Funcs(template.FuncMap{
		"join": strings.Join,
		// flags joins a command's flags with the global ones.
		"flags": func(c Command, global []string) string {
			return strings.Join(append(slices.Clip(c.Flags), global...), " ")
		},
		// fishFlag turns "--format" into "-l format", "-p" into "-s p", "-old" into "-o old".
		"fishFlag": func(f string) string {
			switch {
			case strings.HasPrefix(f, "--"):
				return "-l " + f[2:]
			case len(f) == 2:
				return "-s " + f[1:]
			}
			return "-o " + f[1:]
		},
	}).Parse(text))
}
