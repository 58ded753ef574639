// Command bench measures the reference's performance targets with real processes, in one run,
// against the fake IAM served in-process on 127.0.0.1: cache-hit cost next to a baseline Go
// binary and our own `version`, the refresh and login storms, and a cache hit while another
// process is stuck refreshing. It prints every figure next to its target and exits 1 if any
// target is missed, after printing everything. `make bench` runs it (go run ./bench).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
	"github.com/G-Core/gcore-credential-helper/internal/testkeyring"
)

// The targets, as docs/reference.md (Performance targets) sets them.
const (
	maxRatioToBaseline = 2.0
	maxRatioToVersion  = 1.2
	maxPeakRSSKiB      = 8 << 10
	maxHitSlowdown     = 2.0 // a hit during someone else's refresh, against a normal hit
	minRounds          = 30
	// defaultCopies is how many byte-identical copies of the helper and of the baseline the
	// paired runs take turns with. On the machine the targets were set on, two copies of one
	// binary measured up to 1 ms (0.15× the baseline) apart, consistently over hundreds of runs:
	// where the page cache happens to hold the file matters that much. A single copy reports
	// that luck as if it were the code's cost; several copies average it out.
	defaultCopies = 3
)

const (
	email    = "demo@example.com"
	password = "bench password, not a secret"
	// staleLogin is how far back the fake's clock goes for the refresh storm's login: the
	// access token (1 h) then has 2 minutes left, inside the default 5 m min_ttl, while the
	// refresh token stays good.
	staleLogin   = 58 * time.Minute
	refreshDelay = 2 * time.Second
	hitsInFlight = 20
	// refreshWait bounds the wait for the delayed refresh to reach the fake.
	refreshWait = 1500 * time.Millisecond
	benchLimit  = 15 * time.Minute
	execInfoV1  = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	rounds, storm, copies int
	bin, baseline         string
	seed                  uint64
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", 60, "measured paired rounds (at least 30), after warm-up")
	fs.IntVar(&o.storm, "storm", 50, "processes started at once in each storm")
	fs.IntVar(&o.copies, "copies", defaultCopies, "copies of each binary the paired runs take turns with")
	fs.StringVar(&o.bin, "bin", "", "prebuilt gcore-credential-helper (default: build it static)")
	fs.StringVar(&o.baseline, "baseline", "", "prebuilt baseline (default: build ./bench/baseline static)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the paired runs' shuffled order")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.rounds < minRounds:
		return o, fmt.Errorf("-rounds %d: the reference's performance targets asks for at least %d", o.rounds, minRounds)
	case o.copies < 1 || o.copies > o.rounds:
		return o, fmt.Errorf("-copies %d: want between 1 and -rounds (%d)", o.copies, o.rounds)
	case o.storm < 2:
		return o, fmt.Errorf("-storm %d: a storm needs at least 2 processes", o.storm)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, benchLimit)
	defer cancel()
	ok, err := bench(ctx, o, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

// bench sets everything up, runs every measurement and prints the results. It reports whether
// every target was met; an error means the benchmark itself could not run.
func bench(ctx context.Context, o options, out io.Writer) (bool, error) {
	if runtime.GOOS != "linux" {
		return false, errors.New("peak RSS is measured through internal/harness/launch, which needs Linux")
	}
	work, err := os.MkdirTemp("", "gcore-bench-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(work)

	b := &suite{out: out, work: work, rounds: o.rounds, storm: o.storm, copies: o.copies, rng: rand.New(rand.NewPCG(o.seed, 0))}
	defer b.forgetStoreKeys()
	defer b.cleanup()
	if err := b.binaries(ctx, o); err != nil {
		return false, err
	}
	stopIAM, err := b.startIAM(ctx)
	if err != nil {
		return false, err
	}
	defer stopIAM()
	if b.sb, err = b.sandbox("main"); err != nil {
		return false, err
	}
	login := b.helper("login", b.sb.Env("GCORE_PASSWORD="+password), "login")
	if err := b.direct.Run(ctx, login).Check(); err != nil {
		return false, fmt.Errorf("gcore-credential-helper login: %w", err)
	}
	if err := b.desktopSandbox(ctx); err != nil {
		fmt.Fprintf(out, "desktop: %v\n", err)
		b.expect(false, "secret service: a desktop session to measure", "none", "gnome-keyring under dbus-run-session")
	}

	fmt.Fprintf(out, "helper:   %s\nbaseline: %s\nfake IAM: %s\n", b.bin, b.baseline, b.url)
	phases := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"cache hits, paired with the baseline", b.paired},
		{"a cache hit while another process refreshes", b.hitUnderRefresh},
		{fmt.Sprintf("%d processes at once on an expired access token, half with another XDG_CACHE_HOME", b.storm), b.refreshStorm},
		{fmt.Sprintf("%d processes at once with no session, half with another XDG_CACHE_HOME", b.storm), b.loginStorm},
	}
	for _, p := range phases {
		fmt.Fprintf(out, "\n== %s\n", p.name)
		if err := p.fn(ctx); err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			b.expect(false, p.name, "error", "runs")
		}
	}
	return b.report(), nil
}

