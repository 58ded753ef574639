package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// helperBin is the gcore-credential-helper binary under test, built once by TestMain.
var helperBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gcore-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if helperBin, err = (&harness.Builder{Dir: dir}).Build(ctx, harness.HelperPackage); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// The fake's users. Every secret is distinctive so that a leak is found by a plain substring
// search and nothing else (a duration, a fingerprint) can match it by chance.
const (
	email       = "user@example.com"
	password    = "e2e-password-Vq8kZ-not-a-secret"
	otpEmail    = "otp@example.com"
	otp         = "otp-5518-e2e-not-a-secret"
	passwordEnv = "GCORE_PASSWORD=" + password
	otpEnv      = "GCORE_OTP=" + otp
)

const (
	firstAccount  = 1001 // where a login lands
	secondAccount = 1002 // reachable by an account switch
	// staleLogin is how far back the fake's clock goes for a "stale" login: the access token
	// (1 h) then has 2 minutes left, inside the default 5-minute min_ttl, while the refresh
	// token stays good. The helper's cache is never touched.
	staleLogin = 58 * time.Minute
	// waitLimit bounds every poll for something a child process is about to do.
	waitLimit = 15 * time.Second
)

// world is one test's fake Gcore IAM and sandbox: everything a run of the real binary touches.
type world struct {
	t      *testing.T
	iam    *fakeiam.Server
	url    string
	sb     *harness.Sandbox
	offset atomic.Int64 // the fake's clock minus real time

	mu     sync.Mutex
	issued []tokenPair // every pair the fake handed out, in order
}

// tokenPair is a login, refresh or account-switch answer.
type tokenPair struct {
	Refresh, Access string
	Path            string `json:"-"` // of the request it answered
}

// newWorld starts a fake IAM (with the user email and the 2FA user otpEmail, both in accounts
// firstAccount and secondAccount) behind middleware mw, the innermost first, and makes an empty
// sandbox. Everything is torn down when the test ends.
func newWorld(t *testing.T, mw ...func(http.Handler) http.Handler) *world {
	t.Helper()
	w := &world{t: t}
	sb, err := harness.NewSandbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.sb = sb
	// The helper keeps the store's unlocked key in the kernel keyring, which outlives the sandbox.
	t.Cleanup(func() {
		if err := sb.ForgetStoreKey(); err != nil {
			t.Errorf("forget the store key: %v", err)
		}
	})
	w.iam, err = fakeiam.New(fakeiam.Config{
		Now: func() time.Time { return time.Now().Add(time.Duration(w.offset.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []fakeiam.User{
		{Email: email, Password: password, UserID: 1},
		{Email: otpEmail, Password: password, OTP: otp, UserID: 2},
	} {
		u.Accounts = []fakeiam.Account{{ID: firstAccount, Name: "First Ltd"}, {ID: secondAccount, Name: "Second Ltd"}}
		u.Groups = []fakeiam.Group{{ID: 1, Name: "Administrators"}}
		w.iam.AddUser(u)
	}
	var h http.Handler = w.iam
	for _, m := range mw {
		h = m(h)
	}
	w.url = fakeiam.Serve(t, w.record(h))
	return w
}

// record notes every token pair that reaches a client, so tests can look for them in output.
func (w *world) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var p tokenPair
		if rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &p) == nil && p.Access != "" {
			p.Path = r.URL.Path
			w.mu.Lock()
			w.issued = append(w.issued, p)
			w.mu.Unlock()
		}
		maps.Copy(rw.Header(), rec.Header())
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
	})
}

// tokens returns every pair issued so far.
func (w *world) tokens() []tokenPair {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.issued)
}

// issuer returns the endpoint that issued the access token a process printed (login or
// refresh), or "" for any other answer: it tells whether a process refreshed or logged in,
// whatever else reached the fake around it.
func (w *world) issuer(stdout string) fakeiam.Endpoint {
	endpoints := map[string]fakeiam.Endpoint{"/iam/auth/jwt/login": fakeiam.Login, "/iam/auth/jwt/refresh": fakeiam.Refresh}
	token := strings.TrimSpace(stdout)
	for _, p := range w.tokens() {
		if p.Access == token {
			return endpoints[p.Path]
		}
	}
	return ""
}

