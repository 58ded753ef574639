package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/posener/complete"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/internal/kong"
	"github.com/G-Core/gcore-credential-helper/internal/kongplete"
)

// Shell completion comes from kongplete, which completes from the kong
// grammar itself: commands, flags, each command's own enum values (get
// --format offers json, token, header; export --format sh, fish, …) and,
// through a predictor, the profile names of the config file. A shell asks by
// running the program with COMP_LINE set (posener/complete's protocol).

// completing reports whether a shell is asking for completions: COMP_LINE is
// set and names this program. bash exports COMP_LINE to the command it
// completes with, so another tool's completion that runs this helper must
// not get completions instead of an answer.
func completing(getenv config.Env) bool {
	line := getenv("COMP_LINE")
	first, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	return line != "" && strings.TrimSuffix(filepath.Base(first), ".exe") == programName
}

// complete answers the shell's completion request with the whole grammar.
func (a *app) complete() (code int) {
	defer exitFromPanic(&code)
	parser, err := kong.New(&cli{}, kong.Name(programName), kong.Writers(a.stdout, a.stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }))
	if err != nil {
		panic(fmt.Sprintf("the command grammar is wrong: %v", err))
	}
	kongplete.Complete(parser, kongplete.WithPredictor("profile", complete.PredictFunc(func(complete.Args) []string {
		return a.profileNames()
	})))
	return exitOK
}

// profileNames are the profiles a user can name: the config file's and
// "default".
func (a *app) profileNames() []string {
	cfg, err := a.loadConfig()
	if err != nil {
		return []string{config.DefaultProfile}
	}
	names := cfg.file.ProfileNames()
	for _, n := range names {
		if n == config.DefaultProfile {
			return names
		}
	}
	return append([]string{config.DefaultProfile}, names...)
}

// The scripts that hook the completion into each shell: the shell runs the
// program itself with COMP_LINE set. kongplete's own installer writes the
// hook of the login shell only, found through the user database, which is
// the wrong shell for a user who runs another; printing the hook lets the
// user source it in the shell at hand.
const (
	bashHook = "complete -C %[1]s %[1]s\n"
	zshHook  = "(( $+functions[compdef] )) || { autoload -Uz compinit && compinit }\n" +
		"autoload -U +X bashcompinit && bashcompinit\n" +
		"complete -C %[1]s %[1]s\n"
	fishHook = "function __complete_gcore_credential_helper\n" +
		"    set -lx COMP_LINE (commandline -cp)\n" +
		"    test -z (commandline -ct)\n" +
		"    and set COMP_LINE \"$COMP_LINE \"\n" +
		"    %[1]s\n" +
		"end\n" +
		"complete -f -c %[1]s -a \"(__complete_gcore_credential_helper)\"\n"
)

// Run prints the shell's hook.
func (c *completionCmd) Run(a *app) error {
	hook := map[string]string{"bash": bashHook, "zsh": zshHook, "fish": fishHook}[c.Shell]
	_, err := fmt.Fprintf(a.stdout, hook, programName)
	return err
}
