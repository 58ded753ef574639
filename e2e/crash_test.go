package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// TestSIGKILLDuringRefresh guards SPEC §4 (locks released by the kernel when the holder dies;
// never a refresh token twice) and §5 (every write is atomic: a crash never leaves a half
// file), issue #2 "done when" 5: processes killed at random points of a forced refresh leave a
// store that reads, a free lock and no refresh token that is sent again.
func TestSIGKILLDuringRefresh(t *testing.T) {
	const (
		iterations   = 30
		maxKillDelay = 30 * time.Millisecond
		lockTimeout  = 10 * time.Second
	)
	w := newWorld(t)
	w.configure(`lock_timeout = "` + lockTimeout.String() + `"`)
	w.ok([]string{passwordEnv}, "login")
	seed := rand.Uint64()
	t.Logf("kill delays drawn with seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	killed := 0
	for i := range iterations {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rng.Int64N(int64(maxKillDelay)+1)))
		// The password lets a process that finds the refresh token gone log in instead.
		res := harness.Runner{}.Run(ctx, w.cmd([]string{passwordEnv}, "get", "--refresh", "--format", "token"))
		cancel()
		switch {
		case res.ExitCode == -1:
			killed++
		case res.ExitCode != 0:
			t.Errorf("iteration %d, not killed: exit %d\nstderr:\n%s", i, res.ExitCode, res.Stderr)
		}
	}
	t.Logf("%d of %d processes killed; %d refresh and %d login calls", killed, iterations,
		w.iam.Calls(fakeiam.Refresh), w.iam.Calls(fakeiam.Login))

	var rows []struct {
		LoggedIn bool   `json:"logged_in"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(w.ok(nil, "status", "--json")), &rows); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	if len(rows) != 1 || !rows[0].LoggedIn || rows[0].Error != "" {
		t.Errorf("status after the kills = %+v, want one logged-in profile without error", rows)
	}
	// get --refresh takes the lock: it must not find it held by a dead process.
	res := w.run([]string{passwordEnv}, "get", "--refresh", "--format", "token")
	checkExit(t, res, 0)
	if strings.Contains(res.Stderr, "waiting for another") || res.Wall >= lockTimeout {
		t.Errorf("get --refresh waited for the lock (%v):\n%s", res.Wall, res.Stderr)
	}
	if got := w.token([]string{passwordEnv}); got != strings.TrimSpace(res.Stdout) {
		t.Error("a plain get after the refresh does not print the refreshed token")
	}
	if got := w.iam.RefreshReuse(); got != 0 {
		t.Errorf("%d refresh tokens were presented twice, want 0", got)
	}
}

// TestKilledAfterIAMRotatedTheRefreshToken guards SPEC §4 "never use a refresh token twice",
// issue #2 "done when" 5, at the one point the random kills of TestSIGKILLDuringRefresh hit
// only sometimes: IAM has accepted the refresh token (so it is spent) and the process dies
// before it could store the new pair. The next process must not send the spent token again.
func TestKilledAfterIAMRotatedTheRefreshToken(t *testing.T) {
	spent := make(chan struct{})
	var first sync.Once
	rotateThenHang := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			hang := false
			if r.URL.Path == "/iam/auth/jwt/refresh" {
				first.Do(func() { hang = true })
			}
			if !hang {
				next.ServeHTTP(rw, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			close(spent)
			<-r.Context().Done()
			panic(http.ErrAbortHandler)
		})
	}
	w := newWorld(t, rotateThenHang)
	w.configure()
	w.ok([]string{passwordEnv}, "login")

	ctx, kill := context.WithCancel(t.Context())
	defer kill()
	victim := w.start(ctx, []string{passwordEnv}, "get", "--refresh", "--format", "token")
	select {
	case <-spent:
	case res := <-victim:
		t.Fatalf("get --refresh ended before refreshing: exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
	case <-time.After(waitLimit):
		t.Fatalf("no refresh within %v", waitLimit)
	}
	kill()
	if res := <-victim; res.ExitCode != -1 {
		t.Fatalf("get --refresh was not killed: exit %d", res.ExitCode)
	}

	w.token([]string{passwordEnv}, "--refresh")
	if got := w.iam.RefreshReuse(); got != 0 {
		t.Errorf("the next process sent the spent refresh token again (%d reuse), want 0", got)
	}
}
