package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// The crash loops of issue #5 item 3 kill real processes at delays drawn uniformly over their
// whole life (see killLoop), at least minKills times per operation, and check after each kill
// that the next process succeeds at once: the store reads, the lock is free.

// refreshArgs force a refresh, which takes the lock and writes the store.
var refreshArgs = []string{"get", "--refresh", "--format", "token"}

// TestSIGKILLDuringRefresh guards SPEC §4 (the lock is released by the kernel when its holder
// dies; a refresh token is never used twice) and §5 (a crash never leaves a half file), issue
// #5 item 3: get --refresh killed anywhere in its life. After each kill the store reads, and
// the next get --refresh succeeds at once: it refreshes when the store still holds the refresh
// token and logs in only when the killed process had taken it out, which the engine does once
// connected to IAM, just before sending it.
func TestSIGKILLDuringRefresh(t *testing.T) {
	w := newWorld(t)
	w.configure(crashLockTimeout)
	// The password lets a process that finds the refresh token gone log in instead.
	env := []string{passwordEnv}
	w.ok(env, "login")
	loginsBefore := w.iam.Calls(fakeiam.Login)

	// Of the killed runs: how many had reached IAM's refresh endpoint (the token is spent), and
	// how many were followed by a login although they had not (the token was forgotten in
	// flight, issue #5 item 3 calls that login needless).
	var reached, inFlight int
	var examples []string
	l := w.newKillLoop(env, refreshArgs...)
	l.run(func(a attempt) {
		if !a.killed {
			if via := w.issuer(a.res.Stdout); via != fakeiam.Refresh {
				t.Errorf("run %d was not killed and got its token by %q, want by refresh", a.n, via)
			}
			return
		}
		holdsRefresh := !w.status().RefreshExp.IsZero()
		next := l.next(a, env, refreshArgs...)
		via := w.issuer(next.Stdout)
		own := 0
		if via == fakeiam.Refresh {
			own = 1
		}
		// Counting to the end of the next run also catches a request the killed process sent
		// that the fake read only after the kill.
		spent := a.since(fakeiam.Refresh) > own
		if spent {
			reached++
		}
		switch {
		case via == fakeiam.Refresh && holdsRefresh:
		case via == fakeiam.Login && !holdsRefresh:
			if !spent {
				inFlight++
				examples = append(examples, fmt.Sprintf("run %d killed after %v", a.n, a.delay))
			}
		default:
			t.Errorf("after run %d (killed after %v) the store held a refresh token: %v; the next get --refresh got its token by %q",
				a.n, a.delay, holdsRefresh, via)
		}
	})
	logins := w.iam.Calls(fakeiam.Login) - loginsBefore
	l.report(fmt.Sprintf("%d killed runs had reached the refresh endpoint; %d logins followed a kill, %d of them one that had not",
		reached, logins, inFlight))
	w.checkOneSession()

	// The per-kill check above is the rule: a login only when the store no longer held the
	// refresh token. The engine takes it out only once connected to IAM, immediately before
	// writing the request (the commit of iam.Client.Refresh), so a kill in that last instant
	// costs a login although IAM never saw the token. Closing that window would risk a token
	// sent twice (SPEC §4); the report counts such kills. Measured on 2 cores: 0 to 10 of 200
	// on an idle machine, 15 to 26 with both cores busy, where the rename that replaces the
	// store entry waits on the file system's journal and a kill meanwhile lands after it.
	// Deferring the directory sync until the request was out did not change the loaded
	// figure (16/20/15 against 18/17/26), so it was not kept. Before the commit moved after
	// the connection: 24 to 34 of 200.
	if inFlight > 0 {
		t.Logf("examples of kills between the token leaving the store and IAM receiving it: %s",
			strings.Join(examples[:min(len(examples), 3)], "; "))
	}
}

// TestSIGKILLDuringLogin guards SPEC §4, §5 and §7 login, issue #5 item 3: login killed
// anywhere in its life leaves the store and the config readable, the lock free, and the
// session the store held usable: the next get --refresh, without a password, refreshes it.
func TestSIGKILLDuringLogin(t *testing.T) {
	w := newWorld(t)
	w.configure(crashLockTimeout)
	env := []string{passwordEnv}
	w.ok(env, "login")

	reached := 0
	l := w.newKillLoop(env, "login")
	l.run(func(a attempt) {
		if !a.killed {
			return
		}
		// Without a password, a lost session would end this run with exit 3.
		l.next(a, nil, refreshArgs...)
		if a.since(fakeiam.Login) > 0 {
			reached++
		}
	})
	l.report(fmt.Sprintf("%d killed runs had reached the login endpoint", reached))
	w.checkOneSession()
}

// TestSIGKILLDuringLogout guards SPEC §4, §5 and §7 logout, issue #5 item 3: logout killed
// anywhere in its life leaves the store readable and the lock free, and either the whole
// session or none of it. The next process, get --refresh with a password, logs in again when
// the logout got through and refreshes when it did not.
func TestSIGKILLDuringLogout(t *testing.T) {
	w := newWorld(t)
	w.configure(crashLockTimeout)
	env := []string{passwordEnv}
	w.ok(env, "login")

	var gone, kept int
	l := w.newKillLoop(nil, "logout", "--yes")
	l.run(func(a attempt) {
		// It also restores the session for the next logout.
		next := l.next(a, env, refreshArgs...)
		switch via := w.issuer(next.Stdout); {
		case via == fakeiam.Login:
			if a.killed {
				gone++
			}
		case via == fakeiam.Refresh && !a.killed:
			t.Errorf("run %d logged out, yet the next process found the session and refreshed it", a.n)
		case via == fakeiam.Refresh:
			kept++
		default:
			t.Fatalf("the get --refresh after run %d printed a token the fake did not issue by login or refresh", a.n)
		}
	})
	l.report(fmt.Sprintf("%d killed logouts had deleted the session, %d had not", gone, kept))
	w.checkOneSession()
}

// TestKilledAfterIAMRotatedTheRefreshToken guards SPEC §4 "never use a refresh token twice",
// issue #2 "done when" 5 and issue #5 item 3, at the one point the random kills of
// TestSIGKILLDuringRefresh hit only sometimes: IAM has accepted the refresh token (so it is
// spent) and the process dies before it could store the new pair. The next process must not
// send the spent token again.
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
