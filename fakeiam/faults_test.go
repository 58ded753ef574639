package fakeiam

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// loginStatuses sends n logins and returns their statuses in order.
func (f *fixture) loginStatuses(t *testing.T, n int) []int {
	t.Helper()
	var got []int
	for range n {
		got = append(got, f.do(t, "POST", "/iam/auth/jwt/login", "", map[string]string{"username": aliceEmail, "password": alicePW}).status)
	}
	return got
}

func TestFaultStatus(t *testing.T) {
	f := newFixture(t, Config{})
	f.s.Inject(Login, Fault{Status: 503, RetryAfter: "2", Times: 2})
	for i := range 2 {
		r := f.do(t, "POST", "/iam/auth/jwt/login", "", "not even JSON")
		wantJSON(t, r, 503, `{"message": "Service Unavailable"}`)
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Errorf("request %d: Retry-After %q, want 2", i, got)
		}
	}
	f.login(t, aliceEmail, alicePW)
	if got := f.s.Calls(Login); got != 3 {
		t.Errorf("Calls(Login) = %d, want 3: faulted requests count", got)
	}

	f.s.Inject(Me, Fault{Status: 429, Body: `{"custom": true}`, Times: 1})
	wantJSON(t, f.do(t, "GET", "/iam/clients/me", "", nil), 429, `{"custom": true}`)

	t.Run("queued in order", func(t *testing.T) {
		f.s.Inject(Login, Fault{Status: 500, Times: 1})
		f.s.Inject(Login, Fault{Status: 502, Times: 2})
		if d := cmp.Diff([]int{500, 502, 502, 200}, f.loginStatuses(t, 4)); d != "" {
			t.Errorf("statuses (-want +got):\n%s", d)
		}
	})
	t.Run("until cleared", func(t *testing.T) {
		f.s.Inject(Login, Fault{Status: 500})
		if d := cmp.Diff([]int{500, 500, 500}, f.loginStatuses(t, 3)); d != "" {
			t.Errorf("statuses (-want +got):\n%s", d)
		}
		f.s.ClearFaults()
		if d := cmp.Diff([]int{200}, f.loginStatuses(t, 1)); d != "" {
			t.Errorf("after ClearFaults (-want +got):\n%s", d)
		}
	})
	t.Run("only the named endpoint", func(t *testing.T) {
		f.s.Inject(Refresh, Fault{Status: 500, Times: 1})
		defer f.s.ClearFaults()
		if d := cmp.Diff([]int{200}, f.loginStatuses(t, 1)); d != "" {
			t.Errorf("login (-want +got):\n%s", d)
		}
	})
}

func TestFaultDelay(t *testing.T) {
	f := newFixture(t, Config{})
	const delay = 50 * time.Millisecond
	f.s.Inject(Login, Fault{Delay: delay, Times: 1})
	start := time.Now()
	f.login(t, aliceEmail, alicePW)
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("answered after %v, want at least %v", elapsed, delay)
	}

	f.s.Inject(Login, Fault{Delay: delay, Status: 503, Times: 1})
	if d := cmp.Diff([]int{503, 200}, f.loginStatuses(t, 2)); d != "" {
		t.Errorf("delay then status (-want +got):\n%s", d)
	}

	t.Run("client gives up", func(t *testing.T) {
		f.s.Inject(Login, Fault{Delay: time.Hour, Times: 1})
		if err := f.postWithTimeout(t, "/iam/auth/jwt/login", 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want a deadline error", err)
		}
		f.login(t, aliceEmail, alicePW)
	})
}

