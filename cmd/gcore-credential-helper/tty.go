package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/term"
)

// ttyPath is the controlling terminal. Prompts never use stdin or stdout: those
// carry the docker, git and kubectl protocols.
func ttyPath() (in, out string) {
	if runtime.GOOS == "windows" {
		return "CONIN$", "CONOUT$"
	}
	return "/dev/tty", "/dev/tty"
}

// ttyAvailable reports whether a terminal can be opened for a prompt.
func ttyAvailable() bool {
	in, _ := ttyPath()
	f, err := os.OpenFile(in, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// promptTTY asks on the terminal. Hidden input turns echo off and restores the
// terminal state on every exit, including Ctrl-C (which cancels ctx).
func promptTTY(ctx context.Context, prompt string, echo bool) (string, error) {
	inPath, outPath := ttyPath()
	in, err := os.OpenFile(inPath, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("open terminal: %w", err)
	}
	defer in.Close()
	out := in
	if outPath != inPath {
		if out, err = os.OpenFile(outPath, os.O_WRONLY, 0); err != nil {
			return "", fmt.Errorf("open terminal: %w", err)
		}
		defer out.Close()
	}
	fmt.Fprint(out, prompt)

	// Ctrl-C while the terminal has echo off must restore it before exiting.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fd := int(in.Fd())
	var restore func()
	if !echo {
		state, err := term.GetState(fd)
		if err != nil {
			return "", fmt.Errorf("read terminal state: %w", err)
		}
		restore = func() { _ = term.Restore(fd, state) }
		defer restore()
	}
	type answer struct {
		line string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		if echo {
			line, err := bufio.NewReader(in).ReadString('\n')
			done <- answer{line, err}
			return
		}
		b, err := term.ReadPassword(fd)
		done <- answer{string(b), err}
	}()
	select {
	case <-ctx.Done():
		if restore != nil {
			restore()
		}
		fmt.Fprintln(out)
		return "", ctx.Err()
	case ans := <-done:
		if !echo {
			fmt.Fprintln(out)
		}
		if ans.err != nil && ans.line == "" {
			return "", fmt.Errorf("read terminal: %w", ans.err)
		}
		line := ans.line
		for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
			line = line[:len(line)-1]
		}
		if line == "" {
			return "", errors.New("empty answer")
		}
		return line, nil
	}
}
