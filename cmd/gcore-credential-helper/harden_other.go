//go:build !linux

package main

// harden does nothing outside Linux: PR_SET_DUMPABLE is Linux's, and the
// alternatives (a zero core limit) would be inherited by exec's command.
func harden() {}
