package helper

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// Store keeps encrypted session records by cache key. cache.FileStore and the
// OS keyring stores satisfy it; Get reports a missing key with cache.ErrNotFound.
type Store interface {
	Get(key string) ([]byte, error)
	Put(key string, value []byte) error
	Delete(key string) error
}

// Locker serialises refresh and login for one cache key across processes.
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// IAM is the part of the Gcore IAM API the engine uses.
type IAM interface {
	Login(ctx context.Context, cr iam.Credentials) (iam.Tokens, error)
	// Refresh calls commit once connected, before sending the token.
	Refresh(ctx context.Context, refresh string, commit func() error) (iam.Tokens, error)
	SwitchAccount(ctx context.Context, access string, clientID int64) (iam.Tokens, error)
	Me(ctx context.Context, authorization string) (iam.Account, error)
	CreateAPIToken(ctx context.Context, access string, clientID int64, r iam.APITokenRequest) (iam.APIToken, error)
	DeleteAPIToken(ctx context.Context, access string, clientID, tokenID int64) error
	ListRegistries(ctx context.Context, access string, projectID, regionID int64) ([]iam.Registry, error)
	CreateRegistryUser(ctx context.Context, access string, projectID, regionID, registryID int64, r iam.RegistryUserRequest) (iam.RegistryUser, error)
	RefreshRegistryUserSecret(ctx context.Context, access string, projectID, regionID, registryID, userID int64) (iam.RegistryUser, error)
	DeleteRegistryUser(ctx context.Context, access string, projectID, regionID, registryID, userID int64) error
	ListClusters(ctx context.Context, access string, projectID, regionID int64) ([]iam.Cluster, error)
	ClusterConfig(ctx context.Context, access string, projectID, regionID int64, name string) (iam.ClusterConfig, error)
}

// FailureMemo remembers failed non-interactive logins for a short time so a
// burst of callers fails fast instead of hammering IAM.
type FailureMemo interface {
	Remember(key string, at time.Time, message string) error
	Recall(key string, now time.Time, within time.Duration) (message string, ok bool)
	Forget(key string) error
}

// FailureMemory is how long a failed non-interactive login is remembered.
const FailureMemory = 60 * time.Second

// Engine hands out tokens for one profile.
type Engine struct {
	Profile config.Profile
	Store   Store
	Locker  Locker
	IAM     IAM
	Secrets SecretSources
	Memo    FailureMemo // optional
	Now     func() time.Time
	// Hostname names minted API keys ("gcore-credential-helper <profile>@<host>").
	Hostname string
	// Debugf traces decisions; never pass secrets to it.
	Debugf func(format string, args ...any)

	flight singleflight.Group
}

// GetOptions tune one request for a token.
type GetOptions struct {
	MinTTL time.Duration // served tokens have at least this much life left
	// Refresh marks the current access token rejected and fetches a new one.
	Refresh bool
}

// Key is the cache key of the engine's profile, or "" when the profile does
// not say whose session it is (a password profile without a username).
func (e *Engine) Key() string {
	switch {
	case e.Profile.Auth == config.AuthAPIToken:
		return config.CacheKey(e.Profile, "api-token")
	case e.Profile.Username != "":
		return config.CacheKey(e.Profile, e.Profile.Username)
	}
	return ""
}

// Token returns a credential with at least opts.MinTTL of life left, refreshing
// or logging in when needed and allowed.
func (e *Engine) Token(ctx context.Context, opts GetOptions) (Token, error) {
	key := e.Key()
	if key == "" {
		return Token{}, e.loginRequired()
	}
	// The hit path: one lock-free read.
	sess, err := e.load(key)
	if err != nil {
		return Token{}, err
	}
	now := e.Now()
	if sess != nil && !opts.Refresh && e.servable(sess, now, opts.MinTTL) {
		e.debugf("cache hit for profile %q", e.Profile.Name)
		return sess.token(), nil
	}
	var stale string
	if sess != nil {
		stale = sess.Access
	}
	v, err, _ := e.flight.Do(key, func() (any, error) {
		return e.renewLocked(ctx, key, stale, opts)
	})
	if err != nil {
		return Token{}, err
	}
	return v.(*Session).token(), nil
}

func (e *Engine) servable(s *Session, now time.Time, minTTL time.Duration) bool {
	if s.APIToken != "" {
		return true
	}
	return s.freshAccess(now, minTTL)
}

// renewLocked runs under the cross-process lock: it re-reads the store (another
// process may have done the work while we waited), then refreshes or logs in,
// and persists the result before anyone sees it.
func (e *Engine) renewLocked(ctx context.Context, key, stale string, opts GetOptions) (*Session, error) {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()

	sess, err := e.load(key)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	// A forced refresh is satisfied by any token other than the one the
	// caller wanted replaced.
	if sess != nil && e.servable(sess, now, opts.MinTTL) && (!opts.Refresh || sess.Access != stale) {
		e.debugf("another process renewed profile %q while we waited", e.Profile.Name)
		return sess, nil
	}
	renewed, err := e.renew(ctx, key, sess, now)
	if err != nil && opts.Refresh && sess != nil && stale != "" && sess.Access == stale {
		// The caller said this token is refused; remember that even though
		// no new one could be had, so the next request tries again. It is not
		// written earlier: hits by other callers keep being served during the
		// refresh (SPEC §4, readers never wait).
		_ = e.reject(key, stale)
	}
	return renewed, err
}

