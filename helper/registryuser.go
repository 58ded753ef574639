package helper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Gcore Container Registry logins (the reference's service credentials): the registry accepts only
// registry users, whose secret the Cloud API shows once, at creation. The
// docker persona provisions one per profile, registry and machine, keeps it
// encrypted, and replaces it once it would expire within min_ttl; logout
// deletes it.
//
// Registry users behave like Harbor robot accounts (the "r_…+name" usernames,
// and "duration": -1 giving an expires_at of 1969-12-31T23:59:59Z, are
// Harbor's): their expiry is fixed at creation, and refresh_secret only gives
// a new secret. Whether refresh_secret ever moves expires_at is not
// documented, so it is not used at all: a user near expiry is replaced (a new
// one created, then the old one deleted), which is right under either
// reading.

// registryUser is the stored record of a provisioned registry user.
type registryUser struct {
	ID         int64
	RegistryID int64
	// ProjectID and RegionID locate the registry for deleting its users,
	// whatever the configuration says later; zero in records of earlier
	// versions, which then use the configured ones.
	ProjectID, RegionID int64
	Name                string // the docker username, "r_…+name"
	Secret              string
	ExpiresAt           time.Time
	CreatedAt           time.Time // with ExpiresAt, its lifetime
	// Doomed lists ids of earlier users of the registry whose deletion
	// failed; the next replacement or logout tries again.
	Doomed []int64
}

var registryUserMagic = [4]byte{'G', 'C', 'U', 1}

const (
	userTagID       = 1
	userTagRegistry = 2
	userTagName     = 3
	userTagSecret   = 4
	userTagExpires  = 5
	userTagProject  = 6
	userTagRegion   = 7
	userTagCreated  = 8
	userTagDoomed   = 9
)

func (u *registryUser) encode() []byte {
	w := tlv.NewWriter(registryUserMagic)
	w.Int(userTagID, u.ID)
	w.Int(userTagRegistry, u.RegistryID)
	w.Int(userTagProject, u.ProjectID)
	w.Int(userTagRegion, u.RegionID)
	w.String(userTagName, u.Name)
	w.String(userTagSecret, u.Secret)
	w.Int(userTagExpires, u.ExpiresAt.Unix())
	if !u.CreatedAt.IsZero() {
		w.Int(userTagCreated, u.CreatedAt.Unix())
	}
	for _, id := range u.Doomed {
		w.Int(userTagDoomed, id)
	}
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
		case userTagProject:
			u.ProjectID = n
		case userTagRegion:
			u.RegionID = n
		case userTagExpires:
			u.ExpiresAt = time.Unix(n, 0).UTC()
		case userTagCreated:
			u.CreatedAt = time.Unix(n, 0).UTC()
		case userTagDoomed:
			u.Doomed = append(u.Doomed, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode registry user record: %w", err)
	}
	return u, nil
}

func (u *registryUser) expiry() expiring { return expiring{expires: u.ExpiresAt, issued: u.CreatedAt} }

func (e *Engine) registryUserRecord(host string) record[*registryUser] {
	return record[*registryUser]{key: e.Key() + "/registry/" + host, what: "registry user of " + host,
		decode: decodeRegistryUser, encode: (*registryUser).encode}
}

// registryScope is where a configured registry lives.
func registryScope(reg config.Registry) Scope {
	return Scope{ProjectID: reg.ProjectID, RegionID: reg.RegionID, ProjectName: reg.ProjectName, RegionName: reg.RegionName}
}

// RegistryLogin returns the docker login for a configured registry whose
// host is known (see Registry): the provisioned user, created or replaced
// when it has less than opts.MinTTL left. Provisioning is single-flight
// across processes.
func (e *Engine) RegistryLogin(ctx context.Context, reg config.Registry, opts GetOptions) (RegistryCredential, error) {
	if e.Key() == "" {
		return RegistryCredential{}, e.loginRequired()
	}
	u, err := serve(ctx, e, e.registryUserRecord(reg.Host), renewal[*registryUser]{
		usable: func(u *registryUser) bool { return u.Secret != "" && u.expiry().fresh(e.Now(), opts.MinTTL) },
		fetch: func(ctx context.Context, prev *registryUser, found bool) (*registryUser, error) {
			if !found {
				prev = nil
			}
			u, err := e.replaceRegistryUser(ctx, reg, prev)
			if err != nil {
				return nil, fmt.Errorf("registry login for %s: %w", reg.Host, err)
			}
			return u, nil
		},
	})
	if err != nil {
		return RegistryCredential{}, err
	}
	e.noteCapped("registry user", u.expiry(), opts.MinTTL)
	return RegistryCredential{Host: reg.Host, Username: u.Name, Secret: u.Secret}, nil
}

// replaceRegistryUser provisions a new user for reg and then deletes prev
// (nil: none) and any earlier users whose deletion failed. The new user is
// saved first: it must never be lost.
func (e *Engine) replaceRegistryUser(ctx context.Context, reg config.Registry, prev *registryUser) (*registryUser, error) {
	sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
	if err != nil {
		return nil, err
	}
	auth := sess.Authorization()
	scope, err := e.resolve(ctx, auth, registryScope(reg))
	if err != nil {
		return nil, err
	}
	regID, err := e.registryID(ctx, auth, scope, reg)
	if err != nil {
		return nil, err
	}
	created, err := e.createRegistryUser(ctx, auth, scope, reg, regID)
	if err != nil {
		return nil, err
	}
	next := &registryUser{ID: created.ID, RegistryID: regID, ProjectID: scope.ProjectID, RegionID: scope.RegionID,
		Name: created.Name, Secret: created.Secret, ExpiresAt: created.ExpiresAt, CreatedAt: created.CreatedAt}
	if next.CreatedAt.IsZero() {
		next.CreatedAt = e.Now().UTC().Truncate(time.Second)
	}
	if prev != nil {
		next.Doomed = append(prev.Doomed, prev.ID)
		if prev.RegistryID != regID || prev.ProjectID != scope.ProjectID || prev.RegionID != scope.RegionID {
			// The configuration moved to another registry: the old users
			// are deleted where they are, now.
			prev.Doomed = next.Doomed
			e.deleteRegistryUsers(ctx, auth, prev.scope(scope), prev.RegistryID, prev.Doomed)
			next.Doomed = nil
		}
	}
	if err := e.registryUserRecord(reg.Host).save(e, next); err != nil {
		return nil, err
	}
	next.Doomed = e.deleteRegistryUsers(ctx, auth, scope, regID, next.Doomed)
	return next, nil
}

// scope is where u's registry is, or def for a record of an earlier version.
func (u *registryUser) scope(def Scope) Scope {
	if u.ProjectID == 0 || u.RegionID == 0 {
		return def
	}
	return Scope{ProjectID: u.ProjectID, RegionID: u.RegionID}
}

// deleteRegistryUsers deletes the given users of a registry and returns the
// ids it could not delete. A user already gone counts as deleted.
func (e *Engine) deleteRegistryUsers(ctx context.Context, auth string, s Scope, registryID int64, ids []int64) (left []int64) {
	for _, id := range ids {
		if id == 0 {
			continue
		}
		_, err := callIAM(ctx, e, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, e.Cloud.DeleteRegistryUser(ctx, auth, s.ProjectID, s.RegionID, registryID, id)
		})
		if err != nil {
			e.debugf("could not delete registry user %d of profile %q: %v", id, e.Profile.Name, err)
			left = append(left, id)
		}
	}
	return left
}

