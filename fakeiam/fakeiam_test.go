package fakeiam

import (
	"bytes"
	"crypto"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const (
	aliceEmail = "alice@example.com"
	alicePW    = "alice-pw"
	bobEmail   = "bob@example.com"
	bobPW      = "bob-pw"
	bobOTP     = "123456"
)

// testUsers: alice belongs to two accounts; bob has 2FA and one account.
func testUsers() []User {
	return []User{
		{Email: aliceEmail, Password: alicePW, UserID: 11, IsAdmin: true,
			Accounts: []Account{{1001, "Alpha"}, {1002, "Beta"}}, Groups: []Group{{1, "Administrators"}}},
		{Email: bobEmail, Password: bobPW, OTP: bobOTP, UserID: 12,
			Accounts: []Account{{2001, "Bravo"}}},
		{Email: "nobody@example.com", Password: "pw", UserID: 13},
	}
}

// sharedKey is generated once: key generation is the slowest part of a fixture under -race.
var sharedKey = func() func(testing.TB) *rsa.PrivateKey {
	key := sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(cryptorand.Reader, 2048) })
	return func(t testing.TB) *rsa.PrivateKey {
		t.Helper()
		k, err := key()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}()

type fixture struct {
	s     *Server
	url   string
	clock *clock
}

// newFixture starts a Server with testUsers and a fixed clock (unless cfg.Now is set).
func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	c := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.NewChaCha8([32]byte{1})
	}
	s := newWithKey(cfg, sharedKey(t))
	for _, u := range testUsers() {
		s.AddUser(u)
	}
	return &fixture{s: s, url: s.Start(t), clock: c}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends body as-is when it is a string and as JSON otherwise.
func (f *fixture) do(t *testing.T, method, path, auth string, body any) response {
	t.Helper()
	r, err := f.try(method, path, auth, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// try is do for goroutines other than the test's, which must not call t.Fatal.
func (f *fixture) try(method, path, auth string, body any) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		return response{}, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, b}, nil
}

func (f *fixture) login(t *testing.T, email, password string) tokenPair {
	t.Helper()
	return wantPair(t, f.do(t, "POST", "/iam/auth/jwt/login", "", map[string]string{"username": email, "password": password}))
}

func (f *fixture) refresh(t *testing.T, refresh string) response {
	t.Helper()
	return f.do(t, "POST", "/iam/auth/jwt/refresh", "", map[string]string{"refresh": refresh})
}

func wantPair(t *testing.T, r response) tokenPair {
	t.Helper()
	p, err := parsePair(r)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pairOrErr(r response, err error) (tokenPair, error) {
	if err != nil {
		return tokenPair{}, err
	}
	return parsePair(r)
}

func parsePair(r response) (tokenPair, error) {
	if r.status != http.StatusOK {
		return tokenPair{}, fmt.Errorf("status %d, want 200; body %s", r.status, r.body)
	}
	var p tokenPair
	if err := json.Unmarshal(r.body, &p); err != nil || p.Access == "" || p.Refresh == "" {
		return tokenPair{}, fmt.Errorf("token pair %s: %v", r.body, err)
	}
	return p, nil
}

// wantJSON fails unless r has the status and a body equal to want as JSON.
func wantJSON(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var got, w any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, got); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
}