// suite holds what the phases share.
type suite struct {
	out                   io.Writer
	work                  string // temporary directory for binaries and sandboxes
	rounds, storm, copies int
	rng                   *rand.Rand

	bin, baseline string
	direct        harness.Runner // starts processes itself: closest to simultaneous
	meter         harness.Runner // through the launcher: true peak RSS

	iam    *fakeiam.Server
	url    string
	offset atomic.Int64 // the fake's clock minus real time
	sb     *harness.Sandbox
	all    []*harness.Sandbox // every sandbox made, for cleanup

	desktop    *harness.Sandbox // whose store's key a real Secret Service keeps; nil when none runs
	desktopEnv []string         // reaches that Secret Service
	cleanups   []func()         // of the Secret Service, run when the bench ends
	normalHit  time.Duration    // median of `get --format token` in the paired runs
	checks     []check
}

// The bench is the Scope of the Secret Service it starts (testkeyring.Scope).
func (b *suite) Helper() {}

func (b *suite) TempDir() string {
	dir, err := os.MkdirTemp(b.work, "keyring-")
	if err != nil {
		panic(err)
	}
	return dir
}

func (b *suite) Cleanup(f func()) { b.cleanups = append(b.cleanups, f) }

func (b *suite) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

// desktopSandbox sets up what most kubectl users have (the reference's performance targets, issue #9): a desktop session
// with a real Secret Service (gnome-keyring under dbus-run-session) and `backend = "auto"`, no
// passphrase anywhere, logged in. Its hits are measured next to the file store's.
func (b *suite) desktopSandbox(ctx context.Context) error {
	ss, err := testkeyring.StartSecretService(b)
	if err != nil {
		return err
	}
	sb, err := b.sandbox("desktop")
	if err != nil {
		return err
	}
	if err := sb.WriteConfig(fmt.Sprintf("[profiles.default]\nbase_url = %q\nusername = %q\nbackend = \"auto\"\n", b.url, email)); err != nil {
		return err
	}
	b.desktopEnv = append(ss.Env(), "GCORE_KEYRING_PASSPHRASE=")
	login := b.helper("login", sb.Env(append(b.desktopEnv, "GCORE_PASSWORD="+password)...), "login")
	if err := b.direct.Run(ctx, login).Check(); err != nil {
		return fmt.Errorf("login on the desktop: %w", err)
	}
	status := b.direct.Run(ctx, b.helper("status", sb.Env(b.desktopEnv...), "status", "--json"))
	if err := status.Check(); err != nil || !strings.Contains(status.Stdout, `"guardian": "secret-service"`) {
		return fmt.Errorf("the desktop store is not guarded by the Secret Service: %v\n%s", err, status.Stdout)
	}
	b.desktop = sb
	return nil
}

// check is one figure next to its target (the reference's performance targets).
type check struct {
	name, got, target string
	ok                bool
}

func (b *suite) expect(ok bool, name, got, target string) {
	b.checks = append(b.checks, check{name: name, got: got, target: target, ok: ok})
}

func (b *suite) binaries(ctx context.Context, o options) error {
	builds := &harness.Builder{Dir: b.work}
	build := func(given, pkg string) (string, error) {
		if given != "" {
			return filepath.Abs(given)
		}
		return builds.Build(ctx, pkg)
	}
	var err error
	if b.bin, err = build(o.bin, harness.HelperPackage); err != nil {
		return err
	}
	if b.baseline, err = build(o.baseline, harness.BaselinePackage); err != nil {
		return err
	}
	launcher, err := builds.Build(ctx, harness.LauncherPackage)
	b.meter = harness.Runner{Launcher: launcher}
	return err
}

