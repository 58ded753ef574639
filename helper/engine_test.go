package helper

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// memStore is an in-memory Store.
type memStore struct {
	mu   sync.Mutex
	data map[string][]byte
	puts int
}

func (m *memStore) Get(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return nil, cache.ErrNotFound
	}
	return slices.Clone(v), nil
}

func (m *memStore) Put(key string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		m.data = map[string][]byte{}
	}
	m.data[key] = slices.Clone(v)
	m.puts++
	return nil
}

func (m *memStore) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
	return nil
}

// memLocker is a mutex per key, like the lock files across processes.
type memLocker struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (l *memLocker) Lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	m := l.locks[key]
	if m == nil {
		m = &sync.Mutex{}
		l.locks[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock, nil
}

// memMemo is an in-memory FailureMemo.
type memMemo struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (m *memMemo) Remember(key string, at time.Time, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at == nil {
		m.at = map[string]time.Time{}
	}
	m.at[key] = at
	return nil
}

func (m *memMemo) Recall(key string, now time.Time, within time.Duration) (string, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.at[key]
	return "bad credentials", at, ok && now.Sub(at) < within
}

func (m *memMemo) Forget(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.at, key)
	return nil
}

// fakeIAM issues unsigned JWTs with Gcore's claims and records every call.
type fakeIAM struct {
	*fakeCloud
	mu          sync.Mutex
	now         func() time.Time
	accessTTL   time.Duration
	serial      int
	logins      int
	refreshes   []string // refresh tokens received, in order
	switches    []int64
	mes         int
	otp         string        // required OTP, if any
	password    string        // accepted password
	refreshErr  error         // returned by the next Refresh, then cleared
	consumeErr  bool          // the next Refresh spends the token before it fails with refreshErr
	connectErr  error         // like refreshErr, but IAM never sees the token
	loginErr    error         // returned by every Login
	refreshWait chan struct{} // when set, Refresh blocks until closed
	spent       map[string]bool
	refused     map[string]int                // how often each spent token was sent again
	keys        map[int64]iam.APITokenRequest // live minted API keys by id
	mints       int
	deleteErr   error // returned by every DeleteAPIToken

	clusterFetches int
}

func (f *fakeIAM) issue(clientID int64) iam.Tokens {
	f.serial++
	now := f.now()
	ttl := f.accessTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	claims := func(typ string, exp time.Time) string {
		payload, _ := json.Marshal(map[string]any{
			"token_type": typ, "exp": exp.Unix(), "jti": fmt.Sprintf("%s-%d", typ, f.serial),
			"user_id": 7, "client_id": clientID, "email": "me@example.com", "client_name": fmt.Sprintf("account %d", clientID),
			"user_groups": []map[string]any{{"id": 1, "name": "Administrators"}},
		})
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
	}
	return iam.Tokens{Access: claims("access", now.Add(ttl)), Refresh: claims("refresh", now.Add(24*time.Hour))}
}

func (f *fakeIAM) Login(ctx context.Context, cr iam.Credentials) (iam.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	switch {
	case f.loginErr != nil:
		return iam.Tokens{}, f.loginErr
	case cr.Password != f.password:
		return iam.Tokens{}, iam.ErrBadCredentials
	case f.otp != "" && cr.OTP != f.otp:
		return iam.Tokens{}, iam.ErrOTPRequired
	}
	return f.issue(1001), nil
}