// payload decodes a JWT's claims without verifying them, as a client would.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLogin(t *testing.T) {
	f := newFixture(t, Config{})
	noAccount := `{"errors": {"errors": ["No active account found with the given credentials."]}}`
	for _, tc := range []struct {
		name   string
		body   any
		status int
		want   string // JSON body; empty for a token pair
	}{
		{"ok", map[string]string{"username": aliceEmail, "password": alicePW}, 200, ""},
		{"wrong password", map[string]string{"username": aliceEmail, "password": "nope"}, 400, noAccount},
		{"unknown user", map[string]string{"username": "eve@example.com", "password": alicePW}, 400, noAccount},
		{"user without accounts", map[string]string{"username": "nobody@example.com", "password": "pw"}, 400, noAccount},
		{"missing password", map[string]string{"username": aliceEmail}, 400,
			`{"errors": {"password": ["This field is required"]}}`},
		{"missing both", map[string]string{}, 400,
			`{"errors": {"username": ["This field is required"], "password": ["This field is required"]}}`},
		{"otp missing", map[string]string{"username": bobEmail, "password": bobPW}, 400,
			`{"errors": {"one_time_password": ["Two-factor authentication is enabled: one-time password is required."]}}`},
		{"otp wrong", map[string]string{"username": bobEmail, "password": bobPW, "one_time_password": "000000"}, 400,
			`{"errors": {"one_time_password": ["Invalid one-time password."]}}`},
		{"otp wrong password first", map[string]string{"username": bobEmail, "password": "nope", "one_time_password": bobOTP}, 400, noAccount},
		{"otp ok", map[string]string{"username": bobEmail, "password": bobPW, "one_time_password": bobOTP}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "POST", "/iam/auth/jwt/login", "", tc.body)
			if tc.want == "" {
				p := wantPair(t, r)
				if !f.s.AccessTokenValid(p.Access) {
					t.Error("access token from login is not valid")
				}
				return
			}
			wantJSON(t, r, tc.status, tc.want)
		})
	}
	t.Run("bad json", func(t *testing.T) {
		r := f.do(t, "POST", "/iam/auth/jwt/login", "", `{"username": `)
		var body struct{ Message string }
		if err := json.Unmarshal(r.body, &body); r.status != 400 || err != nil || !strings.HasPrefix(body.Message, "JSON parse error - ") {
			t.Errorf("got %d %s, want 400 with a JSON parse error message", r.status, r.body)
		}
	})
	t.Run("first account", func(t *testing.T) {
		p := f.login(t, aliceEmail, alicePW)
		if got := payload(t, p.Access)["client_id"]; got != float64(1001) {
			t.Errorf("client_id %v, want 1001", got)
		}
	})
	t.Run("AddUser replaces by email", func(t *testing.T) {
		f := newFixture(t, Config{})
		u := testUsers()[0]
		u.Password = "changed"
		f.s.AddUser(u)
		f.login(t, aliceEmail, "changed")
		r := f.do(t, "POST", "/iam/auth/jwt/login", "", map[string]string{"username": aliceEmail, "password": alicePW})
		wantJSON(t, r, 400, noAccount)
	})
}

func TestJWTStructure(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(t, aliceEmail, alicePW)
	now := f.clock.Now().Unix()

	for _, tok := range []string{p.Access, p.Refresh} {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("token has %d parts, want 3", len(parts))
		}
		header, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		if err := json.Unmarshal(header, &h); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]any{"alg": "RS256", "typ": "JWT"}, h); d != "" {
			t.Errorf("header (-want +got):\n%s", d)
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(&f.s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Errorf("signature does not verify with the server's public key: %v", err)
		}
	}

	access, refresh := payload(t, p.Access), payload(t, p.Refresh)
	if access["rjti"] != refresh["jti"] {
		t.Errorf("access rjti %v, want refresh jti %v", access["rjti"], refresh["jti"])
	}
	for _, m := range []map[string]any{access, refresh} {
		if jti, _ := m["jti"].(string); len(jti) < 16 {
			t.Errorf("jti %v, want a random string", m["jti"])
		}
		delete(m, "jti")
	}
	if access["rjti"] == access["jti"] {
		t.Error("access jti equals its rjti")
	}
	delete(access, "rjti")
	common := func(tokenType string, exp int64) map[string]any {
		return map[string]any{
			"token_type": tokenType, "exp": float64(exp),
			"user_id": float64(11), "client_id": float64(1001), "client_name": "Alpha",
			"email": aliceEmail, "username": aliceEmail, "is_admin": true,
			"user_groups": []any{map[string]any{"id": float64(1), "name": "Administrators"}},
		}
	}
	if d := cmp.Diff(common("access", now+3600), access); d != "" {
		t.Errorf("access claims (-want +got):\n%s", d)
	}
	if d := cmp.Diff(common("refresh", now+86400), refresh); d != "" {
		t.Errorf("refresh claims (-want +got):\n%s", d)
	}

	t.Run("no groups is an empty list", func(t *testing.T) {
		r := f.do(t, "POST", "/iam/auth/jwt/login", "", map[string]string{"username": bobEmail, "password": bobPW, "one_time_password": bobOTP})
		if got := payload(t, wantPair(t, r).Access)["user_groups"]; !cmp.Equal(got, []any{}) {
			t.Errorf("user_groups %#v, want []", got)
		}
	})
	t.Run("tampered payload", func(t *testing.T) {
		parts := strings.Split(p.Access, ".")
		c := access
		c["client_id"] = float64(1002)
		b, _ := json.Marshal(c)
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		if f.s.AccessTokenValid(forged) {
			t.Error("forged token accepted")
		}
	})
}

