package completion

import (
	"fmt"
	"strings"
)

// bash writes the bash script; its layout is pinned by testdata/bash.golden.
func bash(b *strings.Builder, s view) {
	fmt.Fprintf(b, `# bash completion for %[1]s
# load with: source <(%[1]s completion bash)

_%[2]s() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= npos=0 i w
	if ((COMP_CWORD > 0)); then prev=${COMP_WORDS[COMP_CWORD-1]}; fi
	# With "=" in COMP_WORDBREAKS (the default), "--flag=value" arrives as three words.
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	fi

	# Find the command and count the positional words after it; flag values are neither.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		=) i=$((i + 1)) ;;
`, s.Program, s.fn)
	// An empty case pattern would be a syntax error, hence the guards on valueFlags.
	if len(s.valueFlags) > 0 {
		fmt.Fprintf(b, "\t\t%s) [[ ${COMP_WORDS[i+1]} == = ]] || i=$((i + 1)) ;;\n", strings.Join(s.valueFlags, "|"))
	}
	b.WriteString(`		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=$w; else npos=$((npos + 1)); fi ;;
		esac
	done

`)
	if len(s.valueFlags) > 0 {
		b.WriteString("\tcase $prev in\n")
		for _, f := range s.valueFlags {
			// A free-form value gets an empty reply, so bash offers no commands or flags for it.
			reply := "COMPREPLY=()"
			if values := s.FlagValues[f]; len(values) > 0 {
				reply = compgen(words(values))
			}
			fmt.Fprintf(b, "\t%s) %s; return ;;\n", f, reply)
		}
		b.WriteString("\tesac\n\n")
	}
	b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tcase $cmd in\n")
	for _, c := range s.Commands {
		if len(c.Flags) > 0 {
			fmt.Fprintf(b, "\t\t%s) %s ;;\n", c.Name, compgen(s.flags(c)))
		}
	}
	fmt.Fprintf(b, "\t\t*) %s ;;\n\t\tesac\n\t\treturn\n\tfi\n", compgen(words(s.GlobalFlags)))
	fmt.Fprintf(b, "\tcase $cmd in\n\t'') %s ;;\n", compgen(s.commandNames()))
	for _, c := range s.Commands {
		if len(c.Args) > 0 {
			fmt.Fprintf(b, "\t%s) if ((npos == 0)); then %s; fi ;;\n", c.Name, compgen(words(c.Args)))
		}
	}
	fmt.Fprintf(b, "\tesac\n}\n\ncomplete -F _%s %s\n", s.fn, s.Program)
}

// compgen is the bash statement that offers those of list's words that start with $cur.
func compgen(list string) string {
	return `COMPREPLY=($(compgen -W '` + list + `' -- "$cur"))`
}