// postWithTimeout sends an empty POST that the client abandons after d.
func (f *fixture) postWithTimeout(t *testing.T, path string, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", f.url+path, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// TestFaultHold: a held request is answered normally once the test releases it, not before;
// a client that gives up meanwhile is let go.
func TestFaultHold(t *testing.T) {
	f := newFixture(t, Config{})
	release := make(chan struct{})
	f.s.Inject(Login, Fault{Hold: release, Times: 1})
	answered := make(chan response, 1)
	go func() {
		r, err := f.try("POST", "/iam/auth/jwt/login", "", map[string]string{"username": aliceEmail, "password": alicePW})
		if err != nil {
			t.Error(err)
		}
		answered <- r
	}()
	awaitCall(t, f.s, Login)
	select {
	case r := <-answered:
		t.Fatalf("answered %d while held", r.status)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if r := <-answered; r.status != 200 {
		t.Errorf("after release: %d %s, want 200", r.status, r.body)
	}

	f.s.Inject(Login, Fault{Hold: make(chan struct{}), Times: 1})
	if err := f.postWithTimeout(t, "/iam/auth/jwt/login", 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("client giving up on a held request: %v, want a deadline error", err)
	}
}

func TestFaultHang(t *testing.T) {
	f := newFixture(t, Config{})
	f.s.Inject(Refresh, Fault{Hang: true, Times: 1})
	if err := f.postWithTimeout(t, "/iam/auth/jwt/refresh", 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a deadline error", err)
	}
	if got := f.s.Calls(Refresh); got != 1 {
		t.Errorf("Calls(Refresh) = %d, want 1", got)
	}

	// A request hanging when the test ends must not block Start's cleanup.
	done := make(chan error, 1)
	t.Run("cleanup releases hung requests", func(t *testing.T) {
		inner := newFixture(t, Config{})
		inner.s.Inject(Login, Fault{Hang: true})
		go func() {
			_, err := inner.try("POST", "/iam/auth/jwt/login", "", "{}")
			done <- err
		}()
		awaitCall(t, inner.s, Login)
	})
	select {
	case err := <-done:
		if err == nil {
			t.Error("hung request got an answer, want the connection dropped")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hung request still waiting after cleanup")
	}
}

func TestFaultTruncate(t *testing.T) {
	f := newFixture(t, Config{})
	f.s.Inject(Login, Fault{Truncate: true, Times: 1})
	r := f.do(t, "POST", "/iam/auth/jwt/login", "", map[string]string{"username": aliceEmail, "password": alicePW})
	var p tokenPair
	if err := json.Unmarshal(r.body, &p); r.status != 200 || err == nil {
		t.Errorf("got %d %q, want 200 with truncated JSON", r.status, r.body)
	}
}

func TestFaultConsumeThenFail(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(t, aliceEmail, alicePW)
	f.s.Inject(Refresh, Fault{ConsumeThenFail: true, Times: 1})
	wantJSON(t, f.refresh(t, p.Refresh), 502, `{"message": "Bad Gateway"}`)
	if r := f.refresh(t, p.Refresh); r.status != 401 {
		t.Errorf("retry with the consumed token: %d, want 401", r.status)
	}
	if got := f.s.RefreshReuse(); got != 1 {
		t.Errorf("RefreshReuse() = %d, want 1", got)
	}
}

func TestAdmin(t *testing.T) {
	f := newFixture(t, Config{})
	stats := func(t *testing.T) Stats {
		t.Helper()
		r := f.do(t, "GET", "/_fake/stats", "", nil)
		var st Stats
		if err := json.Unmarshal(r.body, &st); r.status != 200 || err != nil {
			t.Fatalf("stats: %d %s", r.status, r.body)
		}
		return st
	}
	p := f.login(t, aliceEmail, alicePW)
	f.refresh(t, p.Refresh)
	f.refresh(t, p.Refresh)
	f.s.AddAPIToken(1001, "k", nil)
	calls := noCalls()
	calls[Login], calls[Refresh] = 1, 2
	want := Stats{Calls: calls, RefreshReuse: 1, LiveAPITokens: 1}
	if d := cmp.Diff(want, stats(t)); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}

	r := f.do(t, "POST", "/_fake/faults", "", `{"endpoint": "login", "status": 429, "retry_after": "2", "delay": "1ms", "times": 1}`)
	if r.status != 204 {
		t.Fatalf("inject: %d %s", r.status, r.body)
	}
	r = f.do(t, "POST", "/iam/auth/jwt/login", "", "{}")
	if r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Errorf("login after inject: %d Retry-After %q, want 429 and 2", r.status, r.header.Get("Retry-After"))
	}
	for _, body := range []string{
		`{"endpoint": "logout", "status": 500}`,
		`{"endpoint": "login", "status": 42}`,
		`{"endpoint": "login", "times": -1}`,
		`{"endpoint": "login", "delay": "soon"}`,
		`{"endpoint": "login", "delay": "-1s"}`,
		`{"endpoint": "login", "colour": "red"}`,
		`nope`,
	} {
		if r := f.do(t, "POST", "/_fake/faults", "", body); r.status != 400 {
			t.Errorf("inject %s: %d, want 400", body, r.status)
		}
	}
	if r := f.do(t, "POST", "/_fake/faults", "", `{"endpoint": "me", "hang": true, "truncate": true, "consume_then_fail": true, "body": "x"}`); r.status != 204 {
		t.Errorf("inject with every field: %d %s", r.status, r.body)
	}
	if r := f.do(t, "DELETE", "/_fake/faults", "", nil); r.status != 204 {
		t.Errorf("clear faults: %d", r.status)
	}
	if r := f.do(t, "GET", "/iam/clients/me", "Bearer "+p.Access, nil); r.status != 200 {
		t.Errorf("me after clearing a hang fault: %d, want 200", r.status)
	}
	if r := f.do(t, "POST", "/_fake/reset-counters", "", nil); r.status != 204 {
		t.Errorf("reset counters: %d", r.status)
	}
	if d := cmp.Diff(Stats{Calls: noCalls(), LiveAPITokens: 1}, stats(t)); d != "" {
		t.Errorf("stats after reset (-want +got):\n%s", d)
	}
}

// noCalls is the Calls of Stats before any request: every endpoint, each at zero.
func noCalls() map[Endpoint]int {
	m := map[Endpoint]int{}
	for _, e := range []Endpoint{
		Login, Refresh, SwitchAccount, Me, CreateToken, DeleteToken, ListTokens,
		ListProjects, ListRegions, ListRegistries, CreateRegistryUser, ListRegistryUsers, DeleteRegistryUser, RefreshRegistrySecret,
		ListClusters, ClusterConfig,
	} {
		m[e] = 0
	}
	return m
}

// awaitCall waits until s has received a call to e, which a held or hung fault
// keeps from being answered.
func awaitCall(t *testing.T, s *Server, e Endpoint) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.Calls(e) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s call arrived within 10s", e)
		}
	}
}