// lastAccess is the access token of the latest pair issued.
func (w *world) lastAccess() string {
	w.t.Helper()
	all := w.tokens()
	if len(all) == 0 {
		w.t.Fatal("the fake has issued no tokens")
	}
	return all[len(all)-1].Access
}

// profile renders a [profiles.NAME] table for user on this world's fake, file backend, with
// extra TOML lines.
func (w *world) profile(name, user string, extra ...string) string {
	return fmt.Sprintf("[profiles.%s]\nbase_url = %q\nusername = %q\nbackend = \"file\"\n%s\n",
		name, w.url, user, strings.Join(extra, "\n"))
}

// writeConfig replaces the sandbox's config file with the given profile tables.
func (w *world) writeConfig(profiles ...string) {
	w.t.Helper()
	if err := w.sb.WriteConfig(strings.Join(profiles, "\n")); err != nil {
		w.t.Fatal(err)
	}
}

// configure writes a config with only the default profile, for email, plus extra lines.
func (w *world) configure(extra ...string) {
	w.t.Helper()
	w.writeConfig(w.profile("default", email, extra...))
}

// cmd is the helper invoked with args, in the sandbox's environment plus env.
func (w *world) cmd(env []string, args ...string) harness.Cmd {
	return harness.Cmd{
		Name: "gcore-credential-helper " + strings.Join(args, " "),
		Bin:  helperBin,
		Args: args,
		Env:  w.sb.Env(env...),
	}
}

// run runs the helper to completion.
func (w *world) run(env []string, args ...string) harness.Result {
	return harness.Runner{}.Run(w.t.Context(), w.cmd(env, args...))
}

// ok runs the helper, fails the test unless it exits 0, and returns its stdout.
func (w *world) ok(env []string, args ...string) string {
	w.t.Helper()
	res := w.run(env, args...)
	if err := res.Check(); err != nil {
		w.t.Fatalf("%s: %v\nstderr:\n%s", strings.Join(args, " "), err, res.Stderr)
	}
	return res.Stdout
}

// token runs `get --format token` and returns the token.
func (w *world) token(env []string, args ...string) string {
	w.t.Helper()
	return strings.TrimSpace(w.ok(env, append([]string{"get", "--format", "token"}, args...)...))
}

// start runs the helper in the background; cancelling ctx (or the end of the test) kills it.
func (w *world) start(ctx context.Context, env []string, args ...string) <-chan harness.Result {
	done := make(chan harness.Result, 1)
	c := w.cmd(env, args...)
	go func() { done <- harness.Runner{}.Run(ctx, c) }()
	return done
}

// loginStale logs in with the fake's clock staleLogin back and returns the access token, which
// a plain get will not serve: it has less than the default min_ttl left.
func (w *world) loginStale() string {
	w.t.Helper()
	w.offset.Store(int64(-staleLogin))
	defer w.offset.Store(0)
	w.ok([]string{passwordEnv}, "login")
	return w.lastAccess()
}

// waitForCall waits until e has been called more than before times, failing the test if the
// background process bg ends first or the wait exceeds waitLimit.
func (w *world) waitForCall(e fakeiam.Endpoint, before int, bg <-chan harness.Result) {
	w.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for w.iam.Calls(e) <= before {
		select {
		case res := <-bg:
			w.t.Fatalf("background helper ended before calling %s: exit %d\nstderr:\n%s", e, res.ExitCode, res.Stderr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no %s call within %v", e, waitLimit)
		}
	}
}

// iamCalls is the total of the fake's session calls, to assert that nothing reached IAM.
func (w *world) iamCalls() int {
	n := 0
	for _, e := range []fakeiam.Endpoint{fakeiam.Login, fakeiam.Refresh, fakeiam.SwitchAccount, fakeiam.Me} {
		n += w.iam.Calls(e)
	}
	return n
}

// checkExit fails the test unless res exited with want, showing its stderr.
func checkExit(t *testing.T, res harness.Result, want int) {
	t.Helper()
	if res.ExitCode != want {
		t.Fatalf("exit %d, want %d (%v)\nstdout:\n%s\nstderr:\n%s", res.ExitCode, want, res.Err, res.Stdout, res.Stderr)
	}
}
