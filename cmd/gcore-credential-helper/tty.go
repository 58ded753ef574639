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

// errEmptyAnswer is a prompt answered with just Enter.
var errEmptyAnswer = errors.New("empty answer")

// errInterrupted is Ctrl-C (or SIGTERM) at a prompt: exit 130, as shells do.
var errInterrupted = errors.New("interrupted")

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
	// Ctrl-C while the terminal has echo off must restore it before exiting.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fd := int(in.Fd())
	restore := func() {}
	readPassword := false
	if !echo {
		undo, err := echoOff(fd)
		if err != nil {
			return "", fmt.Errorf("turn the terminal's echo off: %w", err)
		}
		if undo != nil {
			restore = undo
		} else {
			readPassword = true // term.ReadPassword handles echo itself
		}
		defer restore()
	}
	fmt.Fprint(out, prompt)
	type answer struct {
		line string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		if readPassword {
			b, err := term.ReadPassword(fd)
			done <- answer{string(b), err}
			return
		}
		line, err := bufio.NewReader(in).ReadString('\n')
		done <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		restore()
		fmt.Fprintln(out)
		return "", errInterrupted
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
			return "", errEmptyAnswer
		}
		return line, nil
	}
}
