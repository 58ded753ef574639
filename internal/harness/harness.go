// Package harness runs the real gcore-credential-helper binary the way its callers do, as fresh
// processes, often many at once, and measures them. It owns building static test binaries, the
// isolated HOME/XDG sandbox they run in, starting and timing child processes (one, many behind a
// barrier, or alternating paired rounds) and summarising the timings. The end-to-end tests and
// `make bench` (the reference's performance targets) share it.
//
// Children get exactly the environment they are given, never the harness's own, so a test can
// neither read the developer's tokens nor write into their HOME. They run in a session of their
// own, without a controlling terminal, so nothing they do can prompt on /dev/tty.
//
// Peak RSS on Linux needs the launcher (internal/harness/launch, see Runner.Launcher): Go starts
// children with vfork, and the kernel carries the spawner's high-water RSS across exec into the
// child's ru_maxrss, so a child started directly reports at least the harness's own peak.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// waitDelay bounds how long Wait lingers for a child's output after it exited or was cancelled,
// in case it left a background process holding stdout open.
const waitDelay = 10 * time.Second

// Cmd is one child process to run.
type Cmd struct {
	Name  string   // label in reports and errors; defaults to Bin
	Bin   string   // program path, or a name looked up in the harness's PATH
	Args  []string // arguments after the program name
	Env   []string // the child's complete environment; nil means empty, never the harness's
	Stdin string   // fed to the child's stdin; empty means /dev/null
}

func (c Cmd) label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Bin
}

// Result is what one child process did.
type Result struct {
	Stdout, Stderr string
	// ExitCode is the child's exit status, or -1 when it did not exit normally.
	ExitCode int
	// Wall is the time from starting the child to reaping it.
	Wall time.Duration
	// MaxRSSKiB is the child's peak resident set size. Without a launcher on Linux it is at
	// least the harness's own peak (see the package comment).
	MaxRSSKiB int64
	// Err says why the child could not be started, did not exit normally or could not be
	// measured. A non-zero exit status alone is not an error: see Check.
	Err error
}

// Check returns nil when the child ran and exited 0, and otherwise an error with the exit
// status and the first line of its stderr.
func (r Result) Check() error {
	if r.Err != nil {
		return r.Err
	}
	if r.ExitCode == 0 {
		return nil
	}
	line, _, _ := strings.Cut(strings.TrimSpace(r.Stderr), "\n")
	if line == "" {
		return fmt.Errorf("exit status %d", r.ExitCode)
	}
	return fmt.Errorf("exit status %d: %s", r.ExitCode, line)
}

// Runner starts child processes. The zero Runner starts them directly.
type Runner struct {
	// Launcher is the path of the program built from internal/harness/launch (Linux only).
	// When set, every child is started through it, so MaxRSSKiB is the child's own peak (or the
	// launcher's, about 2 MiB, whichever is larger) and Wall is timed by that small, idle
	// process rather than by the harness.
	Launcher string
}

// Run runs c to completion. Cancelling ctx kills it.
func (r Runner) Run(ctx context.Context, c Cmd) Result {
	return r.prepare(ctx, c).run()
}

// RunParallel creates the n commands that cmd returns, then starts them all at once behind a
// barrier and waits for every one; result i belongs to cmd(i). Cancelling ctx kills them.
func (r Runner) RunParallel(ctx context.Context, n int, cmd func(i int) Cmd) []Result {
	procs := make([]*proc, n)
	for i := range procs {
		procs[i] = r.prepare(ctx, cmd(i))
	}
	results := make([]Result, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			<-gate
			results[i] = p.run()
		})
	}
	close(gate)
	wg.Wait()
	return results
}

// proc is a child process prepared but not yet started.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	report, writer *os.File // the launcher's report pipe; nil when started directly
	err            error    // preparation failed; the child will not be started
}

func (r Runner) prepare(ctx context.Context, c Cmd) *proc {
	p := &proc{name: c.label()}
	if r.Launcher == "" {
		p.cmd = exec.CommandContext(ctx, c.Bin, c.Args...)
	} else {
		// The launcher does not search PATH, so resolve the name here as exec.Command would.
		bin, err := exec.LookPath(c.Bin)
		if err != nil {
			p.err = fmt.Errorf("start %s: %w", p.name, err)
			return p
		}
		if p.report, p.writer, err = os.Pipe(); err != nil {
			p.err = fmt.Errorf("start %s: report pipe: %w", p.name, err)
			return p
		}
		// The pipe becomes the launcher's descriptor 3, the first after stdin, stdout, stderr.
		p.cmd = exec.CommandContext(ctx, r.Launcher, append([]string{"3", bin}, c.Args...)...)
		p.cmd.ExtraFiles = []*os.File{p.writer}
	}
	p.cmd.Env = c.Env
	if p.cmd.Env == nil {
		p.cmd.Env = []string{}
	}
	if c.Stdin != "" {
		p.cmd.Stdin = strings.NewReader(c.Stdin)
	}
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = waitDelay
	detach(p.cmd)
	return p
}

func (p *proc) run() Result {
	if p.err != nil {
		return Result{ExitCode: -1, Err: p.err}
	}
	if p.report != nil {
		defer p.report.Close()
	}
	start := time.Now()
	err := p.cmd.Start()
	if p.writer != nil {
		// Only the launcher may hold the write end, so the read below sees EOF when it exits.
		p.writer.Close()
	}
	if err != nil {
		return Result{ExitCode: -1, Err: fmt.Errorf("start %s: %w", p.name, err)}
	}
	waitErr := p.cmd.Wait()
	res := Result{
		Stdout:    p.stdout.String(),
		Stderr:    p.stderr.String(),
		ExitCode:  p.cmd.ProcessState.ExitCode(),
		Wall:      time.Since(start),
		MaxRSSKiB: maxRSSKiB(p.cmd.ProcessState),
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		res.Err = fmt.Errorf("wait for %s: %w", p.name, waitErr)
	}
	if p.report != nil {
		p.readReport(&res)
	}
	if res.Err == nil && res.ExitCode < 0 {
		res.Err = fmt.Errorf("%s did not exit normally: %v", p.name, p.cmd.ProcessState)
	}
	return res
}

// readReport replaces the launcher's own status and measurements in res with its child's.
func (p *proc) readReport(res *Result) {
	if res.Err != nil {
		return
	}
	line, err := io.ReadAll(p.report)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("launcher exit status %d", res.ExitCode)
	}
	var rep report
	if err == nil {
		rep, err = parseReport(string(line))
	}
	if err != nil {
		// The launcher's stderr, now in res.Stderr, says what went wrong.
		res.ExitCode = -1
		res.Err = fmt.Errorf("launch %s: %w", p.name, err)
		return
	}
	res.ExitCode, res.Wall, res.MaxRSSKiB = rep.status, rep.wall, rep.maxRSSKiB
	if rep.status < 0 {
		res.ExitCode = -1
		res.Err = fmt.Errorf("%s was killed by signal %d", p.name, -rep.status)
	}
}
