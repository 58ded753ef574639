// Command gcore-credential-helper hands Gcore credentials to other tools: it
// logs in to Gcore IAM, keeps the tokens encrypted, refreshes them before they
// go stale, and answers each caller in its own protocol.
//
// This package is the only place that touches os.Args, os.Exit, the process
// environment, stdin/stdout and the terminal; everything else receives them.
package main

import (
	"context"
	"os"
)

// main installs no signal handlers: a cache hit must cost no more than
// process start, and the default action (exit) is safe everywhere except
// while a hidden prompt has the terminal, which promptTTY handles itself.
// Locks are released by the kernel and every write is an atomic rename.
func main() {
	harden()
	os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}
