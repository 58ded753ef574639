package iam

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Claims is what a Gcore access or refresh token says about itself (the reference's Gcore IAM calls).
// They are read without verifying the signature: Gcore publishes no key, and
// the tokens are only ever sent back to the server that signed them, so the
// claims serve to schedule refreshes and to show who is logged in, never to
// make a trust decision.
type Claims struct {
	// TokenType is "access" or "refresh".
	TokenType string
	ExpiresAt time.Time
	// JTI is the token's id; an access token's RJTI is its refresh token's JTI.
	JTI, RJTI string
	// UserID is the user; ClientID is the account (client) the token is for.
	UserID, ClientID            int64
	Email, Username, ClientName string
	UserGroups                  []Group
	IsAdmin                     bool
}

// Group is one of the user's groups (roles) in the account.
type Group struct {
	ID   int64
	Name string
}

// ParseClaims reads a JWT's payload. exp is required; the other claims are
// taken leniently: numbers may come as JSON numbers or numeric strings,
// user_groups as objects {id, name} or as bare names or ids, and a claim of an
// unexpected type is left at its zero value. Errors never quote the token.
func ParseClaims(jwt string) (Claims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("parse jwt: want 3 dot-separated parts, got %d", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		// The decoder's error only gives an offset, never the data.
		return Claims{}, fmt.Errorf("parse jwt: payload is not base64url: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	// The JSON error would quote bits of the payload: say less.
	if dec.Decode(&m) != nil || m == nil {
		return Claims{}, errors.New("parse jwt: payload is not a json object")
	}
	exp, ok := intOf(m["exp"])
	if !ok {
		return Claims{}, errors.New("parse jwt: no valid exp claim")
	}
	c := Claims{
		TokenType:  stringOf(m["token_type"]),
		ExpiresAt:  time.Unix(exp, 0).UTC(),
		JTI:        stringOf(m["jti"]),
		RJTI:       stringOf(m["rjti"]),
		Email:      stringOf(m["email"]),
		Username:   stringOf(m["username"]),
		ClientName: stringOf(m["client_name"]),
		IsAdmin:    boolOf(m["is_admin"]),
	}
	c.UserID, _ = intOf(m["user_id"])
	c.ClientID, _ = intOf(m["client_id"])
	if list, ok := m["user_groups"].([]any); ok {
		for _, item := range list {
			if g, ok := groupOf(item); ok {
				c.UserGroups = append(c.UserGroups, g)
			}
		}
	}
	return c, nil
}

func groupOf(v any) (Group, bool) {
	switch v := v.(type) {
	case map[string]any:
		id, _ := intOf(v["id"])
		g := Group{ID: id, Name: stringOf(v["name"])}
		return g, g != Group{}
	case json.Number:
		id, ok := intOf(v)
		return Group{ID: id}, ok
	case string:
		// A bare string is a group name, unless it is a number.
		if id, ok := intOf(v); ok {
			return Group{ID: id}, true
		}
		return Group{Name: v}, v != ""
	}
	return Group{}, false
}

// intOf accepts a JSON number or a numeric string; a fraction is truncated.
func intOf(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	// The range test also rejects NaN and ±Inf.
	if err != nil || !(f >= math.MinInt64 && f < math.MaxInt64) {
		return 0, false
	}
	return int64(f), true
}

func stringOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

func boolOf(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(strings.TrimSpace(v))
		return b
	case json.Number:
		n, ok := intOf(v)
		return ok && n != 0
	}
	return false
}