// Refresh models Gcore: a token is accepted once and refused (401) after.
// connectErr fails before IAM sees the token; refreshErr after it arrived,
// consumed or not as consumeErr says (a 5xx or a lost answer may be either).
func (f *fakeIAM) Refresh(ctx context.Context, refresh string) (iam.Tokens, error) {
	if f.refreshWait != nil {
		<-f.refreshWait
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.connectErr; err != nil {
		f.connectErr = nil
		return iam.Tokens{}, err
	}
	f.refreshes = append(f.refreshes, refresh)
	if f.spent[refresh] {
		if f.refused == nil {
			f.refused = map[string]int{}
		}
		f.refused[refresh]++
		return iam.Tokens{}, iam.ErrTokenRejected
	}
	if f.spent == nil {
		f.spent = map[string]bool{}
	}
	if err := f.refreshErr; err != nil {
		f.refreshErr = nil
		if f.consumeErr {
			f.spent[refresh], f.consumeErr = true, false
		}
		return iam.Tokens{}, err
	}
	f.spent[refresh] = true
	c, _ := iam.ParseClaims(refresh)
	return f.issue(c.ClientID), nil
}

func (f *fakeIAM) SwitchAccount(ctx context.Context, access string, clientID int64) (iam.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.switches = append(f.switches, clientID)
	return f.issue(clientID), nil
}

func (f *fakeIAM) Me(ctx context.Context, authorization string) (iam.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mes++
	if authorization != "APIKey 42_secret" {
		return iam.Account{}, iam.ErrTokenRejected
	}
	return iam.Account{ID: 1001, Email: "me@example.com", Name: "Demo"}, nil
}

func (f *fakeIAM) CreateAPIToken(ctx context.Context, access string, clientID int64, r iam.APITokenRequest) (iam.APIToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mints++
	if f.keys == nil {
		f.keys = map[int64]iam.APITokenRequest{}
	}
	id := int64(100 + f.mints)
	f.keys[id] = r
	return iam.APIToken{ID: id, Token: fmt.Sprintf("%d_secret", id)}, nil
}

func (f *fakeIAM) DeleteAPIToken(ctx context.Context, access string, clientID, tokenID int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return f.deleteErr
	}
	delete(f.keys, tokenID)
	return nil
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type rig struct {
	clock *clock
	iam   *fakeIAM
	store *memStore
	memo  *memMemo
	env   map[string]string
}

func newRig() *rig {
	c := &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	return &rig{clock: c, iam: &fakeIAM{fakeCloud: &fakeCloud{now: c.Now}, now: c.Now, password: "pw"}, store: &memStore{}, memo: &memMemo{},
		env: map[string]string{"GCORE_PASSWORD": "pw"}}
}

func (r *rig) engine(profile string) *Engine {
	return &Engine{
		Profile: config.Profile{Name: profile, BaseURL: "https://api.gcore.com", Username: "me@example.com",
			Auth: config.AuthPassword, MinTTL: 5 * time.Minute, LockTimeout: time.Minute, HTTPTimeout: time.Minute,
			APIKeyTTL: 12 * time.Hour},
		Store: r.store, Locker: &memLocker{}, Auth: r.iam, Keys: r.iam, Cloud: r.iam, Memo: r.memo, Now: r.clock.Now, Hostname: "laptop",
		Secrets: SecretSources{Getenv: func(k string) string { return r.env[k] }},
	}
}

func get(t *testing.T, e *Engine) Token {
	t.Helper()
	tok, err := e.Token(context.Background(), GetOptions{MinTTL: e.Profile.MinTTL})
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func TestHitMissRefresh(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	first := get(t, e)
	if r.iam.logins != 1 {
		t.Fatalf("logins = %d, want 1", r.iam.logins)
	}
	if again := get(t, e); again != first {
		t.Fatalf("second get returned another token")
	}
	if r.iam.logins != 1 || len(r.iam.refreshes) != 0 {
		t.Fatalf("hit made IAM calls: logins=%d refreshes=%d", r.iam.logins, len(r.iam.refreshes))
	}
	r.clock.Add(56 * time.Minute) // 4 min left < 5 min min-TTL
	renewed := get(t, e)
	if renewed == first || len(r.iam.refreshes) != 1 || r.iam.logins != 1 {
		t.Fatalf("want exactly one refresh and a new token; refreshes=%d logins=%d", len(r.iam.refreshes), r.iam.logins)
	}
	// The new pair was persisted: a fresh engine (another process) sees it.
	if other := get(t, r.engine("default")); other != renewed {
		t.Fatalf("renewed token was not persisted")
	}
}

func TestMinTTLBoundary(t *testing.T) {
	for _, tc := range []struct {
		name        string
		left        time.Duration
		wantRefresh bool
	}{
		{"exactly min-ttl left is served", 5 * time.Minute, false},
		{"one second less is refreshed", 5*time.Minute - time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			e := r.engine("default")
			get(t, e)
			r.clock.Add(time.Hour - tc.left)
			get(t, e)
			if got := len(r.iam.refreshes) == 1; got != tc.wantRefresh {
				t.Fatalf("refreshed = %v, want %v", got, tc.wantRefresh)
			}
		})
	}
}

func TestConcurrentStaleTokenRefreshesOnce(t *testing.T) {
	r := newRig()
	get(t, r.engine("default"))
	r.clock.Add(59 * time.Minute)
	// Separate engines share the store and a lock, like processes; goroutines
	// on one engine share its singleflight.
	locker := &memLocker{}
	var wg sync.WaitGroup
	tokens := make([]Token, 40)
	errs := make([]error, 40)
	shared := r.engine("default")
	shared.Locker = locker
	for i := range tokens {
		e := shared
		if i%2 == 0 {
			e = r.engine("default")
			e.Locker = locker
		}
		wg.Go(func() {
			tokens[i], errs[i] = e.Token(context.Background(), GetOptions{MinTTL: 5 * time.Minute})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got a different token", i)
		}
	}
	if len(r.iam.refreshes) != 1 {
		t.Fatalf("refresh calls = %d, want 1", len(r.iam.refreshes))
	}
}

// TestRefreshTokenKeptUntilReplaced guards the reference's token engine as issue #9 rewrote it: a refresh token is
// never knowingly sent twice. It stays in the store until a new pair replaces it, so a failure
// that may or may not have reached IAM (a 5xx, a timeout, a lost answer) tries it once more: IAM
// refuses it if it had consumed it (then it is dropped and a login follows) and accepts it if
// not (no login). A refusal drops it at once. No token is ever sent after IAM refused it.
func TestRefreshTokenKeptUntilReplaced(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		consumed   bool
		wantLogins int // after the failure and the next call
	}{
		{"5xx, IAM never processed it", &iam.UnavailableError{Status: 502}, false, 1},
		{"timeout, IAM had consumed it", &iam.UnavailableError{Err: context.DeadlineExceeded}, true, 2},
		{"lost answer, IAM had consumed it", &iam.UnavailableError{Status: 200}, true, 2},
		{"refused", iam.ErrTokenRejected, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			e := r.engine("default")
			get(t, e)
			r.clock.Add(59 * time.Minute)
			r.iam.refreshErr, r.iam.consumeErr = tc.err, tc.consumed
			_, err := e.Token(context.Background(), GetOptions{MinTTL: 5 * time.Minute})
			if errors.Is(tc.err, iam.ErrTokenRejected) != (err == nil) {
				t.Fatalf("first call: %v", err)
			}
			for range 3 {
				get(t, e)
			}
			if r.iam.logins != tc.wantLogins {
				t.Errorf("logins = %d, want %d", r.iam.logins, tc.wantLogins)
			}
			for _, n := range r.iam.refused {
				if n > 1 {
					t.Errorf("a refresh token was sent %d times after IAM refused it", n-1)
				}
			}
		})
	}
}

