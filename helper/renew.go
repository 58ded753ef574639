package helper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
)

// Every credential the engine hands out (the IAM session, a minted API key, a
// registry user, a cluster certificate) is renewed the same way, written once
// here so that a fix to the flow lands everywhere:
//
//	load → usable? → singleflight → cross-process lock → load again → usable? → fetch → save
//
// The first load takes no lock, so a valid credential is served at full speed
// while another process renews it. The second load, under the lock, finds the
// work another process finished while this one waited. The result is saved
// before it is returned, so nothing is handed out that the store does not
// hold.

// record is one kind of stored credential: where it lives in the store and how
// it is encoded.
type record[T any] struct {
	key    string // the store key; also the lock and singleflight key
	what   string // names it in errors and traces: "session", "API key", …
	decode func([]byte) (T, error)
	encode func(T) []byte
}

// DamagedError reports a stored record that cannot be read back: the store's
// file failed to authenticate or the record does not decode. It is never a
// reason to fail forever: what renews the record replaces it.
type DamagedError struct {
	What    string // "session", "API key", …
	Profile string
	Err     error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the stored %s of profile %q is damaged: %v", e.What, e.Profile, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// load reads the record. A missing one is (zero, false, nil); a damaged one a
// *DamagedError; a store that cannot be read (locked, unreachable) its error.
func (r record[T]) load(e *Engine) (T, bool, error) {
	var zero T
	data, err := e.Store.Get(r.key)
	var corrupt *cache.CorruptError
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return zero, false, nil
	case errors.As(err, &corrupt):
		return zero, false, &DamagedError{What: r.what, Profile: e.Profile.Name, Err: err}
	case err != nil:
		return zero, false, fmt.Errorf("read %s of profile %q: %w", r.what, e.Profile.Name, err)
	}
	v, err := r.decode(data)
	if err != nil {
		return zero, false, &DamagedError{What: r.what, Profile: e.Profile.Name, Err: err}
	}
	return v, true, nil
}

// loadOrReplace is load for a record whose renewal may simply replace a
// damaged copy: the damage is traced and the record counts as missing.
func (r record[T]) loadOrReplace(e *Engine) (T, bool, error) {
	v, ok, err := r.load(e)
	var damaged *DamagedError
	if errors.As(err, &damaged) {
		e.debugf("replacing it: %v", err)
		return v, false, nil
	}
	return v, ok, err
}

func (r record[T]) save(e *Engine, v T) error {
	if err := e.Store.Put(r.key, r.encode(v)); err != nil {
		return fmt.Errorf("save %s of profile %q: %w", r.what, e.Profile.Name, err)
	}
	return nil
}

func (r record[T]) delete(e *Engine) error {
	if err := e.Store.Delete(r.key); err != nil {
		return fmt.Errorf("delete %s of profile %q: %w", r.what, e.Profile.Name, err)
	}
	return nil
}

// renewal says when a record can be served and how to make a new one.
type renewal[T any] struct {
	// usable reports whether v can be served as it is.
	usable func(v T) bool
	// force refuses the value this call first found, usable or not: the
	// caller was told it is refused (get --refresh). A value another process
	// renewed meanwhile is still taken.
	force bool
	// same reports whether a and b are one credential, for force.
	same func(a, b T) bool
	// keepDamaged makes a damaged record an error instead of a missing one:
	// the session, whose loss costs a login with a password and 2FA.
	keepDamaged bool
	// fetch makes the next value with the lock held; found is false when
	// there is none. It may save intermediate states itself (a spent token
	// dropped); serve saves what it returns.
	fetch func(ctx context.Context, prev T, found bool) (T, error)
}

