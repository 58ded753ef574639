//go:build !windows

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// runChild replaces this process with the command. Nothing is left in
// between: a terminal's Ctrl-C, which goes to the whole process group,
// reaches the command once (a forwarding parent would deliver it twice, and
// a second interrupt makes Terraform abandon its state), signals sent to our
// pid reach it directly, and its exit status is the one the shell sees.
func runChild(_ *app, path string, argv, env []string) error {
	err := syscall.Exec(path, argv, env)
	code := 126
	if errors.Is(err, syscall.ENOENT) {
		code = 127
	}
	return &execError{code: code, err: fmt.Errorf("exec %s: %w", argv[0], err)}
}

// lookPathIn finds name as a shell does on path (the PATH exec's child will
// have): a name with a slash as it is, else the first executable of that
// name in path's directories. A file that exists but cannot be run is
// fs.ErrPermission, as opposed to exec.ErrNotFound.
func lookPathIn(name, path string) (string, error) {
	var candidates []string
	if strings.Contains(name, "/") {
		candidates = []string{name}
	} else {
		for _, dir := range filepath.SplitList(path) {
			if dir == "" {
				dir = "."
			}
			candidates = append(candidates, filepath.Join(dir, name))
		}
	}
	found := false
	for _, c := range candidates {
		fi, err := os.Stat(c)
		if err != nil {
			continue
		}
		found = true
		if fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return c, nil
		}
	}
	if found {
		return "", fmt.Errorf("%w: not an executable file", fs.ErrPermission)
	}
	return "", exec.ErrNotFound
}
