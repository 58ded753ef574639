package helper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

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

// AuthAPI is the part of Gcore IAM that makes and checks sessions.
type AuthAPI interface {
	Login(ctx context.Context, cr iam.Credentials) (iam.Tokens, error)
	Refresh(ctx context.Context, refresh string) (iam.Tokens, error)
	SwitchAccount(ctx context.Context, access string, clientID int64) (iam.Tokens, error)
	Me(ctx context.Context, authorization string) (iam.Account, error)
}

// KeysAPI mints and deletes permanent API tokens with a JWT session.
type KeysAPI interface {
	CreateAPIToken(ctx context.Context, access string, clientID int64, r iam.APITokenRequest) (iam.APIToken, error)
	DeleteAPIToken(ctx context.Context, access string, clientID, tokenID int64) error
}

// CloudAPI is the part of Gcore Cloud that turns a session into service
// credentials. Every call takes the whole Authorization header value of the
// profile's own credential (Bearer or APIKey).
type CloudAPI interface {
	ListProjects(ctx context.Context, authorization string) ([]iam.Project, error)
	ListRegions(ctx context.Context, authorization string) ([]iam.Region, error)
	ListRegistries(ctx context.Context, authorization string, projectID, regionID int64) ([]iam.Registry, error)
	CreateRegistryUser(ctx context.Context, authorization string, projectID, regionID, registryID int64, r iam.RegistryUserRequest) (iam.RegistryUser, error)
	DeleteRegistryUser(ctx context.Context, authorization string, projectID, regionID, registryID, userID int64) error
	ListClusters(ctx context.Context, authorization string, projectID, regionID int64) ([]iam.Cluster, error)
	ClusterConfig(ctx context.Context, authorization string, projectID, regionID int64, name string) (iam.ClusterConfig, error)
}

// FailureMemo remembers failed non-interactive logins for a short time so a
// burst of callers fails fast instead of hammering IAM.
type FailureMemo interface {
	Remember(key string, at time.Time, message string) error
	Recall(key string, now time.Time, within time.Duration) (message string, at time.Time, ok bool)
	Forget(key string) error
}

// FailureMemory is how long a failed non-interactive login is remembered.
const FailureMemory = 60 * time.Second

// Engine hands out tokens for one profile.
type Engine struct {
	Profile config.Profile
	Store   Store
	Locker  Locker
	Auth    AuthAPI
	Keys    KeysAPI
	Cloud   CloudAPI
	Secrets SecretSources
	Memo    FailureMemo // optional
	Now     func() time.Time
	// Hostname names minted API keys ("gcore-credential-helper <profile>@<host>").
	Hostname string
	// Debugf traces decisions; Notef tells the user something they should
	// know (one line, on stderr). Never pass secrets to either.
	Debugf, Notef func(format string, args ...any)

	flight singleflight.Group
}

// withProfile is an engine with the same parts for profile p.
func (e *Engine) withProfile(p config.Profile) *Engine {
	return &Engine{Profile: p, Store: e.Store, Locker: e.Locker, Auth: e.Auth, Keys: e.Keys, Cloud: e.Cloud,
		Secrets: e.Secrets, Memo: e.Memo, Now: e.Now, Hostname: e.Hostname, Debugf: e.Debugf, Notef: e.Notef}
}

// GetOptions tune one request for a token.
type GetOptions struct {
	MinTTL time.Duration // served tokens have at least this much life left
	// Refresh marks the current credential refused and fetches a new one.
	Refresh bool
}

// Key is the cache key of the engine's profile, or "" when the profile does
// not say whose session it is (a password profile without a username).
func (e *Engine) Key() string { return sessionKey(e.Profile) }

func sessionKey(p config.Profile) string {
	switch {
	case p.Auth == config.AuthAPIToken:
		return config.CacheKey(p, "api-token")
	case p.Username != "":
		return config.CacheKey(p, p.Username)
	}
	return ""
}

