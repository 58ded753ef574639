package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The command grammar is a small table rather than a reflection-driven CLI
// framework: every caller starts a fresh process, and building a reflective
// command model cost ~0.3 ms of a ~2 ms cache hit (see README, Performance).

// flagSpec declares one flag. Flags with a placeholder take a value.
type flagSpec struct {
	long, short string
	placeholder string   // non-empty: the flag takes a value
	values      []string // the values to offer in shell completion, if a fixed set
	help        string
}

// command is one verb of the CLI.
type command struct {
	name    string
	args    string // usage of positional arguments, e.g. "[--] CMD ARGS…"
	summary string
	flags   []flagSpec
	example string
	// maxArgs bounds positional arguments; -1 means any.
	maxArgs int
	// passthrough ends flag parsing at the first positional argument, which
	// starts a command line of its own (exec).
	passthrough bool
	run         func(a *app, in *invocation) error
}

// globalFlags are accepted before or after the command name.
func globalFlags() []flagSpec {
	return []flagSpec{
		{long: "profile", short: "p", placeholder: "NAME", help: `profile to use (env GCORE_PROFILE, default "default")`},
		{long: "non-interactive", help: "never prompt; exit 3 when a login would be needed"},
		{long: "help", short: "h", help: "show help"},
	}
}

// invocation is a parsed command line.
type invocation struct {
	cmd    *command
	values map[string]string // value flags by long name
	bools  map[string]bool   // boolean flags by long name
	args   []string
}

func (in *invocation) str(name string) string { return in.values[name] }
func (in *invocation) on(name string) bool    { return in.bools[name] }

// duration reads an optional duration flag; nil when absent.
func (in *invocation) duration(name string) (*time.Duration, error) {
	v, ok := in.values[name]
	if !ok {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return nil, usagef("--%s: %q is not a duration such as 90s or 5m", name, v)
	}
	return &d, nil
}

// int64 reads an optional integer flag; nil when absent.
func (in *invocation) int64(name string) (*int64, error) {
	v, ok := in.values[name]
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return nil, usagef("--%s: %q is not a non-negative integer", name, v)
	}
	return &n, nil
}

// oneOf checks an enumerated flag and returns its value or def.
func (in *invocation) oneOf(name, def string, allowed ...string) (string, error) {
	v, ok := in.values[name]
	if !ok {
		return def, nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", usagef("--%s: %q is not one of %s", name, v, strings.Join(allowed, ", "))
}

// parse reads args (without the program name) against the command table.
// It returns a nil command with help requested when there is nothing to run.
func parse(commands []*command, args []string) (*invocation, error) {
	in := &invocation{values: map[string]string{}, bools: map[string]bool{}}
	flagsDone := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if in.cmd != nil && in.cmd.passthrough && len(in.args) > 0 {
			flagsDone = true
		}
		if flagsDone || arg == "-" || !strings.HasPrefix(arg, "-") {
			if in.cmd == nil && !flagsDone {
				if in.cmd = lookup(commands, arg); in.cmd == nil {
					return nil, usagef("unknown command %q", arg)
				}
				continue
			}
			in.args = append(in.args, arg)
			continue
		}
		if arg == "--" {
			flagsDone = true
			continue
		}
		spec, name, value, hasValue, err := findFlag(in.cmd, arg)
		if err != nil {
			return nil, err
		}
		if spec.placeholder == "" {
			if hasValue {
				return nil, usagef("flag --%s takes no value", spec.long)
			}
			in.bools[spec.long] = true
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, usagef("flag %s needs a value (%s)", name, spec.placeholder)
			}
			i++
			value = args[i]
		}
		in.values[spec.long] = value
	}
	if in.cmd != nil && in.cmd.maxArgs >= 0 && len(in.args) > in.cmd.maxArgs {
		return nil, usagef("unexpected argument %q", in.args[in.cmd.maxArgs])
	}
	return in, nil
}

// findFlag resolves "--name", "--name=value", "-p" or "-pVALUE" against the
// command's flags and the global ones.
func findFlag(cmd *command, arg string) (spec flagSpec, name, value string, hasValue bool, err error) {
	specs := globalFlags()
	if cmd != nil {
		specs = append(specs, cmd.flags...)
	}
	if strings.HasPrefix(arg, "--") {
		name = arg[2:]
		if k := strings.IndexByte(name, '='); k >= 0 {
			name, value, hasValue = name[:k], name[k+1:], true
		}
		for _, s := range specs {
			if s.long == name {
				return s, "--" + name, value, hasValue, nil
			}
		}
		return flagSpec{}, "", "", false, usagef("unknown flag --%s", name)
	}
	short := arg[1:2]
	if len(arg) > 2 {
		value, hasValue = arg[2:], true
	}
	for _, s := range specs {
		if s.short != "" && s.short == short {
			return s, "-" + short, value, hasValue, nil
		}
	}
	return flagSpec{}, "", "", false, usagef("unknown flag -%s", short)
}

func lookup(commands []*command, name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// writeUsage prints the overview, or one command's help when cmd is set.
func writeUsage(w io.Writer, commands []*command, cmd *command) {
	if cmd == nil {
		fmt.Fprintf(w, "Usage: %s [flags] <command> [command flags]\n\n", programName)
		fmt.Fprintln(w, "Hands Gcore credentials to kubectl, docker, git, Terraform and scripts.")
		fmt.Fprintln(w, "\nCommands:")
		for _, c := range commands {
			fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(w, "\nFlags:")
		writeFlags(w, globalFlags())
		fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags and an example.\n", programName)
		return
	}
	fmt.Fprintf(w, "Usage: %s %s [flags]", programName, cmd.name)
	if cmd.args != "" {
		fmt.Fprintf(w, " %s", cmd.args)
	}
	fmt.Fprintf(w, "\n\n%s.\n", upperFirst(cmd.summary))
	if len(cmd.flags) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		writeFlags(w, cmd.flags)
	}
	fmt.Fprintln(w, "\nGlobal flags:")
	writeFlags(w, globalFlags())
	if cmd.example != "" {
		fmt.Fprintf(w, "\nExample:\n%s\n", cmd.example)
	}
}

func writeFlags(w io.Writer, specs []flagSpec) {
	for _, s := range specs {
		name := "    --" + s.long
		if s.short != "" {
			name = "-" + s.short + ", --" + s.long
		}
		if s.placeholder != "" {
			name += " " + s.placeholder
		}
		fmt.Fprintf(w, "  %-28s %s\n", name, s.help)
	}
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