func TestRefreshNotSentKeepsToken(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	get(t, e)
	r.clock.Add(59 * time.Minute)
	r.iam.refreshErr = &iam.RateLimitedError{RetryAfter: time.Minute}
	if _, err := e.Token(context.Background(), GetOptions{MinTTL: 5 * time.Minute}); err == nil {
		t.Fatal("want rate-limit error")
	}
	get(t, e)
	if len(r.iam.refreshes) != 2 || r.iam.refreshes[0] != r.iam.refreshes[1] || r.iam.logins != 1 {
		t.Fatalf("after a 429 the same refresh token should be retried once: refreshes=%d logins=%d", len(r.iam.refreshes), r.iam.logins)
	}
}

func TestLoginRequiredWithoutSecret(t *testing.T) {
	r := newRig()
	delete(r.env, "GCORE_PASSWORD")
	_, err := r.engine("ci").Token(context.Background(), GetOptions{MinTTL: time.Minute})
	var lr *LoginRequiredError
	if !errors.As(err, &lr) || lr.Profile != "ci" {
		t.Fatalf("err = %v, want LoginRequiredError for profile ci", err)
	}
	if r.iam.logins != 0 {
		t.Fatalf("logins = %d, want 0", r.iam.logins)
	}
}

func TestOTPLogin(t *testing.T) {
	r := newRig()
	r.iam.otp = "123456"
	e := r.engine("default")
	e.Secrets.OTPCommand = "echo 123456"
	get(t, e)
	if r.iam.logins != 2 {
		t.Fatalf("logins = %d, want 2 (without, then with OTP)", r.iam.logins)
	}
	r2 := newRig()
	r2.iam.otp = "123456"
	_, err := r2.engine("default").Token(context.Background(), GetOptions{})
	var lr *LoginRequiredError
	if !errors.As(err, &lr) {
		t.Fatalf("OTP needed but unavailable: err = %v, want LoginRequiredError", err)
	}
}

