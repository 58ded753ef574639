//go:build !windows

package main

import (
	"fmt"
	"syscall"
)

// runChild replaces this process with the command. Nothing is left in
// between: a terminal's Ctrl-C, which goes to the whole process group,
// reaches the command once (a forwarding parent would deliver it twice, and
// a second interrupt makes Terraform abandon its state), signals sent to our
// pid reach it directly, and its exit status is the one the shell sees.
func runChild(_ *app, path string, argv, env []string) error {
	err := syscall.Exec(path, argv, env)
	return fmt.Errorf("exec %s: %w", argv[0], err)
}