func TestRefreshRotation(t *testing.T) {
	f := newFixture(t, Config{})
	p1 := f.login(t, aliceEmail, alicePW)
	p2 := wantPair(t, f.refresh(t, p1.Refresh))
	if p2 == p1 {
		t.Fatal("refresh returned the same tokens")
	}
	if got := payload(t, p2.Access)["rjti"]; got != payload(t, p2.Refresh)["jti"] {
		t.Errorf("rotated access rjti %v does not name the rotated refresh token", got)
	}

	invalid := `{"errors": {"errors": ["Token is invalid or expired"]}}`
	wantJSON(t, f.refresh(t, p1.Refresh), 401, invalid)
	if got := f.s.RefreshReuse(); got != 1 {
		t.Errorf("RefreshReuse() = %d after one reuse, want 1", got)
	}
	p3 := wantPair(t, f.refresh(t, p2.Refresh))

	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"access token", `{"refresh": "` + p3.Access + `"}`, 401, invalid},
		{"garbage", `{"refresh": "a.b.c"}`, 401, invalid},
		{"missing", `{}`, 400, `{"errors": {"refresh": ["This field is required"]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantJSON(t, f.do(t, "POST", "/iam/auth/jwt/refresh", "", tc.body), tc.status, tc.want)
		})
	}
	if r := f.do(t, "POST", "/iam/auth/jwt/refresh", "", "nope"); r.status != 400 || !bytes.Contains(r.body, []byte("JSON parse error - ")) {
		t.Errorf("bad JSON: %d %s, want 400 JSON parse error", r.status, r.body)
	}
	if got := f.s.RefreshReuse(); got != 1 {
		t.Errorf("RefreshReuse() = %d, want 1: only reuse of a used token counts", got)
	}
	t.Run("keeps the switched account", func(t *testing.T) {
		sw := wantPair(t, f.do(t, "GET", "/iam/auth/jwt/clients/1002/login", "Bearer "+p3.Access, nil))
		got := payload(t, wantPair(t, f.refresh(t, sw.Refresh)).Access)
		if got["client_id"] != float64(1002) || got["client_name"] != "Beta" {
			t.Errorf("refreshed claims %v, want account 1002 Beta", got)
		}
	})
}

func TestExpiry(t *testing.T) {
	f := newFixture(t, Config{AccessTTL: 10 * time.Minute, RefreshTTL: time.Hour})
	p := f.login(t, aliceEmail, alicePW)
	if got, want := payload(t, p.Access)["exp"], float64(f.clock.Now().Add(10*time.Minute).Unix()); got != want {
		t.Errorf("access exp %v, want %v", got, want)
	}
	f.clock.Advance(10*time.Minute - time.Second)
	if !f.s.AccessTokenValid(p.Access) {
		t.Error("access token invalid one second before exp")
	}
	f.clock.Advance(time.Second)
	if f.s.AccessTokenValid(p.Access) {
		t.Error("access token valid at exp")
	}
	if r := f.do(t, "GET", "/iam/clients/me", "Bearer "+p.Access, nil); r.status != 401 {
		t.Errorf("me with expired access: %d, want 401", r.status)
	}
	if r := f.do(t, "GET", "/iam/auth/jwt/clients/1002/login", "Bearer "+p.Access, nil); r.status != 401 {
		t.Errorf("switch with expired access: %d, want 401", r.status)
	}
	p = wantPair(t, f.refresh(t, p.Refresh))
	if !f.s.AccessTokenValid(p.Access) {
		t.Error("refreshed access token is not valid")
	}
	f.clock.Advance(time.Hour)
	if r := f.refresh(t, p.Refresh); r.status != 401 {
		t.Errorf("expired refresh: %d, want 401", r.status)
	}
	if got := f.s.RefreshReuse(); got != 0 {
		t.Errorf("RefreshReuse() = %d, want 0: an expired token is not reuse", got)
	}
}

func TestSwitchAccount(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(t, aliceEmail, alicePW)
	forbidden := `{"errors": {"errors": ["You do not have permission to perform this action."]}}`
	invalid := `{"errors": {"errors": ["Token is invalid or expired"]}}`
	for _, tc := range []struct {
		name, client, auth string
		status             int
		want               string
	}{
		{"member", "1002", "Bearer " + p.Access, 200, ""},
		{"current account", "1001", "bearer " + p.Access, 200, ""},
		{"not a member", "2001", "Bearer " + p.Access, 403, forbidden},
		{"refresh token", "1002", "Bearer " + p.Refresh, 401, invalid},
		{"bad token", "1002", "Bearer x.y.z", 401, invalid},
		{"api key scheme", "1002", "APIKey " + p.Access, 401, invalid},
		{"no header", "1002", "", 401, invalid},
		{"bad id", "abc", "Bearer " + p.Access, 404, `{"errors": {"errors": ["Not found."]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", "/iam/auth/jwt/clients/"+tc.client+"/login", tc.auth, nil)
			if tc.want != "" {
				wantJSON(t, r, tc.status, tc.want)
				return
			}
			c := payload(t, wantPair(t, r).Access)
			if got := fmt.Sprint(c["client_id"]); got != tc.client {
				t.Errorf("client_id %v, want %s", got, tc.client)
			}
		})
	}
}

