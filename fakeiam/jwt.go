package fakeiam

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// jwtHeader is the only header the fake signs; verification covers it, so it is never parsed.
const jwtHeader = `{"alg":"RS256","typ":"JWT"}`

// claims is exactly Gcore's claim set: no iat, iss, aud or sub.
type claims struct {
	TokenType  string  `json:"token_type"`
	Exp        int64   `json:"exp"`
	JTI        string  `json:"jti"`
	RJTI       string  `json:"rjti,omitempty"` // access tokens only: the jti of their refresh token
	UserID     int64   `json:"user_id"`
	ClientID   int64   `json:"client_id"`
	Email      string  `json:"email"`
	Username   string  `json:"username"`
	ClientName string  `json:"client_name"`
	UserGroups []Group `json:"user_groups"`
	IsAdmin    bool    `json:"is_admin"`
}

const (
	typeAccess  = "access"
	typeRefresh = "refresh"
)

// sessionClaims are the claims shared by both tokens of a session of u in acct.
func sessionClaims(u User, acct Account) claims {
	return claims{
		UserID:     u.UserID,
		ClientID:   acct.ID,
		Email:      u.Email,
		Username:   u.Email,
		ClientName: acct.Name,
		UserGroups: append([]Group{}, u.Groups...), // [] rather than null when there are none
		IsAdmin:    u.IsAdmin,
	}
}

// tokenPair is IAM's login/refresh answer.
type tokenPair struct {
	Refresh string `json:"refresh"`
	Access  string `json:"access"`
}

// issue signs a new refresh token and an access token bound to it, copying the identity from base.
func (s *Server) issue(base claims) (tokenPair, error) {
	now := s.cfg.Now()
	refreshID, err := s.randomHex(16)
	if err != nil {
		return tokenPair{}, err
	}
	accessID, err := s.randomHex(16)
	if err != nil {
		return tokenPair{}, err
	}
	refresh := base
	refresh.TokenType, refresh.JTI, refresh.RJTI = typeRefresh, refreshID, ""
	refresh.Exp = now.Add(s.cfg.RefreshTTL).Unix()
	access := base
	access.TokenType, access.JTI, access.RJTI = typeAccess, accessID, refreshID
	access.Exp = now.Add(s.cfg.AccessTTL).Unix()

	var p tokenPair
	if p.Refresh, err = s.sign(refresh); err != nil {
		return tokenPair{}, err
	}
	if p.Access, err = s.sign(access); err != nil {
		return tokenPair{}, err
	}
	return p, nil
}

func (s *Server) sign(c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString([]byte(jwtHeader)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// parse returns the claims of a token this server signed, expired or not.
func (s *Server) parse(token string) (claims, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims{}, false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return claims{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, false
	}
	var c claims
	if json.Unmarshal(payload, &c) != nil {
		return claims{}, false
	}
	return c, true
}

// current returns the claims of an unexpired token of the wanted type that was not revoked.
func (s *Server) current(token, tokenType string) (claims, bool) {
	c, ok := s.parse(token)
	if !ok || c.TokenType != tokenType || !s.cfg.Now().Before(time.Unix(c.Exp, 0)) {
		return claims{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked[c.JTI] {
		return claims{}, false
	}
	return c, true
}

// AccessTokenValid reports whether token is an access token this server signed that has not
// expired or been revoked, the check a fake kube-apiserver needs.
func (s *Server) AccessTokenValid(token string) bool {
	_, ok := s.current(token, typeAccess)
	return ok
}

// Revoke blacklists a refresh or access token this server signed; anything else is ignored.
// Revoking a refresh token does not count as reuse.
func (s *Server) Revoke(refreshOrAccess string) {
	c, ok := s.parse(refreshOrAccess)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[c.JTI] = true
}
