package helper

import (
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/iam"
)

// Token kinds, as they appear in an Authorization header.
const (
	KindBearer = "Bearer"
	KindAPIKey = "APIKey"
)

// Token is a credential ready to hand to a caller.
type Token struct {
	Kind      string    // KindBearer or KindAPIKey
	Value     string    // the access token or API token
	ExpiresAt time.Time // zero when the token never expires
	// RenewAt is when a caller that caches the token should ask again
	// (kubectl's expirationTimestamp, git's password_expiry_utc): the
	// caller's min_ttl before ExpiresAt. Zero when the token never expires.
	RenewAt time.Time
}

// Authorization is the value of an Authorization header carrying the token.
func (t Token) Authorization() string { return t.Kind + " " + t.Value }

// Session is what the engine stores per cache key. It is encrypted at rest by
// the store; nothing here is ever printed except the token handed to a caller.
// Its encoding is in codec.go.
type Session struct {
	Auth      string
	Username  string
	UserID    int64
	AccountID int64
	Account   string
	Access    string
	AccessExp time.Time
	// AccessIssued is when IAM issued the access token, by IAM's clock when
	// it said (else this machine's); with AccessExp it gives the token's
	// lifetime, which Gcore's JWTs do not carry (no iat).
	AccessIssued time.Time
	Refresh      string
	RefreshExp   time.Time
	// Rejected holds an access token a caller reported as refused (git erase,
	// get --refresh): it is never served again.
	Rejected string
	// APIToken is the permanent token of an api-token profile.
	APIToken string
}

// servable reports whether the session's credential can be served with
// minTTL left at now: a permanent API token always, an access token while
// fresh and not rejected.
func (s *Session) servable(now time.Time, minTTL time.Duration) bool {
	if s.APIToken != "" {
		return true
	}
	return s.Access != "" && s.Access != s.Rejected && s.accessExpiry().fresh(now, minTTL)
}

func (s *Session) accessExpiry() expiring {
	return expiring{expires: s.AccessExp, issued: s.AccessIssued}
}

// credential is what the session hands out: the API token or the access token.
func (s *Session) credential() string {
	if s.APIToken != "" {
		return s.APIToken
	}
	return s.Access
}

// usableRefresh reports whether the refresh token is worth sending: present and
// not yet expired (with a small margin for the round trip).
func (s *Session) usableRefresh(now time.Time) bool {
	return s.Refresh != "" && s.RefreshExp.After(now.Add(refreshMargin))
}

// refreshMargin keeps us from sending a refresh token that will have expired by
// the time the server reads it.
const refreshMargin = 10 * time.Second

// token converts the session into what callers receive.
func (s *Session) token(minTTL time.Duration) Token {
	if s.APIToken != "" {
		return Token{Kind: KindAPIKey, Value: s.APIToken}
	}
	return Token{Kind: KindBearer, Value: s.Access, ExpiresAt: s.AccessExp, RenewAt: s.accessExpiry().renewAt(minTTL)}
}

// setTokens records a new access/refresh pair, received at now (used when IAM
// did not say when it issued them), with the expiry each token carries.
func (s *Session) setTokens(t iam.Tokens, now time.Time) error {
	access, err := iam.ParseClaims(t.Access)
	if err != nil {
		return fmt.Errorf("read new access token: %w", err)
	}
	refresh, err := iam.ParseClaims(t.Refresh)
	if err != nil {
		return fmt.Errorf("read new refresh token: %w", err)
	}
	issued := t.IssuedAt
	if issued.IsZero() {
		issued = now
	}
	s.Access, s.AccessExp, s.AccessIssued = t.Access, access.ExpiresAt, issued.UTC().Truncate(time.Second)
	s.Refresh, s.RefreshExp = t.Refresh, refresh.ExpiresAt
	s.UserID, s.AccountID, s.Account = access.UserID, access.ClientID, access.ClientName
	if s.Username == "" {
		s.Username = access.Email
	}
	return nil
}
