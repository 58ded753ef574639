package completion

import (
	"fmt"
	"strings"
)

// zsh writes the zsh script; its layout is pinned by testdata/zsh.golden.
func zsh(b *strings.Builder, s view) {
	fmt.Fprintf(b, `#compdef %[1]s
# zsh completion for %[1]s
# load with: source <(%[1]s completion zsh), or save as _%[1]s in a directory on $fpath

_%[1]s() {
	emulate -L zsh # the user's options (ksh_arrays, …) must not change what the code means
	local cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmd= w
	local -i i npos=0
	# Find the command and count the positional words after it; flag values are neither.
	for ((i = 2; i < CURRENT; i++)); do
		w=${words[i]}
		case $w in
`, s.Program)
	// An empty case pattern would be a syntax error, hence the guards on valueFlags.
	if len(s.valueFlags) > 0 {
		fmt.Fprintf(b, "\t\t(%s) ((i++)) ;;\n", strings.Join(s.valueFlags, "|"))
	}
	// Not Fprintf: "%%" below is zsh's.
	b.WriteString(`		(-*) ;;
		(*) if [[ -z $cmd ]]; then cmd=$w; else ((npos++)); fi ;;
		esac
	done
	if [[ $cur == -*=* ]]; then
		# "--flag=value": complete the value after "="
		prev=${cur%%=*}
		compset -P '*='
		cur=${cur#*=}
	fi
`)
	if len(s.valueFlags) > 0 {
		b.WriteString("\tcase $prev in\n")
		for _, f := range s.valueFlags {
			// Returning 1 for a free-form value keeps zsh from offering commands or flags for it.
			action := "return 1"
			if values := s.FlagValues[f]; len(values) > 0 {
				action = "compadd -- " + words(values) + "; return"
			}
			fmt.Fprintf(b, "\t(%s) %s ;;\n", f, action)
		}
		b.WriteString("\tesac\n")
	}
	b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tcase $cmd in\n")
	for _, c := range s.Commands {
		if len(c.Flags) > 0 {
			fmt.Fprintf(b, "\t\t(%s) compadd -- %s ;;\n", c.Name, s.flags(c))
		}
	}
	fmt.Fprintf(b, "\t\t(*) compadd -- %s ;;\n\t\tesac\n\t\treturn\n\tfi\n", words(s.GlobalFlags))
	fmt.Fprintf(b, "\tcase $cmd in\n\t('') compadd -- %s ;;\n", s.commandNames())
	for _, c := range s.Commands {
		if len(c.Args) > 0 {
			fmt.Fprintf(b, "\t(%s) ((npos == 0)) && compadd -- %s ;;\n", c.Name, words(c.Args))
		}
	}
	fmt.Fprintf(b, `	esac
}

# Autoloaded from $fpath, this file is the function's body: complete now. Sourced: register.
if [[ $funcstack[1] == _%[1]s ]]; then
	_%[1]s "$@"
else
	compdef _%[1]s %[1]s
fi
`, s.Program)
}
