package main

import (
	"os"
	"os/exec"
)

// forwardedSignals are passed on to exec's child; Windows delivers only
// interrupts to a console process group.
func forwardedSignals() []os.Signal { return []os.Signal{os.Interrupt} }

// childStatus is the child's exit code.
func childStatus(err *exec.ExitError) int { return err.ExitCode() }
