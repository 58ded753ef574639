package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// A persona is the helper invoked through a link named the way docker or git
// look helpers up; it speaks only that caller's protocol, with its usage text.
type persona struct {
	usage string
	run   func(a *app, args []string) int
}

func personaOf(argv0 string) (persona, bool) {
	switch strings.TrimSuffix(filepath.Base(argv0), ".exe") {
	case "docker-credential-gcore":
		return persona{
			usage: "Usage: docker-credential-gcore <store|get|erase|list|version>",
			run:   runDockerPersona,
		}, true
	case "git-credential-gcore":
		return persona{
			usage: "usage: git-credential-gcore [--profile NAME] <get|store|erase|capability>",
			run:   runGitPersona,
		}, true
	}
	return persona{}, false
}

// runDockerPersona follows docker-credential-helpers: exactly one argument,
// and anything else prints the usage on stdout and exits 1.
func runDockerPersona(a *app, args []string) int {
	if len(args) != 1 || !isDockerVerb(args[0]) {
		p, _ := personaOf("docker-credential-gcore")
		fmt.Fprintln(a.stdout, p.usage)
		return exitError
	}
	return a.docker(args[0])
}

// runGitPersona accepts the global flags git passes from the helper's
// configured command line, then one action.
func runGitPersona(a *app, args []string) int {
	in, err := parse(commands(), append([]string{"git"}, args...))
	if err != nil || len(in.args) != 1 {
		p, _ := personaOf("git-credential-gcore")
		fmt.Fprintln(a.stderr, p.usage)
		return exitUsage
	}
	a.profile, a.nonInteractive = in.str("profile"), in.on("non-interactive")
	return a.git(in.args[0])
}