func TestMe(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(t, aliceEmail, alicePW)
	alpha := `{"id": 1001, "name": "Alpha", "companyName": "Alpha", "email": "alice@example.com", "currentUser": 11, "status": "active"}`
	key := f.s.AddAPIToken(1001, "k", nil)
	expiring := f.clock.Now().Add(time.Minute)
	short := f.s.AddAPIToken(1001, "short", &expiring)
	id, secret, _ := strings.Cut(key, "_")
	invalid := `{"errors": {"errors": ["Token is invalid or expired"]}}`
	for _, tc := range []struct {
		name, auth string
		status     int
		want       string
	}{
		{"bearer", "Bearer " + p.Access, 200, alpha},
		{"api key", "APIKey " + key, 200, alpha},
		{"api key lower case", "apikey " + key, 200, alpha},
		{"legacy api key", "APIKey " + id + "$" + secret, 200, alpha},
		{"wrong secret", "APIKey " + id + "_" + strings.Repeat("0", len(secret)), 401, invalid},
		{"unknown id", "APIKey 999_" + secret, 401, invalid},
		{"no separator", "APIKey " + secret, 401, invalid},
		{"jwt as api key", "APIKey " + p.Access, 401, invalid},
		{"refresh as bearer", "Bearer " + p.Refresh, 401, invalid},
		{"basic", "Basic " + key, 401, invalid},
		{"none", "", 401, invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantJSON(t, f.do(t, "GET", "/iam/clients/me", tc.auth, nil), tc.status, tc.want)
		})
	}
	t.Run("api key until exp_date", func(t *testing.T) {
		if r := f.do(t, "GET", "/iam/clients/me", "APIKey "+short, nil); r.status != 200 {
			t.Fatalf("before exp_date: %d, want 200", r.status)
		}
		f.clock.Advance(time.Minute)
		if r := f.do(t, "GET", "/iam/clients/me", "APIKey "+short, nil); r.status != 401 {
			t.Errorf("at exp_date: %d, want 401", r.status)
		}
	})
	t.Run("account without users", func(t *testing.T) {
		orphan := f.s.AddAPIToken(5555, "orphan", nil)
		wantJSON(t, f.do(t, "GET", "/iam/clients/me", "APIKey "+orphan, nil), 200,
			`{"id": 5555, "name": "", "companyName": "", "email": "", "currentUser": 0, "status": "active"}`)
	})
}

