package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// The crash loops of issue #5 item 3.
const (
	// minKills is how many processes each loop must see die of SIGKILL.
	minKills = 200
	// maxAttempts caps a loop that somehow cannot kill often enough; reaching it fails the test.
	maxAttempts = 5 * minKills
	// A loop measures a process's life by running it uninterrupted: calibrationRuns times
	// first, then once every recalibrateEvery runs, as the machine's load changes. Kill delays
	// follow the median of the latest calibrationWindow such runs.
	calibrationRuns   = 3
	recalibrateEvery  = 20
	calibrationWindow = 5
	// crashLockTimeout is the profile's lock_timeout in the crash loops: a lock left held by a
	// killed process would fail the next run within 10 s instead of hanging the test.
	crashLockTimeout = `lock_timeout = "10s"`
)

// killLoop runs one command again and again, killing it at a random point of its life, until
// minKills runs have really died of the signal.
type killLoop struct {
	w     *world
	env   []string
	args  []string
	rng   *rand.Rand
	walls []time.Duration // of the uninterrupted runs, the latest last
	// What happened, for the report.
	kills, completions, unstarted int
	minSpan, maxSpan              time.Duration
	start                         time.Time
}

// attempt is one run of a killLoop's command.
type attempt struct {
	n      int           // 0-based
	delay  time.Duration // kill delay; 0 for an uninterrupted run
	res    harness.Result
	killed bool // died of SIGKILL
	iam    *fakeiam.Server
	before map[fakeiam.Endpoint]int // the fake's counters when the run started
	reuse  int                      // the fake's count of spent refresh tokens sent again, then
}

// since returns how many calls e received since the run started, including those of processes
// run after it so far.
func (a attempt) since(e fakeiam.Endpoint) int { return a.iam.Calls(e) - a.before[e] }

// newKillLoop prepares a loop that runs the helper with args and the sandbox environment plus
// env. The seed of its kill delays is logged, so a failure can be replayed.
func (w *world) newKillLoop(env []string, args ...string) *killLoop {
	seed := rand.Uint64()
	w.t.Logf("%s: kill delays drawn with seed %d", strings.Join(args, " "), seed)
	return &killLoop{w: w, env: env, args: args, rng: rand.New(rand.NewPCG(seed, 0))}
}

// run runs the command until minKills runs died of SIGKILL. Kill delays are drawn uniformly
// from [0, span], span being 1.2 × an uninterrupted run, so kills land anywhere from before
// exec to after a normal exit. It calls check after every run, killed or not, for the
// operation's own assertions; check runs the process that follows a kill (see next). A run
// that neither exits 0 nor dies of the kill fails the test.
func (l *killLoop) run(check func(a attempt)) {
	t := l.w.t
	t.Helper()
	l.start = time.Now()
	for n := 0; l.kills < minKills; n++ {
		if n == maxAttempts {
			t.Fatalf("%s: only %d of %d runs died of SIGKILL (%d completed, %d killed before they started), want %d",
				l.name(), l.kills, n, l.completions, l.unstarted, minKills)
		}
		a := attempt{n: n, iam: l.w.iam, before: map[fakeiam.Endpoint]int{}, reuse: l.w.iam.RefreshReuse()}
		for _, e := range []fakeiam.Endpoint{fakeiam.Login, fakeiam.Refresh} {
			a.before[e] = l.w.iam.Calls(e)
		}
		uninterrupted := n < calibrationRuns || n%recalibrateEvery == 0
		if !uninterrupted {
			span := l.span()
			l.minSpan, l.maxSpan = min(cmp.Or(l.minSpan, span), span), max(l.maxSpan, span)
			a.delay = time.Duration(l.rng.Int64N(int64(span) + 1))
		}
		a.res = l.runOnce(!uninterrupted, a.delay)
		a.killed = killedBySignal(a.res)
		switch {
		case a.killed:
			l.kills++
		case a.res.ExitCode == 0:
			// Also when the kill came just after the exit, and Err says the deadline passed.
			l.completions++
			if uninterrupted {
				l.walls = append(l.walls, a.res.Wall)
			}
		case a.res.ExitCode == -1 && errors.Is(a.res.Err, context.DeadlineExceeded):
			// The delay ran out before the process could be started: nothing ran.
			l.unstarted++
			continue
		default:
			t.Fatalf("%s: run %d (kill after %v) neither finished nor was killed: exit %d (%v)\nstderr:\n%s",
				l.name(), n, a.delay, a.res.ExitCode, a.res.Err, a.res.Stderr)
		}
		check(a)
	}
}