func TestAccountSwitch(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Profile.ClientID = 2002
	get(t, e)
	if !slices.Equal(r.iam.switches, []int64{2002}) {
		t.Fatalf("switches = %v, want [2002]", r.iam.switches)
	}
	st, _ := e.Status()
	if st.AccountID != 2002 {
		t.Fatalf("status account = %d, want 2002", st.AccountID)
	}
	r.clock.Add(59 * time.Minute)
	get(t, e)
	if len(r.iam.switches) != 1 {
		t.Fatalf("a refresh must keep the account without switching again")
	}
}

func TestProfilesNeverShareTokens(t *testing.T) {
	r := newRig()
	a, b := get(t, r.engine("a")), get(t, r.engine("b"))
	if a == b || r.iam.logins != 2 {
		t.Fatalf("profiles shared a session: logins=%d", r.iam.logins)
	}
	other := r.engine("a")
	other.Profile.ClientID = 3003
	if get(t, other) == a {
		t.Fatal("a different client id must not reuse the session")
	}
}

func TestFailedLoginRememberedBriefly(t *testing.T) {
	r := newRig()
	r.env["GCORE_PASSWORD"] = "wrong"
	e := r.engine("default")
	for range 5 {
		if _, err := e.Token(context.Background(), GetOptions{}); err == nil {
			t.Fatal("want error")
		}
	}
	if r.iam.logins != 1 {
		t.Fatalf("logins = %d, want 1 (failure remembered)", r.iam.logins)
	}
	r.clock.Add(FailureMemory)
	r.env["GCORE_PASSWORD"] = "pw"
	get(t, e)
	if r.iam.logins != 2 {
		t.Fatalf("logins = %d, want 2 after the memory expired", r.iam.logins)
	}
}

func TestForcedRefreshAndReject(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	first := get(t, e)
	forced, err := e.Token(context.Background(), GetOptions{Refresh: true})
	if err != nil || forced == first || len(r.iam.refreshes) != 1 {
		t.Fatalf("get --refresh: err=%v same=%v refreshes=%d", err, forced == first, len(r.iam.refreshes))
	}
	if err := e.Reject(context.Background(), forced.Value); err != nil {
		t.Fatal(err)
	}
	if next := get(t, e); next == forced || len(r.iam.refreshes) != 2 {
		t.Fatalf("a rejected token must not be served again")
	}
}

func TestAPITokenProfile(t *testing.T) {
	r := newRig()
	r.env["GCORE_API_TOKEN"] = "42_secret"
	e := r.engine("tf")
	e.Profile.Auth = config.AuthAPIToken
	tok := get(t, e)
	if tok.Kind != KindAPIKey || tok.Value != "42_secret" || !tok.ExpiresAt.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	delete(r.env, "GCORE_API_TOKEN")
	get(t, e)
	if r.iam.mes != 1 {
		t.Fatalf("me calls = %d, want 1 (verified once, then cached)", r.iam.mes)
	}
}

func TestLogoutForgetsSession(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	get(t, e)
	if err := e.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	delete(r.env, "GCORE_PASSWORD")
	var lr *LoginRequiredError
	if _, err := e.Token(context.Background(), GetOptions{}); !errors.As(err, &lr) {
		t.Fatalf("after logout: err = %v, want LoginRequiredError", err)
	}
}

// spyIAM looks at the store while a refresh is on the wire.
type spyIAM struct {
	*fakeIAM
	store *memStore
	key   string
	seen  []string // the stored refresh token at each Refresh call
}

