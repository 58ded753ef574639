package helper

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Gcore Container Registry logins (SPEC §12): the registry accepts only
// registry users, whose secret the Cloud API shows once, at creation or
// renewal. The docker persona provisions one per profile, registry and
// machine, keeps it encrypted, renews its secret once it nears expiry, and
// logout deletes it.

// registryUser is the stored record of a provisioned registry user.
type registryUser struct {
	ID         int64
	RegistryID int64
	Name       string // the docker username, "r_…+name"
	Secret     string
	ExpiresAt  time.Time
}

var registryUserMagic = [4]byte{'G', 'C', 'U', 1}

const (
	userTagID       = 1
	userTagRegistry = 2
	userTagName     = 3
	userTagSecret   = 4
	userTagExpires  = 5
)

func (u *registryUser) encode() []byte {
	w := tlv.NewWriter(registryUserMagic)
	w.Int(userTagID, u.ID)
	w.Int(userTagRegistry, u.RegistryID)
	w.String(userTagName, u.Name)
	w.String(userTagSecret, u.Secret)
	w.Int(userTagExpires, u.ExpiresAt.Unix())
	return w.Encoded()
}

func decodeRegistryUser(data []byte) (*registryUser, error) {
	u := &registryUser{}
	err := tlv.Decode(data, registryUserMagic, func(tag byte, v []byte) error {
		switch tag {
		case userTagName:
			u.Name = string(v)
			return nil
		case userTagSecret:
			u.Secret = string(v)
			return nil
		}
		n, err := tlv.Int(tag, v)
		if err != nil {
			return err
		}
		switch tag {
		case userTagID:
			u.ID = n
		case userTagRegistry:
			u.RegistryID = n
		case userTagExpires:
			u.ExpiresAt = time.Unix(n, 0).UTC()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode registry user record: %w", err)
	}
	return u, nil
}

func (u *registryUser) fresh(now time.Time, minTTL time.Duration) bool {
	return u.Secret != "" && !u.ExpiresAt.Before(now.Add(minTTL))
}

func (e *Engine) registryUserKey(host string) string { return e.Key() + "/registry/" + host }

// RegistryLogin returns the docker login for a configured registry: the
// provisioned user, created or renewed when its secret has less than
// opts.MinTTL left. Provisioning is single-flight across processes.
func (e *Engine) RegistryLogin(ctx context.Context, reg config.Registry, opts GetOptions) (RegistryCredential, error) {
	if e.Key() == "" {
		return RegistryCredential{}, e.loginRequired()
	}
	key := e.registryUserKey(reg.Host)
	u, err := e.loadRegistryUser(key)
	if err != nil {
		return RegistryCredential{}, err
	}
	if u == nil || !u.fresh(e.Now(), opts.MinTTL) {
		v, err, _ := e.flight.Do(key, func() (any, error) { return e.provisionLocked(ctx, key, reg, opts) })
		if err != nil {
			return RegistryCredential{}, err
		}
		u = v.(*registryUser)
	}
	return RegistryCredential{Host: reg.Host, Username: u.Name, Secret: u.Secret}, nil
}

func (e *Engine) provisionLocked(ctx context.Context, key string, reg config.Registry, opts GetOptions) (*registryUser, error) {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	u, err := e.loadRegistryUser(key)
	if err != nil {
		return nil, err
	}
	if u != nil && u.fresh(e.Now(), opts.MinTTL) {
		return u, nil
	}
	sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
	if err != nil {
		return nil, err
	}
	netCtx, cancel := context.WithTimeout(ctx, 2*e.Profile.HTTPTimeout)
	defer cancel()
	var fresh *registryUser
	if u != nil {
		fresh, err = e.renewRegistryUser(netCtx, sess.Value, reg, u)
	}
	if u == nil || errors.Is(err, iam.ErrNotFound) { // none yet, or deleted behind our back
		fresh, err = e.newRegistryUser(netCtx, sess.Value, reg)
	}
	if err != nil {
		return nil, fmt.Errorf("registry login for %s: %w", reg.Host, err)
	}
	if err := e.Store.Put(key, fresh.encode()); err != nil {
		return nil, fmt.Errorf("save registry user of %s: %w", reg.Host, err)
	}
	return fresh, nil
}

// renewRegistryUser rotates u's secret; the user and its name stay.
func (e *Engine) renewRegistryUser(ctx context.Context, access string, reg config.Registry, u *registryUser) (*registryUser, error) {
	e.debugf("renewing the registry user of %s for profile %q", reg.Host, e.Profile.Name)
	r, err := e.IAM.RefreshRegistryUserSecret(ctx, access, reg.ProjectID, reg.RegionID, u.RegistryID, u.ID)
	if err != nil {
		return nil, err
	}
	// A renewal need not repeat the name.
	return &registryUser{ID: u.ID, RegistryID: u.RegistryID, Name: cmp.Or(r.Name, u.Name), Secret: r.Secret, ExpiresAt: r.ExpiresAt}, nil
}

// newRegistryUser provisions a user in the configured registry.
func (e *Engine) newRegistryUser(ctx context.Context, access string, reg config.Registry) (*registryUser, error) {
	regID, err := e.registryID(ctx, access, reg)
	if err != nil {
		return nil, err
	}
	r, err := e.createRegistryUser(ctx, access, reg, regID)
	if err != nil {
		return nil, err
	}
	return &registryUser{ID: r.ID, RegistryID: regID, Name: r.Name, Secret: r.Secret, ExpiresAt: r.ExpiresAt}, nil
}

// createRegistryUser provisions a user whose short name is derived from the
// profile, this machine and the registry, so reruns on one machine find the
// same name; a 409 (the name is taken, perhaps by a user whose record a
// crash lost) moves on to the next candidate.
func (e *Engine) createRegistryUser(ctx context.Context, access string, reg config.Registry, regID int64) (iam.RegistryUser, error) {
	req := iam.RegistryUserRequest{DurationDays: reg.UserTTLDays, ReadOnly: reg.ReadOnly}
	for attempt := range 3 {
		req.Name = registryUserName(e.Profile.Name, e.Hostname, regID, attempt)
		e.debugf("creating registry user %s on %s for profile %q", req.Name, reg.Host, e.Profile.Name)
		u, err := e.IAM.CreateRegistryUser(ctx, access, reg.ProjectID, reg.RegionID, regID, req)
		if !errors.Is(err, iam.ErrConflict) {
			return u, err
		}
	}
	return iam.RegistryUser{}, fmt.Errorf("registry user names for this machine are all taken on %s; delete stale users in the Gcore portal", reg.Host)
}

// registryUserName is "gch" and 13 hex digits: at most 16 of [a-z0-9].
func registryUserName(profile, host string, registryID int64, attempt int) string {
	sum := sha256.Sum256([]byte(profile + "\x00" + host + "\x00" + strconv.FormatInt(registryID, 10) + "\x00" + strconv.Itoa(attempt)))
	return "gch" + hex.EncodeToString(sum[:])[:13]
}

// registryID is the configured id, or the one the Cloud API lists under the
// configured name.
func (e *Engine) registryID(ctx context.Context, access string, reg config.Registry) (int64, error) {
	if reg.RegistryID != 0 {
		return reg.RegistryID, nil
	}
	list, err := e.IAM.ListRegistries(ctx, access, reg.ProjectID, reg.RegionID)
	if err != nil {
		return 0, fmt.Errorf("list registries of project %d region %d: %w", reg.ProjectID, reg.RegionID, err)
	}
	for _, r := range list {
		if r.Name == reg.RegistryName {
			return r.ID, nil
		}
	}
	return 0, fmt.Errorf("no registry named %q in project %d region %d", reg.RegistryName, reg.ProjectID, reg.RegionID)
}

// revokeRegistryUsers deletes the profile's provisioned registry users at
// the Cloud API and forgets them; users it cannot delete are reported.
func (e *Engine) revokeRegistryUsers(ctx context.Context) error {
	var errs []error
	for _, reg := range e.Profile.Registries {
		key := e.registryUserKey(reg.Host)
		u, err := e.loadRegistryUser(key)
		if err != nil || u == nil {
			errs = append(errs, err)
			continue
		}
		sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
		if err == nil {
			netCtx, cancel := context.WithTimeout(ctx, 2*e.Profile.HTTPTimeout)
			err = e.IAM.DeleteRegistryUser(netCtx, sess.Value, reg.ProjectID, reg.RegionID, u.RegistryID, u.ID)
			cancel()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete registry user %s on %s (it expires %s): %w", u.Name, reg.Host, u.ExpiresAt.Format(time.RFC3339), err))
			continue
		}
		errs = append(errs, e.Store.Delete(key))
	}
	return errors.Join(errs...)
}

func (e *Engine) loadRegistryUser(key string) (*registryUser, error) {
	u, _, err := loadRecord(e, key, "registry user", decodeRegistryUser)
	return u, err
}
