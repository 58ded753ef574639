// Package e2e holds the end-to-end tests of gcore-credential-helper: they build the real binary
// once (static, as released), run it as real processes in throwaway HOME/XDG sandboxes against
// the in-process fake Gcore IAM on 127.0.0.1, and count at the fake what those processes did.
//
// It owns the whole-product guarantees that no package test can show: single flight across
// processes (the reference's token engine, performance targets), bounded waits and the lock notice, crash safety of the store, the
// error-to-exit-code mapping through the CLI (the reference's exit codes), interactivity (the reference's prompts), that no
// secret reaches output or disk in the clear (the reference's security rules) and that the module installs with
// `go install …@version` (issue #12). Each test names the reference section or the issue
// requirement it guards. There is no non-test code here.
package e2e
