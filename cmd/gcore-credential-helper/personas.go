package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/G-Core/gcore-credential-helper/protocol"
)

// A persona is the helper invoked through a link named the way docker or git
// look helpers up; it speaks only that caller's protocol, with its usage
// text, and is dispatched on argv[0] before the command line grammar.
type persona struct {
	usage   string
	profile string // pinned by the link's name: docker-credential-gcore-<profile>
	run     func(a *app, p persona, args []string) int
}

const (
	dockerPersona = "docker-credential-gcore"
	gitPersona    = "git-credential-gcore"
)

func personaOf(argv0 string) (persona, bool) {
	name := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	switch {
	case name == dockerPersona:
		return persona{usage: "Usage: docker-credential-gcore <store|get|erase|list|version>", run: runDockerPersona}, true
	case strings.HasPrefix(name, dockerPersona+"-"):
		// docker cannot pass arguments to a helper: a link named after a
		// profile is how its credHelpers pin one.
		p, _ := personaOf(dockerPersona)
		p.profile = strings.TrimPrefix(name, dockerPersona+"-")
		return p, true
	case name == gitPersona:
		return persona{usage: "usage: git-credential-gcore [--profile NAME] [--non-interactive] <get|store|erase|capability>", run: runGitPersona}, true
	}
	return persona{}, false
}

func (p persona) runPersona(a *app, args []string) int { return p.run(a, p, args) }

// runDockerPersona follows docker-credential-helpers: exactly one argument,
// and anything else prints the usage on stdout and exits 1.
func runDockerPersona(a *app, p persona, args []string) int {
	if len(args) != 1 || !slices.Contains(protocol.DockerVerbs, args[0]) {
		fmt.Fprintln(a.stdout, p.usage)
		return exitError
	}
	a.globals.Profile = p.profile
	return a.docker(args[0])
}

// runGitPersona accepts the global flags git passes from the helper's
// configured command line ("gcore --profile work"), then one action.
func runGitPersona(a *app, p persona, args []string) int {
	for len(args) > 1 {
		switch a0 := args[0]; {
		case (a0 == "--profile" || a0 == "-p") && len(args) > 2:
			a.globals.Profile, args = args[1], args[2:]
		case strings.HasPrefix(a0, "--profile="):
			a.globals.Profile, args = strings.TrimPrefix(a0, "--profile="), args[1:]
		case a0 == "--non-interactive":
			a.globals.NonInteractive, args = true, args[1:]
		default:
			args = nil
		}
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(a.stderr, p.usage)
		return exitUsage
	}
	return a.git(args[0])
}
