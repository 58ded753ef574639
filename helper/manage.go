package helper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Logout forgets the profile's session. There is no logout endpoint in Gcore
// IAM: the tokens simply stop being used and expire.
func (e *Engine) Logout(ctx context.Context) error {
	key := e.Key()
	if key == "" {
		return nil
	}
	// Minted API keys and provisioned registry users are deleted first, while
	// the session can still authenticate that; a failure does not keep the
	// session from going.
	revokeErr := errors.Join(e.revokeAPIKey(ctx), e.revokeRegistryUsers(ctx))
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return errors.Join(revokeErr, err)
	}
	defer unlock()
	if err := e.Store.Delete(key); err != nil {
		return errors.Join(revokeErr, fmt.Errorf("delete session for profile %q: %w", e.Profile.Name, err))
	}
	// Cluster certificates live two years; without the session they must
	// not stay behind either.
	if err := e.forgetClusters(); err != nil {
		return errors.Join(revokeErr, fmt.Errorf("delete cluster certificates of profile %q: %w", e.Profile.Name, err))
	}
	if e.Memo != nil {
		_ = e.Memo.Forget(key)
	}
	return revokeErr
}

// Reject marks token as refused by its consumer (git erase): it is never
// served again, so the next request refreshes. A token that is no longer the
// current one is ignored.
func (e *Engine) Reject(ctx context.Context, token string) error {
	key := e.Key()
	if key == "" || token == "" {
		return nil
	}
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	return e.reject(key, token)
}

// reject marks token refused in the stored session, with the key's lock held.
func (e *Engine) reject(key, token string) error {
	sess, err := e.load(key)
	if err != nil || sess == nil || sess.Access != token {
		return err
	}
	sess.Rejected = token
	return e.save(key, sess)
}

// Status describes a profile's session without any secret in it.
type Status struct {
	Profile    string    `json:"profile"`
	Auth       string    `json:"auth"`
	LoggedIn   bool      `json:"logged_in"`
	Username   string    `json:"username,omitempty"`
	UserID     int64     `json:"user_id,omitempty"`
	AccountID  int64     `json:"account_id,omitempty"`
	Account    string    `json:"account,omitempty"`
	AccessExp  time.Time `json:"access_expires_at,omitzero"`
	RefreshExp time.Time `json:"refresh_expires_at,omitzero"`
	// Fingerprint identifies the current token without revealing it.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Fresh reports whether a get with the profile's min-TTL would be a hit.
	Fresh bool `json:"fresh"`
	// APIKeyID and APIKeyExpiresAt describe the minted short-lived API key.
	APIKeyID        int64     `json:"api_key_id,omitempty"`
	APIKeyExpiresAt time.Time `json:"api_key_expires_at,omitzero"`
	// RegistryUsers are the provisioned Container Registry users.
	RegistryUsers []RegistryUserStatus `json:"registry_users,omitempty"`
	// Clusters are the cached Managed Kubernetes client certificates.
	Clusters []ClusterStatus `json:"clusters,omitempty"`
}

// RegistryUserStatus describes a provisioned registry user, without its secret.
type RegistryUserStatus struct {
	Host      string    `json:"host"`
	Username  string    `json:"username"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ClusterStatus describes a cached cluster certificate, without the key.
type ClusterStatus struct {
	Cluster       string    `json:"cluster"` // project/region/name
	CertExpiresAt time.Time `json:"certificate_expires_at"`
}

// Status reads the profile's session, lock-free.
func (e *Engine) Status() (Status, error) {
	st := Status{Profile: e.Profile.Name, Auth: e.Profile.Auth, Username: e.Profile.Username, AccountID: e.Profile.ClientID}
	key := e.Key()
	if key == "" {
		return st, nil
	}
	sess, err := e.load(key)
	if err != nil || sess == nil {
		return st, err
	}
	tok := sess.token()
	st.LoggedIn = sess.APIToken != "" || sess.Access != "" || sess.Refresh != ""
	st.Username, st.UserID, st.AccountID, st.Account = sess.Username, sess.UserID, sess.AccountID, sess.Account
	st.AccessExp, st.RefreshExp = sess.AccessExp, sess.RefreshExp
	st.Fingerprint = Fingerprint(tok.Value)
	st.Fresh = e.servable(sess, e.Now(), e.Profile.MinTTL)
	if k, err := e.loadAPIKey(e.apiKeyKey()); err == nil && k != nil {
		st.APIKeyID, st.APIKeyExpiresAt = k.ID, k.ExpiresAt
	}
	for _, reg := range e.Profile.Registries {
		if u, err := e.loadRegistryUser(e.registryUserKey(reg.Host)); err == nil && u != nil {
			st.RegistryUsers = append(st.RegistryUsers, RegistryUserStatus{Host: reg.Host, Username: u.Name, ExpiresAt: u.ExpiresAt})
		}
	}
	keys, _ := e.clusterKeys()
	for _, k := range keys {
		if c, ok, err := e.loadCluster(k); err == nil && ok {
			st.Clusters = append(st.Clusters, ClusterStatus{Cluster: strings.TrimPrefix(k, key+"/cluster/"), CertExpiresAt: c.CertExpiresAt})
		}
	}
	return st, nil
}
