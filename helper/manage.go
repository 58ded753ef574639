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
	r := e.sessionRecord()
	unlock, err := e.lock(ctx, r.key, r.what)
	if err != nil {
		return errors.Join(revokeErr, err)
	}
	defer unlock()
	if err := r.delete(e); err != nil {
		return errors.Join(revokeErr, err)
	}
	for _, reg := range e.Profile.Registries {
		if reg.Host == "" {
			if err := e.registryPlaceRecord(reg).delete(e); err != nil {
				return errors.Join(revokeErr, err)
			}
		}
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
	if e.Key() == "" || token == "" {
		return nil
	}
	r := e.sessionRecord()
	unlock, err := e.lock(ctx, r.key, r.what)
	if err != nil {
		return err
	}
	defer unlock()
	sess, found, err := r.load(e)
	if err != nil || !found || sess.Access != token {
		return err
	}
	sess.Rejected = token
	return r.save(e, sess)
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
	sess, found, err := e.sessionRecord().load(e)
	if err != nil || !found {
		return st, err
	}
	st.LoggedIn = sess.APIToken != "" || sess.Access != "" || sess.Refresh != ""
	st.Username, st.UserID, st.AccountID, st.Account = sess.Username, sess.UserID, sess.AccountID, sess.Account
	st.AccessExp, st.RefreshExp = sess.AccessExp, sess.RefreshExp
	st.Fingerprint = Fingerprint(sess.credential())
	st.Fresh = sess.servable(e.Now(), e.Profile.MinTTL)
	if k, ok, err := e.apiKeyRecord().loadOrReplace(e); err == nil && ok {
		st.APIKeyID, st.APIKeyExpiresAt = k.ID, k.ExpiresAt
	}
	for _, reg := range e.Profile.Registries {
		host := reg.Host
		if host == "" {
			if host, _, _ = e.knownRegistryHost(reg); host == "" {
				continue
			}
		}
		if u, ok, err := e.registryUserRecord(host).loadOrReplace(e); err == nil && ok {
			st.RegistryUsers = append(st.RegistryUsers, RegistryUserStatus{Host: host, Username: u.Name, ExpiresAt: u.ExpiresAt})
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