func (s *spyIAM) Refresh(ctx context.Context, refresh string) (iam.Tokens, error) {
	data, _ := s.store.Get(s.key)
	sess, _ := decodeSession(data)
	s.seen = append(s.seen, sess.Refresh)
	return s.fakeIAM.Refresh(ctx, refresh)
}

// TestRefreshTokenStaysWhileSent guards the reference's token engine: a process killed while its refresh is on the
// wire leaves the token for the next one (losing a session IAM never touched is worse than one
// refused request), and the new pair replaces it before anything is handed out.
func TestRefreshTokenStaysWhileSent(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	get(t, e)
	spy := &spyIAM{fakeIAM: r.iam, store: r.store, key: e.Key()}
	e.Auth = spy
	r.clock.Add(59 * time.Minute)
	tok := get(t, e)
	if len(spy.seen) != 1 || spy.seen[0] != r.iam.refreshes[0] {
		t.Fatalf("stored refresh token during the call: %q, want the one being sent", spy.seen)
	}
	data, _ := r.store.Get(e.Key())
	if sess, _ := decodeSession(data); sess.Access != tok.Value || sess.Refresh == r.iam.refreshes[0] {
		t.Fatal("the new pair was not stored before the token was handed out")
	}
}

func (f *fakeIAM) ListClusters(ctx context.Context, access string, p, r int64) ([]iam.Cluster, error) {
	return []iam.Cluster{{Name: "prod", Status: "Provisioned"}, {Name: "new", Status: "Provisioning"}}, nil
}

func (f *fakeIAM) ClusterConfig(ctx context.Context, access string, p, r int64, name string) (iam.ClusterConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clusterFetches++
	return iam.ClusterConfig{Host: "https://127.0.0.1:6443", CACertPEM: []byte("ca"), ClientCertPEM: []byte("cert"),
		ClientKeyPEM: []byte("key"), ExpiresAt: f.now().Add(2 * 365 * 24 * time.Hour)}, nil
}

// TestRefreshFailuresKeepTheStore guards the reference's token engine and issue #5 item 3: a refresh that never got a
// connection (refused, timed out, untrusted certificate) leaves the store untouched; one whose
// new pair cannot be stored returns the error and keeps the old pair, for IAM to judge next time.
func TestRefreshFailuresKeepTheStore(t *testing.T) {
	t.Run("no connection", func(t *testing.T) {
		r := newRig()
		e := r.engine("default")
		get(t, e)
		puts := r.store.puts
		r.clock.Add(59 * time.Minute)
		r.iam.connectErr = fmt.Errorf("dial: %w", syscall.ECONNREFUSED)
		if _, err := e.Token(context.Background(), GetOptions{MinTTL: 5 * time.Minute}); err == nil {
			t.Fatal("want the connection error")
		}
		if r.store.puts != puts {
			t.Errorf("%d store writes for a refresh that never connected, want 0", r.store.puts-puts)
		}
		get(t, e)
		if r.iam.logins != 1 || len(r.iam.refreshes) != 1 {
			t.Errorf("logins %d, refreshes %d; want the kept token refreshed, no new login", r.iam.logins, len(r.iam.refreshes))
		}
	})
	t.Run("store refuses the new pair", func(t *testing.T) {
		r := newRig()
		e := r.engine("default")
		get(t, e)
		before, _ := r.store.Get(e.Key())
		r.clock.Add(59 * time.Minute)
		e.Store = failingPuts{r.store}
		if _, err := e.Token(context.Background(), GetOptions{MinTTL: 5 * time.Minute}); err == nil {
			t.Fatal("want the store's error")
		}
		if after, _ := r.store.Get(e.Key()); !slices.Equal(before, after) {
			t.Error("the stored session changed though the new pair could not be stored")
		}
		// IAM consumed the token; the next call learns so and logs in.
		e.Store = r.store
		get(t, e)
		if len(r.iam.refreshes) != 2 || r.iam.logins != 2 {
			t.Errorf("refreshes %d, logins %d; want the kept token tried once more, refused, then a login", len(r.iam.refreshes), r.iam.logins)
		}
	})
}

// failingPuts is a store whose writes fail.
type failingPuts struct{ Store }

func (failingPuts) Put(string, []byte) error { return errors.New("disk full") }
