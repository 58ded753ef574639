package helper

import "time"

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
}

// Authorization is the value of an Authorization header carrying the token.
func (t Token) Authorization() string { return t.Kind + " " + t.Value }

// Session is what the engine stores per cache key. It is encrypted at rest by
// the store; nothing here is ever printed except the token handed to a caller.
// Its encoding is in codec.go.
type Session struct {
	Auth       string
	Username   string
	UserID     int64
	AccountID  int64
	Account    string
	Access     string
	AccessExp  time.Time
	Refresh    string
	RefreshExp time.Time
	// Rejected holds an access token a caller reported as refused (git erase,
	// get --refresh): it is never served again.
	Rejected string
	// APIToken is the permanent token of an api-token profile.
	APIToken string
	// UpdatedAt is when the session was last written.
	UpdatedAt time.Time
}

// freshAccess reports whether the access token can be served: present, not
// rejected, and with at least minTTL of life left at now.
func (s *Session) freshAccess(now time.Time, minTTL time.Duration) bool {
	return s.Access != "" && s.Access != s.Rejected && !s.AccessExp.Before(now.Add(minTTL))
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
func (s *Session) token() Token {
	if s.APIToken != "" {
		return Token{Kind: KindAPIKey, Value: s.APIToken}
	}
	return Token{Kind: KindBearer, Value: s.Access, ExpiresAt: s.AccessExp}
}
