package helper

import (
	"context"
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Short-lived API keys (the reference's service credentials): Gcore's newest tools accept only APIKey
// tokens, so a password profile mints one from its session, keeps it
// encrypted next to the session, reuses it until it nears expiry, and keeps
// at most one alive: the previous key is deleted when a new one is minted,
// and logout deletes the current one. Minting is single-flight across
// processes like a refresh, because accounts hold at most ~50 tokens.

// apiKey is the stored record of the profile's minted key.
type apiKey struct {
	Token     string
	ID        int64
	AccountID int64
	ExpiresAt time.Time
	IssuedAt  time.Time // when it was minted; with ExpiresAt, its lifetime
	// Doomed lists ids of earlier keys whose deletion failed; the next mint
	// or logout tries again.
	Doomed []int64
}

var apiKeyMagic = [4]byte{'G', 'C', 'K', 1}

const (
	keyTagToken   = 1
	keyTagID      = 2
	keyTagAccount = 3
	keyTagExpires = 4
	keyTagDoomed  = 5
	keyTagIssued  = 6
)

func (k *apiKey) encode() []byte {
	w := tlv.NewWriter(apiKeyMagic)
	w.String(keyTagToken, k.Token)
	w.Int(keyTagID, k.ID)
	w.Int(keyTagAccount, k.AccountID)
	if !k.ExpiresAt.IsZero() {
		w.Int(keyTagExpires, k.ExpiresAt.Unix())
	}
	if !k.IssuedAt.IsZero() {
		w.Int(keyTagIssued, k.IssuedAt.Unix())
	}
	for _, id := range k.Doomed {
		w.Int(keyTagDoomed, id)
	}
	return w.Encoded()
}

func decodeAPIKey(data []byte) (*apiKey, error) {
	k := &apiKey{}
	err := tlv.Decode(data, apiKeyMagic, func(tag byte, v []byte) error {
		if tag == keyTagToken {
			k.Token = string(v)
			return nil
		}
		n, err := tlv.Int(tag, v)
		if err != nil {
			return err
		}
		switch tag {
		case keyTagID:
			k.ID = n
		case keyTagAccount:
			k.AccountID = n
		case keyTagExpires:
			k.ExpiresAt = time.Unix(n, 0).UTC()
		case keyTagDoomed:
			k.Doomed = append(k.Doomed, n)
		case keyTagIssued:
			k.IssuedAt = time.Unix(n, 0).UTC()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode api key record: %w", err)
	}
	return k, nil
}

// apiKeyRecord is where the profile's minted key lives; it shares the
// session's identity.
func (e *Engine) apiKeyRecord() record[*apiKey] {
	return record[*apiKey]{key: e.Key() + "/api-key", what: "API key", decode: decodeAPIKey, encode: (*apiKey).encode}
}

// APIKey returns a short-lived API key with at least opts.MinTTL of life
// left, minting one (and deleting the previous) when needed; opts.Refresh
// throws the current key away, for a key that was deleted or revoked behind
// the helper's back. Only password profiles mint keys; an api-token
// profile's token is already one.
func (e *Engine) APIKey(ctx context.Context, opts GetOptions) (Token, error) {
	if e.Profile.Auth == config.AuthAPIToken {
		return e.Token(ctx, opts)
	}
	if e.Key() == "" {
		return Token{}, e.loginRequired()
	}
	k, err := serve(ctx, e, e.apiKeyRecord(), renewal[*apiKey]{
		usable: func(k *apiKey) bool { return k.Token != "" && k.expiry().fresh(e.Now(), opts.MinTTL) },
		force:  opts.Refresh,
		same:   func(a, b *apiKey) bool { return a.Token == b.Token },
		fetch: func(ctx context.Context, prev *apiKey, found bool) (*apiKey, error) {
			if !found {
				prev = nil
			}
			return e.mint(ctx, prev)
		},
	})
	if err != nil {
		return Token{}, err
	}
	e.noteCapped("API key", k.expiry(), opts.MinTTL)
	return Token{Kind: KindAPIKey, Value: k.Token, ExpiresAt: k.ExpiresAt, RenewAt: k.expiry().renewAt(opts.MinTTL)}, nil
}

func (k *apiKey) expiry() expiring { return expiring{expires: k.ExpiresAt, issued: k.IssuedAt} }

// mint makes a new key to replace prev (nil: none), with the key record's
// lock held, and deletes prev and any earlier keys whose deletion failed.
func (e *Engine) mint(ctx context.Context, prev *apiKey) (*apiKey, error) {
	// The session must outlive the minting calls, not the key.
	sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
	if err != nil {
		return nil, err
	}
	claims, err := iam.ParseClaims(sess.Value)
	if err != nil {
		return nil, fmt.Errorf("read access token: %w", err)
	}
	role := e.Profile.APIKeyRole
	if role == "" {
		if len(claims.UserGroups) == 0 {
			return nil, fmt.Errorf("profile %q: the user is in no group to give the API key a role; set api_key_role", e.Profile.Name)
		}
		role = claims.UserGroups[0].Name
	}
	now := e.Now().UTC().Truncate(time.Second)
	expires := now.Add(e.Profile.APIKeyTTL)
	e.debugf("minting an API key for profile %q", e.Profile.Name)
	minted, err := callIAM(ctx, e, func(ctx context.Context) (iam.APIToken, error) {
		return e.Keys.CreateAPIToken(ctx, sess.Value, claims.ClientID, iam.APITokenRequest{
			Name:      "gcore-credential-helper " + e.Profile.Name + "@" + e.Hostname,
			ExpiresAt: expires,
			RoleName:  role,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("mint API key for profile %q: %w", e.Profile.Name, err)
	}
	next := &apiKey{Token: minted.Token, ID: minted.ID, AccountID: claims.ClientID, ExpiresAt: expires, IssuedAt: now}
	if prev != nil {
		next.Doomed = append(prev.Doomed, prev.ID)
	}
	// Saved before the old keys are deleted: the new key must never be lost.
	if err := e.apiKeyRecord().save(e, next); err != nil {
		return nil, err
	}
	next.Doomed = e.deleteKeys(ctx, sess.Value, next.AccountID, next.Doomed)
	return next, nil
}

// deleteKeys deletes the given key ids and returns those it could not. A key
// already gone (deleted in the portal) counts as deleted.
func (e *Engine) deleteKeys(ctx context.Context, access string, accountID int64, ids []int64) (left []int64) {
	for _, id := range ids {
		if id == 0 {
			continue
		}
		_, err := callIAM(ctx, e, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, e.Keys.DeleteAPIToken(ctx, access, accountID, id)
		})
		if err != nil {
			e.debugf("could not delete API key %d of profile %q: %v", id, e.Profile.Name, err)
			left = append(left, id)
		}
	}
	return left
}

// revokeAPIKey deletes the profile's minted keys at IAM and forgets them. A
// key that cannot be deleted (no session left to do it with) is reported,
// not hidden: it stays alive until it expires.
func (e *Engine) revokeAPIKey(ctx context.Context) error {
	r := e.apiKeyRecord()
	unlock, err := e.lock(ctx, r.key, r.what)
	if err != nil {
		return err
	}
	defer unlock()
	k, found, err := r.loadOrReplace(e)
	if err != nil || !found {
		return err
	}
	sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
	if err != nil {
		return fmt.Errorf("delete API key %d of profile %q (it expires %s): %w", k.ID, e.Profile.Name, k.ExpiresAt.Format(time.RFC3339), err)
	}
	if left := e.deleteKeys(ctx, sess.Value, k.AccountID, append(k.Doomed, k.ID)); len(left) > 0 {
		return fmt.Errorf("could not delete API keys %v of profile %q at IAM", left, e.Profile.Name)
	}
	return r.delete(e)
}