func TestRevoke(t *testing.T) {
	f := newFixture(t, Config{})
	p := f.login(t, aliceEmail, alicePW)
	f.s.Revoke(p.Access)
	if f.s.AccessTokenValid(p.Access) {
		t.Error("revoked access token still valid")
	}
	if r := f.do(t, "GET", "/iam/clients/me", "Bearer "+p.Access, nil); r.status != 401 {
		t.Errorf("me with revoked access: %d, want 401", r.status)
	}
	f.s.Revoke(p.Refresh)
	if r := f.refresh(t, p.Refresh); r.status != 401 {
		t.Errorf("revoked refresh: %d, want 401", r.status)
	}
	if got := f.s.RefreshReuse(); got != 0 {
		t.Errorf("RefreshReuse() = %d, want 0: a revoked token is not reuse", got)
	}
	f.s.Revoke("not a token") // must not panic
}

func TestConcurrent(t *testing.T) {
	const n = 50
	f := newFixture(t, Config{})
	f.s.Inject(Me, Fault{Status: 503, Times: 5})

	var mu sync.Mutex
	access := map[string]bool{}
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := f.try("POST", "/iam/auth/jwt/login", "", map[string]string{"username": aliceEmail, "password": alicePW})
			p, err := pairOrErr(r, err)
			if err == nil {
				r, err = f.try("POST", "/iam/auth/jwt/refresh", "", map[string]string{"refresh": p.Refresh})
				p, err = pairOrErr(r, err)
			}
			if err == nil {
				r, err = f.try("GET", "/iam/clients/me", "Bearer "+p.Access, nil)
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			access[p.Access] = true
			statuses[r.status]++
		})
	}
	wg.Wait()
	if len(access) != n {
		t.Errorf("%d distinct access tokens, want %d", len(access), n)
	}
	if d := cmp.Diff(map[int]int{200: n - 5, 503: 5}, statuses); d != "" {
		t.Errorf("me statuses (-want +got):\n%s", d)
	}
	for _, e := range []Endpoint{Login, Refresh, Me} {
		if got := f.s.Calls(e); got != n {
			t.Errorf("Calls(%s) = %d, want %d", e, got, n)
		}
	}

	t.Run("one refresh token raced", func(t *testing.T) {
		p := f.login(t, aliceEmail, alicePW)
		before := f.s.RefreshReuse()
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				r, err := f.try("POST", "/iam/auth/jwt/refresh", "", map[string]string{"refresh": p.Refresh})
				if err != nil {
					t.Error(err)
				}
				statuses <- r.status
			})
		}
		wg.Wait()
		close(statuses)
		got := map[int]int{}
		for s := range statuses {
			got[s]++
		}
		if d := cmp.Diff(map[int]int{200: 1, 401: n - 1}, got); d != "" {
			t.Errorf("statuses (-want +got):\n%s", d)
		}
		if got := f.s.RefreshReuse() - before; got != n-1 {
			t.Errorf("RefreshReuse grew by %d, want %d", got, n-1)
		}
	})
}

