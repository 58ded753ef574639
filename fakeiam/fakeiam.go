// Package fakeiam is an in-memory fake of the Gcore IAM API described in the reference's Gcore IAM calls and of the
// Cloud calls of the reference's service credentials, for tests (in-process, via Start or ServeHTTP) and for `make demo`
// (via cmd/fake-gcore-iam).
//
// It owns users, accounts, JWT sessions with rotating single-use refresh tokens, permanent API
// tokens, Cloud projects with Container Registry users and Managed Kubernetes clusters (each
// with a real certificate authority and a TLS apiserver a test can start), per-endpoint call
// counters and fault injection, so tests can assert how often and how robustly a client talks
// to Gcore. It is never linked into the shipped helper binary.
//
// Error bodies follow the documented shapes. Gcore does not document its 401/403/404 bodies or
// the one-time-password 400; the fake answers them as {"errors": {"<field>": ["<message>"]}}
// like the documented 400s, which is as much as a lenient client may rely on.
package fakeiam

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Config tunes a Server; the zero value gives Gcore's lifetimes and real time and randomness.
type Config struct {
	AccessTTL, RefreshTTL time.Duration    // defaults 1h, 24h
	Now                   func() time.Time // default time.Now; lets tests move time
	Rand                  io.Reader        // default crypto/rand; token IDs and API token secrets
}

// User is a Gcore user who can log in. Login lands in Accounts[0].
type User struct {
	Email, Password string
	OTP             string // the one-time password required at login when non-empty
	UserID          int64
	Accounts        []Account
	Groups          []Group
	IsAdmin         bool
}

// Account is a Gcore account (a "client" in IAM's paths and claims).
type Account struct {
	ID   int64
	Name string
}

// Group is a user group as it appears in the user_groups claim.
type Group struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Server is the fake IAM and Cloud API. It is safe for concurrent use.
type Server struct {
	cfg          Config
	key          *rsa.PrivateKey
	mux          *http.ServeMux
	calls        map[Endpoint]*atomic.Int64 // filled at construction, read-only afterwards
	refreshReuse atomic.Int64

	randMu sync.Mutex // cfg.Rand need not be safe for concurrent use

	mu          sync.Mutex
	users       []User          // in AddUser order, so "the first member of an account" is stable
	used        map[string]bool // jti of refresh tokens already exchanged
	revoked     map[string]bool // jti of tokens blacklisted by Revoke
	apiTokens   []*apiToken
	lastTokenID int64
	faults      map[Endpoint][]Fault
	cloud       cloudState
}

// New returns a Server with a fresh 2048-bit RSA signing key and no users.
func New(cfg Config) (*Server, error) {
	// GenerateKey ignores its reader since Go 1.26, so cfg.Rand could not make keys repeatable.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return newWithKey(cfg, key), nil
}

// newWithKey is New with a given key, so this package's tests can share one key instead of
// paying for key generation in every test.
func newWithKey(cfg Config, key *rsa.PrivateKey) *Server {
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Server{
		cfg:     cfg,
		key:     key,
		mux:     http.NewServeMux(),
		calls:   make(map[Endpoint]*atomic.Int64),
		used:    make(map[string]bool),
		revoked: make(map[string]bool),
		faults:  make(map[Endpoint][]Fault),
	}
	s.handle("POST /iam/auth/jwt/login", Login, s.login)
	s.handle("POST /iam/auth/jwt/refresh", Refresh, s.refresh)
	s.handle("GET /iam/auth/jwt/clients/{clientId}/login", SwitchAccount, s.switchAccount)
	s.handle("GET /iam/clients/me", Me, s.me)
	s.handle("POST /iam/v2/clients/{clientId}/tokens", CreateToken, s.createToken)
	s.handle("DELETE /iam/v2/clients/{clientId}/tokens/{tokenId}", DeleteToken, s.deleteToken)
	s.handle("GET /iam/v2/clients/{clientId}/tokens", ListTokens, s.listTokens)
	s.handleCloud()
	s.mux.HandleFunc("GET /_fake/stats", s.serveStats)
	s.mux.HandleFunc("POST /_fake/faults", s.serveInject)
	s.mux.HandleFunc("DELETE /_fake/faults", s.serveClearFaults)
	s.mux.HandleFunc("POST /_fake/reset-counters", s.serveResetCounters)
	return s
}

// handle registers a route that is counted and subject to injected faults.
func (s *Server) handle(pattern string, e Endpoint, h http.HandlerFunc) {
	n := new(atomic.Int64)
	s.calls[e] = n
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		// The Date header is the fake's clock, as a real server's is its own.
		w.Header().Set("Date", s.cfg.Now().UTC().Format(http.TimeFormat))
		s.serveWithFault(e, h, w, r)
	})
}

// ServeHTTP answers the IAM routes of the reference's Gcore IAM calls, the Cloud routes of the reference's service credentials and the /_fake/
// admin routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// AddUser adds u, replacing any user with the same email. The slices are copied.
func (s *Server) AddUser(u User) {
	u.Accounts = slices.Clone(u.Accounts)
	u.Groups = slices.Clone(u.Groups)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.users, func(v User) bool { return v.Email == u.Email }); i >= 0 {
		s.users[i] = u
		return
	}
	s.users = append(s.users, u)
}

// Start serves s on a fresh 127.0.0.1 port until the test ends and returns the base URL.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	return Serve(t, s)
}

// Serve is Start for any handler, such as one that wraps a Server to record
// what it hands out.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := newUnstartedServer(t, h)
	srv.Start()
	return srv.URL
}

// newUnstartedServer returns an unstarted httptest server for h that is closed when the test
// ends.
func newUnstartedServer(t testing.TB, h http.Handler) *httptest.Server {
	// Request contexts derive from ctx, so cancelling it releases hung and delayed handlers;
	// otherwise httptest.Server.Close would wait for them forever.
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(h)
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	t.Cleanup(func() {
		cancel()
		srv.Close()
	})
	return srv
}

// userByEmail returns a copy of the user with that email.
func (s *Server) userByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.users, func(u User) bool { return u.Email == email })
	if i < 0 {
		return User{}, false
	}
	return s.users[i], true
}

// randomHex returns n random bytes from cfg.Rand, hex-encoded.
func (s *Server) randomHex(n int) (string, error) {
	b := make([]byte, n)
	s.randMu.Lock()
	_, err := io.ReadFull(s.cfg.Rand, b)
	s.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// An encoding error here means the client went away; there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors answers in IAM's {"errors": {field: [messages]}} shape.
func writeErrors(w http.ResponseWriter, status int, errs map[string][]string) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

func writeError(w http.ResponseWriter, status int, field, msg string) {
	writeErrors(w, status, map[string][]string{field: {msg}})
}

// decodeJSON reads r's body into v, answering IAM's parse-error 400 when it cannot.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "JSON parse error - " + err.Error()})
		return false
	}
	return true
}