// sessionRecord is where the profile's session lives.
func (e *Engine) sessionRecord() record[*Session] {
	return record[*Session]{key: e.Key(), what: "session", decode: decodeSession, encode: (*Session).encode}
}

// Token returns a credential with at least opts.MinTTL of life left (see
// effectiveMinTTL), refreshing or logging in when needed and allowed. A
// damaged session is an error here (login replaces it), not a reason to log
// in unasked.
func (e *Engine) Token(ctx context.Context, opts GetOptions) (Token, error) {
	if e.Key() == "" {
		return Token{}, e.loginRequired()
	}
	r := e.sessionRecord()
	sess, err := serve(ctx, e, r, renewal[*Session]{
		usable:      func(s *Session) bool { return s.servable(e.Now(), opts.MinTTL) },
		force:       opts.Refresh,
		same:        func(a, b *Session) bool { return a.credential() == b.credential() },
		keepDamaged: true,
		fetch: func(ctx context.Context, prev *Session, found bool) (*Session, error) {
			next, err := e.renewSession(ctx, r, prev, found)
			if err != nil && opts.Refresh && found && prev.Access != "" {
				// The caller said this token is refused; remember that even
				// though no new one could be had, so the next request tries
				// again. It is not written earlier: hits by other callers keep
				// being served meanwhile (readers never wait).
				prev.Rejected = prev.Access
				err = errors.Join(err, r.save(e, prev))
			}
			return next, err
		},
	})
	if err != nil {
		return Token{}, err
	}
	tok := sess.token(opts.MinTTL)
	if sess.APIToken == "" {
		e.noteCapped("access token", sess.accessExpiry(), opts.MinTTL)
	}
	return tok, nil
}

// renewSession refreshes prev when its refresh token is usable, and logs in
// when there is none or IAM refuses it. It runs with the session's lock held.
func (e *Engine) renewSession(ctx context.Context, r record[*Session], prev *Session, found bool) (*Session, error) {
	if !found {
		prev = nil
	}
	if prev != nil && prev.Auth != config.AuthAPIToken && prev.usableRefresh(e.Now()) {
		next, err := e.refresh(ctx, prev)
		if !errors.Is(err, iam.ErrTokenRejected) {
			return next, err
		}
		// IAM refused the refresh token (spent, revoked or expired): it is
		// dropped now, so that no later call sends it again.
		e.debugf("refresh token of profile %q refused; a login is needed", e.Profile.Name)
		prev.Refresh, prev.RefreshExp = "", time.Time{}
		if err := r.save(e, prev); err != nil {
			return nil, err
		}
	}
	return e.login(ctx, prev, false)
}

// refresh exchanges sess's refresh token, which Gcore accepts once, for a new
// pair. The old token stays in the store until the new pair replaces it
// (the reference's token engine): a process killed while the request is on its way leaves it to be
// tried once more, which IAM refuses if it had consumed it (then a login is
// needed, as it must be) and accepts if the request never arrived (then no
// login is needed). A refusal (401) is reported as iam.ErrTokenRejected, and
// the caller drops the token; any other failure leaves it, because IAM may
// never have seen it.
func (e *Engine) refresh(ctx context.Context, sess *Session) (*Session, error) {
	e.debugf("refreshing session for profile %q", e.Profile.Name)
	tokens, err := callIAM(ctx, e, func(ctx context.Context) (iam.Tokens, error) { return e.Auth.Refresh(ctx, sess.Refresh) })
	if err != nil {
		return nil, fmt.Errorf("refresh session: %w", err)
	}
	next := *sess
	if err := next.setTokens(tokens, e.Now()); err != nil {
		return nil, err
	}
	return &next, nil
}

func (e *Engine) debugf(format string, args ...any) {
	if e.Debugf != nil {
		e.Debugf(format, args...)
	}
}

func (e *Engine) notef(format string, args ...any) {
	if e.Notef != nil {
		e.Notef(format, args...)
	}
}