// renew refreshes sess when its refresh token is usable, and logs in when
// there is none or IAM rejects it.
func (e *Engine) renew(ctx context.Context, key string, sess *Session, now time.Time) (*Session, error) {
	if sess != nil && sess.Auth != config.AuthAPIToken && sess.usableRefresh(now) {
		renewed, err := e.refresh(ctx, key, sess)
		if err == nil || !errors.Is(err, iam.ErrTokenRejected) {
			return renewed, err
		}
		e.debugf("refresh token rejected for profile %q; a login is needed", e.Profile.Name)
	}
	return e.login(ctx, key, sess, loginRequest{})
}

// refresh spends sess's refresh token, which Gcore accepts once. The store
// forgets the token before it is sent: a process killed after IAM rotated it
// must not leave it for the next process to send again. It is put back only
// when the request certainly never reached IAM. The access token stays: it
// may still be valid for callers with a lower min-TTL.
func (e *Engine) refresh(ctx context.Context, key string, sess *Session) (*Session, error) {
	spent := *sess
	spent.Refresh, spent.RefreshExp = "", time.Time{}
	// The token leaves the store once IAM is connected, just before it is
	// sent (SPEC §4: never twice); until then a crash or a failure to
	// connect leaves it in place.
	var committed atomic.Bool
	commit := func() error {
		committed.Store(true)
		return e.save(key, &spent)
	}
	ctx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
	defer cancel()
	e.debugf("refreshing session for profile %q", e.Profile.Name)
	tokens, err := e.IAM.Refresh(ctx, sess.Refresh, commit)
	if err != nil {
		err = fmt.Errorf("refresh session: %w", err)
		if committed.Load() && refreshRefused(err) {
			if perr := e.save(key, sess); perr != nil {
				return nil, errors.Join(err, perr)
			}
		}
		return nil, err
	}
	next := spent
	if err := next.setTokens(tokens); err != nil {
		return nil, err
	}
	if err := e.save(key, &next); err != nil {
		return nil, err
	}
	return &next, nil
}

// refreshRefused reports whether IAM answered a refresh that reached it
// without processing it (429), so the token it took is still unspent.
// Failures before the request was written never took the token at all.
func refreshRefused(err error) bool {
	var limited *iam.RateLimitedError
	return errors.As(err, &limited)
}

func (e *Engine) lock(ctx context.Context, key string) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, e.Profile.LockTimeout)
	defer cancel()
	unlock, err := e.Locker.Lock(ctx, key)
	if err != nil {
		return nil, lockError(fmt.Sprintf("profile %q", e.Profile.Name), err)
	}
	return unlock, nil
}

// lockError says what a failed Lock means to the user: a wait that ran out
// is another helper still at work on what; anything else (an unsafe lock
// file, say) is reported as it is.
func lockError(what string, err error) error {
	if errors.Is(err, cache.ErrLockTimeout) {
		return fmt.Errorf("wait for another gcore-credential-helper (%s): %w", what, err)
	}
	return err
}

// load reads the session for key; a missing one is (nil, nil).
func (e *Engine) load(key string) (*Session, error) {
	s, _, err := loadRecord(e, key, "session", decodeSession)
	return s, err
}

// loadRecord reads and decodes the record stored under key. A missing record
// is (zero, false, nil). So is an unreadable one: it is not a reason to fail
// forever, the next write replaces it (the trace says so).
func loadRecord[T any](e *Engine, key, what string, decode func([]byte) (T, error)) (T, bool, error) {
	var zero T
	data, err := e.Store.Get(key)
	if errors.Is(err, cache.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("read %s of profile %q: %w", what, e.Profile.Name, err)
	}
	v, err := decode(data)
	if err != nil {
		e.debugf("ignoring unreadable %s of profile %q: %v", what, e.Profile.Name, err)
		return zero, false, nil
	}
	return v, true, nil
}

func (e *Engine) save(key string, s *Session) error {
	s.UpdatedAt = e.Now().UTC()
	if err := e.Store.Put(key, s.encode()); err != nil {
		return fmt.Errorf("save session for profile %q: %w", e.Profile.Name, err)
	}
	return nil
}

func (e *Engine) debugf(format string, args ...any) {
	if e.Debugf != nil {
		e.Debugf(format, args...)
	}
}

// setTokens records a new access/refresh pair with the expiry each token carries.
func (s *Session) setTokens(t iam.Tokens) error {
	access, err := iam.ParseClaims(t.Access)
	if err != nil {
		return fmt.Errorf("read new access token: %w", err)
	}
	refresh, err := iam.ParseClaims(t.Refresh)
	if err != nil {
		return fmt.Errorf("read new refresh token: %w", err)
	}
	s.Access, s.AccessExp = t.Access, access.ExpiresAt
	s.Refresh, s.RefreshExp = t.Refresh, refresh.ExpiresAt
	s.UserID, s.AccountID, s.Account = access.UserID, access.ClientID, access.ClientName
	if s.Username == "" {
		s.Username = access.Email
	}
	return nil
}