// startIAM serves a fake IAM with the bench user on a fresh loopback port until stop is called.
func (b *suite) startIAM(ctx context.Context) (stop func(), err error) {
	b.iam, err = fakeiam.New(fakeiam.Config{
		Now: func() time.Time { return time.Now().Add(time.Duration(b.offset.Load())) },
	})
	if err != nil {
		return nil, fmt.Errorf("start fake IAM: %w", err)
	}
	b.iam.AddUser(fakeiam.User{
		Email:    email,
		Password: password,
		UserID:   1001,
		Accounts: []fakeiam.Account{{ID: 2001, Name: "Bench Ltd"}},
		Groups:   []fakeiam.Group{{ID: 1, Name: "Administrators"}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start fake IAM: %w", err)
	}
	// Request contexts derive from srvCtx, so stopping releases a handler still in a delay.
	srvCtx, cancel := context.WithCancel(ctx)
	srv := &http.Server{
		Handler:           b.iam,
		BaseContext:       func(net.Listener) context.Context { return srvCtx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	b.url = "http://" + ln.Addr().String()
	return func() {
		cancel()
		srv.Close()
	}, nil
}

// sandbox makes a sandbox, in a new directory of that name, whose default profile logs in to
// the fake IAM.
func (b *suite) sandbox(name string) (*harness.Sandbox, error) {
	dir := filepath.Join(b.work, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	sb, err := harness.NewSandbox(dir)
	if err != nil {
		return nil, err
	}
	b.all = append(b.all, sb)
	return sb, sb.WriteConfig(fmt.Sprintf("[profiles.default]\nbase_url = %q\nusername = %q\nbackend = \"file\"\nallowed_hosts = [%q]\n", b.url, email, registryHost))
}

// forgetStoreKeys drops the sandboxes' store keys from the kernel keyring.
func (b *suite) forgetStoreKeys() {
	for _, sb := range b.all {
		_ = sb.ForgetStoreKey()
	}
}

func (b *suite) helper(name string, env []string, args ...string) harness.Cmd {
	return harness.Cmd{Name: name, Bin: b.bin, Args: args, Env: env}
}

// registryHost is an allowed host, so docker get answers with the token.
const registryHost = "registry.example.com"

func (b *suite) paired(ctx context.Context) error {
	// The rounds are shared out among the copies; each copy's share runs after its own warm-up.
	perCopy := (b.rounds + b.copies - 1) / b.copies
	var rep harness.Report
	for k := range b.copies {
		bin, baseline, err := b.copyBinaries(k)
		if err != nil {
			return err
		}
		cmds, err := b.hitCommands(bin, baseline)
		if err != nil {
			return err
		}
		part, err := b.meter.Paired(ctx, perCopy, b.rng, cmds)
		if err != nil {
			return err
		}
		rep.Names, rep.Runs = part.Names, append(rep.Runs, part.Runs...)
	}
	fmt.Fprintf(b.out, "%d rounds, %d on each of %d copies of both binaries after %d warm-up rounds; order shuffled every round; ratios are medians of per-round ratios\n",
		len(rep.Runs), perCopy, b.copies, harness.WarmupRounds)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "command\tmedian\tp90\t× baseline\t× version\tpeak RSS")
	for _, name := range rep.Names {
		st := rep.Stat(name)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.2f\t%s\n", name, ms(st.Median), ms(st.P90),
			rep.Ratio(name, "baseline"), rep.Ratio(name, "version"), mib(st.MaxRSSKiB))
	}
	tw.Flush()

	for _, name := range rep.Names[2:] { // the cache hits, after baseline and version
		vsBase, vsVersion, rss := rep.Ratio(name, "baseline"), rep.Ratio(name, "version"), rep.Stat(name).MaxRSSKiB
		b.expect(vsBase <= maxRatioToBaseline, name+": median ÷ baseline", times(vsBase), "≤ "+times(maxRatioToBaseline))
		b.expect(vsVersion <= maxRatioToVersion, name+": median ÷ version", times(vsVersion), "≤ "+times(maxRatioToVersion))
		b.expect(rss <= maxPeakRSSKiB, name+": peak RSS", mib(rss), "≤ "+mib(maxPeakRSSKiB))
	}
	b.normalHit = rep.Stat("get --format token").Median
	return nil
}

// hitCommands are the paired runs' commands, with bin as the helper and baseline as the baseline.
func (b *suite) hitCommands(bin, baseline string) ([]harness.Cmd, error) {
	helper := func(name string, env []string, args ...string) harness.Cmd {
		return harness.Cmd{Name: name, Bin: bin, Args: args, Env: env}
	}
	cmds := []harness.Cmd{
		{Name: "baseline", Bin: baseline},
		helper("version", b.sb.Env(), "version"),
		helper("get", b.sb.Env(), "get"),
		helper("get --format token", b.sb.Env(), "get", "--format", "token"),
	}
	// The persona is chosen by argv[0]: a link of that name beside this copy.
	docker := harness.Cmd{Name: "docker get", Bin: filepath.Join(filepath.Dir(bin), "docker-credential-gcore"),
		Args: []string{"get"}, Env: b.sb.Env(), Stdin: "https://" + registryHost}
	if err := os.Symlink(filepath.Base(bin), docker.Bin); err != nil {
		return nil, err
	}
	cmds = append(cmds, helper("kube (v1)", b.sb.Env("KUBERNETES_EXEC_INFO="+execInfoV1), "kube"), docker)
	if b.desktop != nil {
		cmds = append(cmds,
			helper("get, secret service", b.desktop.Env(b.desktopEnv...), "get", "--format", "token"),
			helper("kube, secret service", b.desktop.Env(append(b.desktopEnv, "KUBERNETES_EXEC_INFO="+execInfoV1)...), "kube"))
	}
	return cmds, nil
}

// copyBinaries makes copy k of the helper and of the baseline in a directory of its own (the
// helper keeps its name, which picks its persona). They are copied as cp copies a binary into
// place. How a file was written decides how the page cache holds it, and so what starting it
// costs: written in one write call, the helper started 1.2 ms faster here than when copied by
// cp or written by the linker, which measured alike (read back from disk, it was slower
// still). The bench measures what an installed binary costs, not that.
func (b *suite) copyBinaries(k int) (bin, baseline string, err error) {
	dir := filepath.Join(b.work, fmt.Sprintf("copy-%d", k+1))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", "", err
	}
	bin, baseline = filepath.Join(dir, filepath.Base(b.bin)), filepath.Join(dir, filepath.Base(b.baseline))
	for src, dst := range map[string]string{b.bin: bin, b.baseline: baseline} {
		if err := harness.CopyExecutable(src, dst); err != nil {
			return "", "", err
		}
	}
	return bin, baseline, nil
}

func (b *suite) hitUnderRefresh(ctx context.Context) error {
	if b.normalHit == 0 {
		return errors.New("no normal cache hit to compare with: the paired runs failed")
	}
	b.iam.Inject(fakeiam.Refresh, fakeiam.Fault{Delay: refreshDelay, Times: 1})
	defer b.iam.ClearFaults()
	before := b.iam.Calls(fakeiam.Refresh)
	done := make(chan harness.Result, 1)
	go func() {
		done <- b.direct.Run(ctx, b.helper("get --refresh", b.sb.Env(), "get", "--refresh", "--format", "token"))
	}()
	// Start hitting only once the refresh has reached the fake, so every hit overlaps it.
	waited := time.Now()
	for b.iam.Calls(fakeiam.Refresh) == before {
		select {
		case res := <-done:
			return fmt.Errorf("get --refresh ended before refreshing: %v", res.Check())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(waited) > refreshWait {
			<-done
			return fmt.Errorf("get --refresh did not call refresh within %v", refreshWait)
		}
	}
	hit := b.helper("get --format token", b.sb.Env(), "get", "--format", "token")
	hits := make([]harness.Result, hitsInFlight)
	for i := range hits {
		hits[i] = b.meter.Run(ctx, hit)
		if err := hits[i].Check(); err != nil {
			<-done
			return fmt.Errorf("cache hit %d during the refresh: %w", i+1, err)
		}
	}
	// Still unanswered means the refresh outlasted every hit: none of them waited for it.
	overlapped := len(done) == 0
	if err := (<-done).Check(); err != nil {
		return fmt.Errorf("get --refresh: %w", err)
	}
	st := harness.Summarize(hits)
	slowdown := float64(st.Median) / float64(b.normalHit)
	fmt.Fprintf(b.out, "%d hits during a %v refresh: median %s, p90 %s, slowest %s; normal hit median %s\n",
		hitsInFlight, refreshDelay, ms(st.Median), ms(st.P90), ms(st.Max), ms(b.normalHit))
	b.expect(overlapped, "hit during refresh: all answered before it ended", yesNo(overlapped), "yes")
	b.expect(slowdown <= maxHitSlowdown, "hit during refresh: median ÷ normal hit", times(slowdown), "≤ "+times(maxHitSlowdown))
	return nil
}

func (b *suite) refreshStorm(ctx context.Context) error {
	// Log in "58 minutes ago" so the stored access token is stale by real time, without
	// touching the helper's cache.
	b.offset.Store(int64(-staleLogin))
	res := b.direct.Run(ctx, b.helper("login", b.sb.Env("GCORE_PASSWORD="+password), "login"))
	b.offset.Store(0)
	if err := res.Check(); err != nil {
		return fmt.Errorf("login with the fake's clock %v back: %w", staleLogin, err)
	}
	refreshes, reuse := b.iam.Calls(fakeiam.Refresh), b.iam.RefreshReuse()
	// Half the processes have a cache directory of their own: the lock lives with the store.
	otherCache := "XDG_CACHE_HOME=" + b.TempDir()
	results := b.direct.RunParallel(ctx, b.storm, func(i int) harness.Cmd {
		if i%2 == 1 {
			return b.helper("get --format token", b.sb.Env(otherCache), "get", "--format", "token")
		}
		return b.helper("get --format token", b.sb.Env(), "get", "--format", "token")
	})
	b.stormChecks("refresh storm", results, "refresh calls", b.iam.Calls(fakeiam.Refresh)-refreshes)
	reused := b.iam.RefreshReuse() - reuse
	b.expect(reused == 0, "refresh storm: refresh tokens used twice", fmt.Sprint(reused), "= 0")
	return nil
}

func (b *suite) loginStorm(ctx context.Context) error {
	sb, err := b.sandbox("login-storm")
	if err != nil {
		return err
	}
	logins := b.iam.Calls(fakeiam.Login)
	otherCache := "XDG_CACHE_HOME=" + b.TempDir()
	results := b.direct.RunParallel(ctx, b.storm, func(i int) harness.Cmd {
		if i%2 == 1 {
			return b.helper("get --format token", sb.Env("GCORE_PASSWORD="+password, otherCache), "get", "--format", "token")
		}
		return b.helper("get --format token", sb.Env("GCORE_PASSWORD="+password), "get", "--format", "token")
	})
	b.stormChecks("login storm", results, "login calls", b.iam.Calls(fakeiam.Login)-logins)
	return nil
}

// stormChecks expects exactly one call of the kind counted, no failed process and a single
// token shared by all.
func (b *suite) stormChecks(storm string, results []harness.Result, counted string, calls int) {
	failures, tokens := 0, map[string]bool{}
	var firstErr error
	for _, r := range results {
		if err := r.Check(); err != nil {
			failures++
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		tokens[strings.TrimSpace(r.Stdout)] = true
	}
	st := harness.Summarize(results)
	fmt.Fprintf(b.out, "%d processes: median %s, p90 %s, slowest %s\n", len(results), ms(st.Median), ms(st.P90), ms(st.Max))
	if firstErr != nil {
		fmt.Fprintf(b.out, "first failure: %v\n", firstErr)
	}
	b.expect(calls == 1, storm+": "+counted, fmt.Sprint(calls), "= 1")
	b.expect(failures == 0, storm+": failed processes", fmt.Sprint(failures), "= 0")
	b.expect(len(tokens) == 1, storm+": distinct tokens", fmt.Sprint(len(tokens)), "= 1")
}

// report prints every check and says whether all passed.
func (b *suite) report() bool {
	fmt.Fprintf(b.out, "\n== targets (docs/reference.md, Performance targets)\n")
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', 0)
	all := true
	for _, c := range b.checks {
		verdict := "PASS"
		if !c.ok {
			verdict, all = "FAIL", false
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.name, c.got, c.target, verdict)
	}
	tw.Flush()
	if all {
		fmt.Fprintln(b.out, "all targets met")
	} else {
		fmt.Fprintln(b.out, "some targets missed")
	}
	return all
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
func mib(kib int64) string      { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
func times(x float64) string    { return fmt.Sprintf("%.2f×", x) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