// registryUserCandidates is how many names createRegistryUser tries: a user
// being replaced holds one, and a crash between creating a user and saving
// it can leave one more taken until it expires.
const registryUserCandidates = 4

// createRegistryUser provisions a user whose short name is derived from the
// profile, this machine and the registry, so reruns on one machine find the
// same names; a 409 (the name is taken, by the user being replaced or one
// whose record a crash lost) moves on to the next candidate.
func (e *Engine) createRegistryUser(ctx context.Context, auth string, s Scope, reg config.Registry, regID int64) (iam.RegistryUser, error) {
	req := iam.RegistryUserRequest{DurationDays: reg.UserTTLDays, ReadOnly: reg.ReadOnly}
	for attempt := range registryUserCandidates {
		req.Name = registryUserName(e.Profile.Name, e.Hostname, regID, attempt)
		e.debugf("creating registry user %s on %s for profile %q", req.Name, reg.Host, e.Profile.Name)
		u, err := callIAM(ctx, e, func(ctx context.Context) (iam.RegistryUser, error) {
			return e.Cloud.CreateRegistryUser(ctx, auth, s.ProjectID, s.RegionID, regID, req)
		})
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
func (e *Engine) registryID(ctx context.Context, auth string, s Scope, reg config.Registry) (int64, error) {
	if reg.RegistryID != 0 {
		return reg.RegistryID, nil
	}
	r, err := e.findRegistry(ctx, auth, s, reg)
	return r.ID, err
}

// findRegistry lists the registries of s and returns the one reg names.
func (e *Engine) findRegistry(ctx context.Context, auth string, s Scope, reg config.Registry) (iam.Registry, error) {
	list, err := callIAM(ctx, e, func(ctx context.Context) ([]iam.Registry, error) {
		return e.Cloud.ListRegistries(ctx, auth, s.ProjectID, s.RegionID)
	})
	if err != nil {
		return iam.Registry{}, fmt.Errorf("list registries of %s: %w", s, err)
	}
	for _, r := range list {
		if (reg.RegistryID != 0 && r.ID == reg.RegistryID) || (reg.RegistryID == 0 && r.Name == reg.RegistryName) {
			return r, nil
		}
	}
	if reg.RegistryID != 0 {
		return iam.Registry{}, fmt.Errorf("no registry %d in %s", reg.RegistryID, s)
	}
	return iam.Registry{}, fmt.Errorf("no registry named %q in %s", reg.RegistryName, s)
}

// revokeRegistryUsers deletes the profile's provisioned registry users at
// the Cloud API and forgets them; users it cannot delete are reported.
func (e *Engine) revokeRegistryUsers(ctx context.Context) error {
	var errs []error
	for _, reg := range e.Profile.Registries {
		if reg.Host == "" {
			p, ok, err := e.registryPlaceRecord(reg).loadOrReplace(e)
			if err != nil || !ok {
				errs = append(errs, err)
				continue
			}
			reg = p.located(reg)
		}
		errs = append(errs, e.revokeRegistryUser(ctx, reg))
	}
	return errors.Join(errs...)
}

func (e *Engine) revokeRegistryUser(ctx context.Context, reg config.Registry) error {
	r := e.registryUserRecord(reg.Host)
	unlock, err := e.lock(ctx, r.key, r.what)
	if err != nil {
		return err
	}
	defer unlock()
	u, found, err := r.loadOrReplace(e)
	if err != nil || !found {
		return err
	}
	sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
	if err == nil {
		var s Scope
		if s, err = e.resolve(ctx, sess.Authorization(), u.scope(registryScope(reg))); err == nil {
			if left := e.deleteRegistryUsers(ctx, sess.Authorization(), s, u.RegistryID, append(u.Doomed, u.ID)); len(left) > 0 {
				err = fmt.Errorf("the Cloud API did not delete users %v", left)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("delete registry user %s on %s (it expires %s): %w", u.Name, reg.Host, u.ExpiresAt.Format(time.RFC3339), err)
	}
	return r.delete(e)
}

// registryPlace is where a registry entry that names no host was found:
// its docker host (from its url) and the ids its names resolved to, kept so
// that neither is looked up again.
type registryPlace struct {
	Host                            string
	ProjectID, RegionID, RegistryID int64
}

var registryPlaceMagic = [4]byte{'G', 'C', 'P', 1}

const (
	placeTagHost     = 1
	placeTagProject  = 2
	placeTagRegion   = 3
	placeTagRegistry = 4
)

func (p registryPlace) encode() []byte {
	w := tlv.NewWriter(registryPlaceMagic)
	w.String(placeTagHost, p.Host)
	w.Int(placeTagProject, p.ProjectID)
	w.Int(placeTagRegion, p.RegionID)
	w.Int(placeTagRegistry, p.RegistryID)
	return w.Encoded()
}

func decodeRegistryPlace(data []byte) (registryPlace, error) {
	var p registryPlace
	err := tlv.Decode(data, registryPlaceMagic, func(tag byte, v []byte) error {
		if tag == placeTagHost {
			p.Host = string(v)
			return nil
		}
		n, err := tlv.Int(tag, v)
		switch tag {
		case placeTagProject:
			p.ProjectID = n
		case placeTagRegion:
			p.RegionID = n
		case placeTagRegistry:
			p.RegistryID = n
		}
		return err
	})
	if err == nil && (p.Host == "" || p.ProjectID <= 0 || p.RegionID <= 0 || p.RegistryID <= 0) {
		err = errors.New("decode registry place: incomplete")
	}
	return p, err
}

// located is reg at its place: host and ids filled in.
func (p registryPlace) located(reg config.Registry) config.Registry {
	reg.Host, reg.ProjectID, reg.RegionID, reg.RegistryID = p.Host, p.ProjectID, p.RegionID, p.RegistryID
	reg.ProjectName, reg.RegionName, reg.RegistryName = "", "", ""
	return reg
}

func (e *Engine) registryPlaceRecord(reg config.Registry) record[registryPlace] {
	which := "=" + reg.RegistryName
	if reg.RegistryID != 0 {
		which = strconv.FormatInt(reg.RegistryID, 10)
	}
	return record[registryPlace]{key: e.Key() + "/registry-place/" + registryScope(reg).key() + "/" + which, what: "registry place",
		decode: decodeRegistryPlace, encode: registryPlace.encode}
}

// knownRegistryHost is the host found for reg earlier, if any.
func (e *Engine) knownRegistryHost(reg config.Registry) (string, bool, error) {
	p, ok, err := e.registryPlaceRecord(reg).loadOrReplace(e)
	return p.Host, ok, err
}

// Registry returns the profile's registry entry that serves docker host.
// An entry that names no host gets it from its registry's url ("host/path/"),
// looked up once with the session and then kept; without a session such an
// entry serves nothing yet.
func (e *Engine) Registry(ctx context.Context, host string) (config.Registry, bool, error) {
	if reg, ok := e.Profile.RegistryFor(host); ok {
		return reg, true, nil
	}
	for _, reg := range e.Profile.Registries {
		if reg.Host != "" {
			continue
		}
		located, err := e.locateRegistry(ctx, reg)
		if err != nil {
			var lr *LoginRequiredError
			if errors.As(err, &lr) {
				continue
			}
			return config.Registry{}, false, err
		}
		if located.Host == host {
			return located, true, nil
		}
	}
	return config.Registry{}, false, nil
}

// RegistryHost is reg's docker host: the configured one, else the one its
// registry's url names (looked up once, then kept).
func (e *Engine) RegistryHost(ctx context.Context, reg config.Registry) (string, error) {
	if reg.Host != "" {
		return reg.Host, nil
	}
	located, err := e.locateRegistry(ctx, reg)
	return located.Host, err
}

// locateRegistry finds a hostless entry's registry with the Cloud API, once.
func (e *Engine) locateRegistry(ctx context.Context, reg config.Registry) (config.Registry, error) {
	if e.Key() == "" {
		return config.Registry{}, e.loginRequired()
	}
	p, err := serve(ctx, e, e.registryPlaceRecord(reg), renewal[registryPlace]{
		usable: func(registryPlace) bool { return true },
		fetch: func(ctx context.Context, _ registryPlace, _ bool) (registryPlace, error) {
			sess, err := e.Token(ctx, GetOptions{MinTTL: time.Minute})
			if err != nil {
				return registryPlace{}, err
			}
			s, err := e.resolve(ctx, sess.Authorization(), registryScope(reg))
			if err != nil {
				return registryPlace{}, err
			}
			r, err := e.findRegistry(ctx, sess.Authorization(), s, reg)
			if err != nil {
				return registryPlace{}, err
			}
			host, _, _ := strings.Cut(r.URL, "/")
			if host = config.NormalizeHostOrEmpty(host); host == "" {
				return registryPlace{}, fmt.Errorf("registry %q in %s has no usable url; set host in its configuration", r.Name, s)
			}
			return registryPlace{Host: host, ProjectID: s.ProjectID, RegionID: s.RegionID, RegistryID: r.ID}, nil
		},
	})
	return p.located(reg), err
}