// span is 1.2 × the median wall time of the latest uninterrupted runs.
func (l *killLoop) span() time.Duration {
	latest := slices.Clone(l.walls[max(0, len(l.walls)-calibrationWindow):])
	slices.Sort(latest)
	return latest[len(latest)/2] * 6 / 5
}

// runOnce runs the command, killing it after delay when kill is set.
func (l *killLoop) runOnce(kill bool, delay time.Duration) harness.Result {
	ctx := l.w.t.Context()
	if kill {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, delay)
		defer cancel()
	}
	return harness.Runner{}.Run(ctx, l.w.cmd(l.env, l.args...))
}

func (l *killLoop) name() string { return strings.Join(l.args, " ") }

// next runs the process that follows a kill, with env and args. It must succeed at once: the
// store reads, and the lock is free (no "waiting for another" notice).
func (l *killLoop) next(a attempt, env []string, args ...string) harness.Result {
	t := l.w.t
	t.Helper()
	res := l.w.run(env, args...)
	if res.ExitCode != 0 || strings.Contains(res.Stderr, "waiting for another") {
		t.Fatalf("%s after run %d (killed=%v after %v): exit %d in %v (%v)\nstderr:\n%s",
			strings.Join(args, " "), a.n, a.killed, a.delay, res.ExitCode, res.Wall, res.Err, res.Stderr)
	}
	return res
}

// report logs the loop's counts in a form a reader can quote.
func (l *killLoop) report(extra string) {
	l.w.t.Helper()
	l.w.t.Logf("%s: %d kills, %d completions, %d killed before start (kill delays in [0, %v…%v]); "+
		"%d login and %d refresh calls in all; %s; %v",
		l.name(), l.kills, l.completions, l.unstarted, l.minSpan.Round(time.Microsecond), l.maxSpan.Round(time.Microsecond),
		l.w.iam.Calls(fakeiam.Login), l.w.iam.Calls(fakeiam.Refresh), extra, time.Since(l.start).Round(time.Millisecond))
}

// killedBySignal reports whether res is a process that died of SIGKILL, as opposed to one
// that exited, or one that was never started because its deadline passed first.
func killedBySignal(res harness.Result) bool {
	return res.ExitCode == -1 && res.Err != nil && strings.HasSuffix(res.Err.Error(), "signal: killed")
}

// sessionStatus is the part of a status --json row the crash loops read.
type sessionStatus struct {
	LoggedIn   bool      `json:"logged_in"`
	RefreshExp time.Time `json:"refresh_expires_at"`
	Error      string    `json:"error"`
}

// status runs status --json, which reads the store without taking the lock, and returns its
// one row, failing the test unless there is exactly one, without error.
func (w *world) status() sessionStatus {
	w.t.Helper()
	var rows []sessionStatus
	if err := json.Unmarshal([]byte(w.ok(nil, "status", "--json")), &rows); err != nil {
		w.t.Fatalf("status --json: %v", err)
	}
	if len(rows) != 1 || rows[0].Error != "" {
		w.t.Fatalf("status --json = %+v, want one profile without error", rows)
	}
	return rows[0]
}

// checkOneSession fails the test unless status --json shows one logged-in profile without
// error, and IAM was sent no more spent refresh tokens than allowed: a token is tried once
// more only after a process died between sending it and storing the new pair.
func (w *world) checkOneSession(allowedReuse int) {
	w.t.Helper()
	if !w.status().LoggedIn {
		w.t.Error("status after the kills shows no session, want one")
	}
	if got := w.iam.RefreshReuse(); got > allowedReuse {
		w.t.Errorf("%d spent refresh tokens were sent again, want at most %d", got, allowedReuse)
	}
}
