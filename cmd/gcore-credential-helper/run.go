package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

const programName = "gcore-credential-helper"

// app carries what every command needs: the process's streams and environment
// and the global flags.
type app struct {
	ctx            context.Context
	stdin          io.Reader
	stdout         io.Writer
	stderr         io.Writer
	env            []string   // the process environment, for exec's child
	getenv         config.Env // reads env
	now            func() time.Time
	profile        string // --profile
	nonInteractive bool   // --non-interactive
}

// run is main without the process: tests call it in-process. env is the
// environment as os.Environ returns it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, env: env, getenv: lookupEnv(env), now: time.Now}
	if p, ok := personaOf(args[0]); ok {
		return p.run(a, args[1:])
	}
	cmds := commands()
	in, err := parse(cmds, args[1:])
	if err != nil {
		return a.fail(err)
	}
	if in.on("help") || in.cmd == nil {
		writeUsage(stdout, cmds, in.cmd)
		if in.cmd == nil && !in.on("help") {
			return exitUsage
		}
		return exitOK
	}
	a.profile, a.nonInteractive = in.str("profile"), in.on("non-interactive")
	if err := in.cmd.run(a, in); err != nil {
		return a.fail(err)
	}
	return exitOK
}

// usageError is a mistake in how the command was called (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// lookupEnv reads env like os.Getenv: the last entry for a name wins.
func lookupEnv(env []string) config.Env {
	return func(name string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}
