package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

// runChild runs the command and waits for it; Windows cannot replace a
// process. Ctrl-C reaches every process of the console, the command
// included, so it is not forwarded: the helper only survives it to report
// the command's exit code.
func runChild(a *app, path string, argv, env []string) error {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, a.stdin, a.stdout, a.stderr
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitStatus(exitErr.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	return nil
}

// lookPathIn finds name on path; Windows' rules (PATHEXT) are exec's.
func lookPathIn(name, _ string) (string, error) { return exec.LookPath(name) }