// FuzzServe throws arbitrary bodies and credentials at every IAM and Cloud route: the fake must
// never panic or answer 5xx, which exercises its JSON, JWT, API-key and header parsers.
func FuzzServe(f *testing.F) {
	s := newWithKey(Config{}, sharedKey(f))
	for _, u := range testUsers() {
		s.AddUser(u)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/iam/auth/jwt/login", strings.NewReader(`{"username":"`+aliceEmail+`","password":"`+alicePW+`"}`)))
	var p tokenPair
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		f.Fatal(err)
	}
	key := s.AddAPIToken(1001, "fuzz", nil)
	s.AddProject(1001, 500)
	s.AddRegistry(500, 76, "reg")
	s.AddCluster(Cluster{Project: 500, Region: 76, Name: "k8s"})
	s.AddCluster(Cluster{Project: 500, Region: 76, Name: "new", Status: "Provisioning"})
	f.Add(uint8(0), "", `{"username":"`+bobEmail+`","password":"`+bobPW+`","one_time_password":"1"}`)
	f.Add(uint8(1), "", `{"refresh":"`+p.Refresh+`"}`)
	f.Add(uint8(2), "Bearer "+p.Access, "")
	f.Add(uint8(3), "APIKey "+key, "")
	f.Add(uint8(4), "Bearer "+p.Access, `{"name":"x","exp_date":"2099-01-01T00:00:00Z","client_user":{"role":{"id":1}}}`)
	f.Add(uint8(5), "APIKey 1$"+key, "")
	f.Add(uint8(6), "Bearer "+p.Access, "")
	f.Add(uint8(7), "Bearer "+p.Access, "")
	f.Add(uint8(8), "Bearer "+p.Access, `{"name":"ci","duration":1,"read_only":true}`)
	f.Add(uint8(9), "Bearer "+p.Access, "")
	f.Add(uint8(10), "Bearer "+p.Access, "")
	f.Add(uint8(11), "Bearer "+p.Access, "")
	f.Add(uint8(12), "Bearer "+p.Access, "")
	f.Add(uint8(13), "Bearer "+p.Access, "")
	f.Add(uint8(14), "Bearer "+p.Access, "")
	f.Add(uint8(15), "APIKey "+key, `{"name":"UPPER","duration":-1}`)

	routes := []struct{ method, path string }{
		{"POST", "/iam/auth/jwt/login"},
		{"POST", "/iam/auth/jwt/refresh"},
		{"GET", "/iam/auth/jwt/clients/1002/login"},
		{"GET", "/iam/clients/me"},
		{"POST", "/iam/v2/clients/1001/tokens"},
		{"DELETE", "/iam/v2/clients/1001/tokens/1"},
		{"GET", "/iam/v2/clients/1001/tokens"},
		{"GET", "/cloud/v1/registries/500/76"},
		{"POST", "/cloud/v1/registries/500/76/1/users"},
		{"GET", "/cloud/v1/registries/500/76/1/users"},
		{"POST", "/cloud/v1/registries/500/76/1/users/1/refresh_secret"},
		{"DELETE", "/cloud/v1/registries/500/76/1/users/1"},
		{"GET", "/cloud/v2/k8s/clusters/500/76"},
		{"GET", "/cloud/v2/k8s/clusters/500/76/k8s/config"},
		{"GET", "/cloud/v2/k8s/clusters/500/76/new/config"},
	}
	f.Fuzz(func(t *testing.T, route uint8, auth, body string) {
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s: status %d: %s", rt.method, rt.path, rec.Code, rec.Body)
		}
	})
}

// TestNew covers the real constructor, which the other tests skip to share one key.
func TestNew(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	s.AddUser(testUsers()[0])
	f := &fixture{s: s, url: s.Start(t)}
	p := f.login(t, aliceEmail, alicePW)
	if !s.AccessTokenValid(p.Access) {
		t.Error("access token from a real-clock server is not valid")
	}
	if exp, now := payload(t, p.Access)["exp"].(float64), time.Now().Unix(); exp < float64(now+3500) || exp > float64(now+3700) {
		t.Errorf("access exp %v, want about an hour from %d", exp, now)
	}
}
