package helper

import (
	"context"
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Short-lived API keys (SPEC §12): Gcore's newest tools accept only APIKey
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
)

func (k *apiKey) encode() []byte {
	w := tlv.NewWriter(apiKeyMagic)
	w.String(keyTagToken, k.Token)
	w.Int(keyTagID, k.ID)
	w.Int(keyTagAccount, k.AccountID)
	if !k.ExpiresAt.IsZero() {
		w.Int(keyTagExpires, k.ExpiresAt.Unix())
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
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode api key record: %w", err)
	}
	return k, nil
}

// apiKeyKey names the key record; it shares the session's identity.
func (e *Engine) apiKeyKey() string { return e.Key() + "/api-key" }

// APIKey returns a short-lived API key with at least opts.MinTTL of life
// left, minting one (and deleting the previous) when needed. Only password
// profiles mint keys; an api-token profile's token is already one.
func (e *Engine) APIKey(ctx context.Context, opts GetOptions) (Token, error) {
	if e.Profile.Auth == config.AuthAPIToken {
		return e.Token(ctx, opts)
	}
	if e.Key() == "" {
		return Token{}, e.loginRequired()
	}
	key := e.apiKeyKey()
	if k, err := e.loadAPIKey(key); err != nil {
		return Token{}, err
	} else if k != nil && k.fresh(e.Now(), opts.MinTTL) {
		return k.token(), nil
	}
	v, err, _ := e.flight.Do(key, func() (any, error) { return e.mintLocked(ctx, key, opts) })
	if err != nil {
		return Token{}, err
	}
	return v.(*apiKey).token(), nil
}

func (k *apiKey) fresh(now time.Time, minTTL time.Duration) bool {
	return k.Token != "" && !k.ExpiresAt.Before(now.Add(minTTL))
}

func (k *apiKey) token() Token {
	return Token{Kind: KindAPIKey, Value: k.Token, ExpiresAt: k.ExpiresAt}
}

// mintLocked mints under the key record's lock, after reading it again:
// another process may have minted while we waited.
func (e *Engine) mintLocked(ctx context.Context, key string, opts GetOptions) (*apiKey, error) {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	prev, err := e.loadAPIKey(key)
	if err != nil {
		return nil, err
	}
	now := e.Now()
	if prev != nil && prev.fresh(now, opts.MinTTL) {
		return prev, nil
	}
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
	netCtx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
	defer cancel()
	e.debugf("minting an API key for profile %q", e.Profile.Name)
	minted, err := e.IAM.CreateAPIToken(netCtx, sess.Value, claims.ClientID, iam.APITokenRequest{
		Name:      "gcore-credential-helper " + e.Profile.Name + "@" + e.Hostname,
		ExpiresAt: now.Add(e.Profile.APIKeyTTL).UTC().Truncate(time.Second),
		RoleName:  role,
	})
	if err != nil {
		return nil, fmt.Errorf("mint API key for profile %q: %w", e.Profile.Name, err)
	}
	next := &apiKey{Token: minted.Token, ID: minted.ID, AccountID: claims.ClientID,
		ExpiresAt: now.Add(e.Profile.APIKeyTTL).UTC().Truncate(time.Second)}
	if prev != nil {
		next.Doomed = append(prev.Doomed, prev.ID)
	}
	// Saved before the old keys are deleted: the new key must never be lost.
	if err := e.saveAPIKey(key, next); err != nil {
		return nil, err
	}
	if left := e.deleteKeys(ctx, sess.Value, next.AccountID, next.Doomed); len(left) != len(next.Doomed) {
		next.Doomed = left
		if err := e.saveAPIKey(key, next); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// deleteKeys deletes the given key ids and returns those it could not.
func (e *Engine) deleteKeys(ctx context.Context, access string, accountID int64, ids []int64) (left []int64) {
	for _, id := range ids {
		if id == 0 {
			continue
		}
		netCtx, cancel := context.WithTimeout(ctx, e.Profile.HTTPTimeout)
		err := e.IAM.DeleteAPIToken(netCtx, access, accountID, id)
		cancel()
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
	key := e.apiKeyKey()
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	k, err := e.loadAPIKey(key)
	if err != nil || k == nil {
		return err
	}
	sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
	if err != nil {
		return fmt.Errorf("delete API key %d of profile %q (it expires %s): %w", k.ID, e.Profile.Name, k.ExpiresAt.Format(time.RFC3339), err)
	}
	if left := e.deleteKeys(ctx, sess.Value, k.AccountID, append(k.Doomed, k.ID)); len(left) > 0 {
		return fmt.Errorf("could not delete API keys %v of profile %q at IAM", left, e.Profile.Name)
	}
	return e.Store.Delete(key)
}

func (e *Engine) saveAPIKey(key string, k *apiKey) error {
	if err := e.Store.Put(key, k.encode()); err != nil {
		return fmt.Errorf("save API key of profile %q: %w", e.Profile.Name, err)
	}
	return nil
}

func (e *Engine) loadAPIKey(key string) (*apiKey, error) {
	k, _, err := loadRecord(e, key, "API key", decodeAPIKey)
	return k, err
}