// serve returns a usable value of r, renewing it under the lock when needed.
func serve[T any](ctx context.Context, e *Engine, r record[T], n renewal[T]) (T, error) {
	var zero T
	load := r.loadOrReplace
	if n.keepDamaged {
		load = r.load
	}
	first, found, err := load(e)
	if err != nil {
		return zero, err
	}
	if found && !n.force && n.usable(first) {
		e.debugf("cache hit: %s of profile %q", r.what, e.Profile.Name)
		return first, nil
	}
	v, err, _ := e.flight.Do(r.key, func() (any, error) {
		unlock, err := e.lock(ctx, r.key, r.what)
		if err != nil {
			return nil, err
		}
		defer unlock()
		cur, ok, err := load(e)
		if err != nil {
			return nil, err
		}
		if ok && n.usable(cur) && !(n.force && found && n.same(cur, first)) {
			e.debugf("another process renewed the %s of profile %q while we waited", r.what, e.Profile.Name)
			return cur, nil
		}
		next, err := n.fetch(ctx, cur, ok)
		if err != nil {
			return nil, err
		}
		if err := r.save(e, next); err != nil {
			return nil, err
		}
		return next, nil
	})
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

// lock takes the cross-process lock of key, bounded by the profile's
// lock_timeout; what names the work in the error when the wait runs out.
func (e *Engine) lock(ctx context.Context, key, what string) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, e.Profile.LockTimeout)
	defer cancel()
	unlock, err := e.Locker.Lock(ctx, key)
	if err != nil {
		return nil, lockError(fmt.Sprintf("the %s of profile %q", what, e.Profile.Name), err)
	}
	return unlock, nil
}

// lockError says what a failed Lock means to the user: a wait that ran out
// is another helper still at work on what; anything else (an unsafe lock
// file, say) is reported as it is.
func lockError(what string, err error) error {
	if errors.Is(err, cache.ErrLockTimeout) {
		return fmt.Errorf("waited for another gcore-credential-helper renewing %s: %w", what, err)
	}
	return err
}

// Expiry policy: the one place where a caller's min_ttl meets a
// credential's lifetime.

// fallbackMinTTL is the margin kept when a caller's min_ttl is at or beyond a
// credential's whole lifetime, which no credential could meet: the
// credential is then served until this much of it is left and renewed once,
// rather than on every call (each renewal of a session spends a single-use
// refresh token).
const fallbackMinTTL = 5 * time.Minute

// effectiveMinTTL is the margin a credential of the given lifetime is held
// to: minTTL when a fresh one can meet it, else the fallback (capped at half
// the lifetime), with capped true. An unknown lifetime (zero) keeps minTTL.
func effectiveMinTTL(minTTL, lifetime time.Duration) (d time.Duration, capped bool) {
	if lifetime <= 0 || minTTL < lifetime {
		return minTTL, false
	}
	return min(fallbackMinTTL, lifetime/2), true
}

// expiring describes a credential with a lifetime, for the policy.
type expiring struct {
	expires, issued time.Time // issued zero: lifetime unknown
}

// fresh reports whether the credential has at least minTTL left at now, or
// where minTTL is beyond its lifetime, the fallback margin.
func (x expiring) fresh(now time.Time, minTTL time.Duration) bool {
	d, _ := effectiveMinTTL(minTTL, x.lifetime())
	return !x.expires.Before(now.Add(d))
}

// lifetime is the credential's whole life, in whole minutes when it is
// longer than one: the issue time is IAM's Date header, whole seconds taken
// when the request arrived, and the expiry counts from a moment later, so
// the raw difference of a 1 h token is 1h0m0s or 1h0m1s. Without rounding,
// a min_ttl of exactly 1h would miss the cap at random and refresh on every
// call.
func (x expiring) lifetime() time.Duration {
	if x.issued.IsZero() {
		return 0
	}
	d := x.expires.Sub(x.issued)
	if d > time.Minute {
		return d.Round(time.Minute)
	}
	return d
}

// renewAt is when a caller should ask again (kubectl's expirationTimestamp,
// git's password_expiry_utc): the margin before expiry.
func (x expiring) renewAt(minTTL time.Duration) time.Time {
	d, _ := effectiveMinTTL(minTTL, x.lifetime())
	return x.expires.Add(-d)
}

// noteCapped tells the user, once per call, that minTTL cannot be met and
// what is served instead.
func (e *Engine) noteCapped(what string, x expiring, minTTL time.Duration) {
	d, capped := effectiveMinTTL(minTTL, x.lifetime())
	if capped && x.expires.Before(e.Now().Add(minTTL)) {
		e.notef("min-ttl %s is at or beyond the %s's lifetime of %s: serving it with %s left, renewed once %s is left",
			minTTL, what, x.lifetime().Round(time.Second), x.expires.Sub(e.Now()).Round(time.Second), d)
	}
}
