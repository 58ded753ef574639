package completion

import (
	"fmt"
	"strings"
)

// fish writes the fish script; its layout is pinned by testdata/fish.golden.
func fish(b *strings.Builder, s view) {
	fmt.Fprintf(b, `# fish completion for %[1]s
# load with: %[1]s completion fish | source

# __%[2]s_at CMD [first]: whether the command typed so far is CMD ('' for none
# yet); with "first", also whether no positional argument follows it. Flag values are skipped.
function __%[2]s_at --argument-names want first
	set -l tokens (commandline -opc)
	set -e tokens[1]
	set -l cmd ''
	set -l npos 0
	set -l skip 0
	for t in $tokens
		if test $skip = 1
			set skip 0
		else if contains -- $t %[3]s
			set skip 1
		else if string match -q -- '-*' $t
			continue
		else if test -z "$cmd"
			set cmd $t
		else
			set npos (math $npos + 1)
		end
	end
	test "$cmd" = "$want"; or return
	test -z "$first"; or test $npos = 0
end

complete -c %[1]s -f
complete -c %[1]s -n '__%[2]s_at ""' -a '%[4]s'
`, s.Program, s.fn, words(s.valueFlags), s.commandNames())
	for _, c := range s.Commands {
		if len(c.Args) > 0 {
			fmt.Fprintf(b, "complete -c %s -n '__%s_at %s first' -a '%s'\n", s.Program, s.fn, c.Name, words(c.Args))
		}
	}
	for _, f := range s.GlobalFlags {
		fmt.Fprintf(b, "complete -c %s %s\n", s.Program, fishFlag(s, f))
	}
	for _, c := range s.Commands {
		for _, f := range c.Flags {
			fmt.Fprintf(b, "complete -c %s -n '__%s_at %s' %s\n", s.Program, s.fn, c.Name, fishFlag(s, f))
		}
	}
}

// fishFlag gives fish's switches for flag f: "--format" becomes "-l format", "-p" "-s p" and
// "-old" "-o old"; a flag taking a value adds -x (a value, no file names) and the values to offer.
func fishFlag(s view, f string) string {
	var sw string
	switch {
	case strings.HasPrefix(f, "--"):
		sw = "-l " + f[2:]
	case len(f) == 2:
		sw = "-s " + f[1:]
	default:
		sw = "-o " + f[1:]
	}
	values, ok := s.FlagValues[f]
	switch {
	case !ok:
		return sw
	case len(values) == 0:
		return sw + " -x"
	}
	return sw + " -x -a '" + words(values) + "'"
}
