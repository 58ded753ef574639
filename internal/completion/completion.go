// Package completion owns the shell completion scripts: it renders bash, zsh and fish scripts
// from a shell-neutral description of the command line, so the three shells offer the same
// commands, flags and values and none of them can drift from the grammar that produced the Spec.
package completion

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
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
func Bash(w io.Writer, s Spec) error { return write(w, "bash", s, bash) }

// Zsh writes a zsh completion script, loaded with: source <(PROGRAM completion zsh), or saved as
// _PROGRAM in a directory on $fpath.
func Zsh(w io.Writer, s Spec) error { return write(w, "zsh", s, zsh) }

// Fish writes a fish completion script, loaded with: PROGRAM completion fish | source.
func Fish(w io.Writer, s Spec) error { return write(w, "fish", s, fish) }

// check restricts every word to characters that mean nothing to bash, zsh or
// fish, because the scripts paste words unquoted into shell code; the grammar
// needs no others. The patterns are compiled here, not in package variables,
// because the program links this package and init work would be paid by every
// run, every cache hit included.
func check(s Spec) error {
	programRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	flagRE := regexp.MustCompile(`^--?[A-Za-z0-9][A-Za-z0-9_-]*$`)
	wordRE := regexp.MustCompile(`^[A-Za-z0-9_.:/@+,][A-Za-z0-9_.:/@+,=-]*$`)
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

// view is a checked Spec with what the shells need derived from it. The scripts are built
// with plain string code, not text/template: its reflective method calls make the linker keep
// every exported method in the program, which every run of the binary pays for.
type view struct {
	Spec
	fn         string   // shell-safe identifier derived from Program
	valueFlags []string // flags taking a value, sorted because a map gives no order
}

// write checks s before anything is written, and hands w the whole script in one Write.
func write(w io.Writer, shell string, s Spec, gen func(*strings.Builder, view)) error {
	if err := check(s); err != nil {
		return err
	}
	v := view{Spec: s, fn: strings.Map(func(r rune) rune {
		if r == '.' || r == '-' {
			return '_'
		}
		return r
	}, s.Program)}
	v.valueFlags = slices.Sorted(maps.Keys(s.FlagValues))
	var b strings.Builder
	gen(&b, v)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write %s completion: %w", shell, err)
	}
	return nil
}

// commandNames lists the command names, space-separated.
func (s view) commandNames() string {
	names := make([]string, len(s.Commands))
	for i, c := range s.Commands {
		names[i] = c.Name
	}
	return words(names)
}

// flags lists c's flags and then the global ones, space-separated.
func (s view) flags(c Command) string {
	return words(slices.Concat(c.Flags, s.GlobalFlags))
}

// words joins words for a shell word list.
func words(w []string) string { return strings.Join(w, " ") }
