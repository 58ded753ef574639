package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/internal/kong"
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
	ctx     context.Context
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string   // the process environment, for exec's child
	getenv  config.Env // reads env
	now     func() time.Time
	globals Globals
}

// run is main without the process: tests call it in-process. env is the
// environment as os.Environ returns it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, environ: env, getenv: lookupEnv(env), now: time.Now}
	if p, ok := personaOf(args[0]); ok {
		return p.runPersona(a, args[1:])
	}
	if completing(a.getenv) {
		return a.complete()
	}
	if len(args) == 1 {
		// No command: the overview, as git and gh show it, and the exit
		// code of a usage mistake.
		if code := a.runCommandLine([]string{"--help"}); code != exitOK {
			return code
		}
		return exitUsage
	}
	return a.runCommandLine(args[1:])
}

// exitPanic carries the code kong exits with (after --help, --version)
// out of Parse, which must not end the process: run is called in-process.
type exitPanic int

// exitFromPanic, deferred, turns kong's exit into the code it carries; any
// other panic goes on.
func exitFromPanic(code *int) {
	if r := recover(); r != nil {
		c, ok := r.(exitPanic)
		if !ok {
			panic(r)
		}
		*code = int(c)
	}
}

// runCommandLine parses args with kong and runs the command.
func (a *app) runCommandLine(args []string) (code int) {
	defer exitFromPanic(&code)
	grammar := grammarFor(args)
	parser, kctx, err := a.parse(grammar, args)
	if _, whole := grammar.(*cli); err != nil && !whole {
		// Kong's own words, suggestions over every command included.
		grammar = &cli{}
		parser, kctx, err = a.parse(grammar, args)
	}
	if err != nil {
		return a.fail(usageFromParse(parser, err))
	}
	a.globals = reflect.ValueOf(grammar).Elem().Field(0).Interface().(Globals)
	if err := a.runSelected(kctx); err != nil {
		return a.fail(err)
	}
	return exitOK
}

// command is the Run method of every command but help.
type command interface{ Run(a *app) error }

// runSelected runs the command kong selected. kctx.Run would run the same
// method (TestCommandsRunAsKongWould holds the grammar to that): kong runs the
// Run of the selected command and of each command above it, of which the root
// has none, and then AfterRun hooks, which no command declares. Calling it
// directly spares a cache hit kong's reflective lookup of Run: for a method
// that exists, reflect builds its function type, searching every type in the
// program by name, about 0.2 ms in a fresh process.
func (a *app) runSelected(kctx *kong.Context) error {
	if node := kctx.Selected(); node != nil && node.Parent != nil && node.Parent.Parent == nil {
		if cmd, ok := node.Target.Addr().Interface().(command); ok {
			return cmd.Run(a)
		}
	}
	return kctx.Run(a)
}

// parse builds kong's parser for grammar and parses args.
func (a *app) parse(grammar any, args []string) (*kong.Kong, *kong.Context, error) {
	parser, err := kong.New(grammar,
		kong.Name(programName),
		kong.Description("Hands Gcore credentials to kubectl, docker, git, Terraform and scripts."),
		kong.Writers(a.stdout, a.stderr),
		kong.Exit(func(code int) { panic(exitPanic(code)) }),
		kong.Vars{"version": versionLine()},
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, WrapUpperBound: 100}),
	)
	if err != nil {
		panic(fmt.Sprintf("the command grammar is wrong: %v", err))
	}
	kctx, err := parser.Parse(args)
	return parser, kctx, err
}

// usageError is a mistake in how the command was called (exit 2).
type usageError struct {
	msg  string
	help string // the command whose help to point to; "" for the overview
	hint string // what to do instead, where one line says it better than the help
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// usageFromParse turns kong's parse error into a usage error that points to
// the help of the command it was parsing.
func usageFromParse(parser *kong.Kong, err error) error {
	var pe *kong.ParseError
	help := ""
	if errors.As(err, &pe) && pe.Context != nil {
		if node := pe.Context.Selected(); node != nil {
			help = node.FullPath()
			help = strings.TrimSpace(strings.TrimPrefix(help, parser.Model.Name))
		}
	}
	return &usageError{msg: err.Error(), help: help}
}

// versionLine is built without fmt: every command line gives it to kong, and
// fmt is otherwise not used by a cache hit.
func versionLine() string {
	return programName + " " + version + " (commit " + commit + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"
}

func (versionCmd) Run(a *app) error {
	_, err := fmt.Fprintln(a.stdout, versionLine())
	return err
}

// Run prints what `COMMAND --help` prints.
func (h *helpCmd) Run(a *app, kctx *kong.Context) error {
	traced, err := kong.Trace(kctx.Kong, h.Command)
	if err != nil {
		return err
	}
	if traced.Error != nil {
		return &usageError{msg: traced.Error.Error()}
	}
	return traced.PrintUsage(false)
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
