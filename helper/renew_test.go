package helper

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
)

// TestEffectiveMinTTL pins the one expiry rule (the reference's token engine, issue #9 item 5) at its boundaries.
func TestEffectiveMinTTL(t *testing.T) {
	for _, tc := range []struct {
		minTTL, lifetime time.Duration
		want             time.Duration
		capped           bool
	}{
		{5 * time.Minute, time.Hour, 5 * time.Minute, false},
		{time.Hour - time.Second, time.Hour, time.Hour - time.Second, false},
		{time.Hour, time.Hour, fallbackMinTTL, true},
		{2 * time.Hour, time.Hour, fallbackMinTTL, true},
		{10 * time.Minute, 4 * time.Minute, 2 * time.Minute, true}, // half a short lifetime
		{2 * time.Hour, 0, 2 * time.Hour, false},                   // lifetime unknown
		{0, time.Hour, 0, false},
	} {
		got, capped := effectiveMinTTL(tc.minTTL, tc.lifetime)
		if got != tc.want || capped != tc.capped {
			t.Errorf("effectiveMinTTL(%s, %s) = %s, %v; want %s, %v", tc.minTTL, tc.lifetime, got, capped, tc.want, tc.capped)
		}
	}
}

// TestMinTTLBeyondLifetime guards the reference's token engine and issue #9 item 5: a min_ttl at or beyond the
// access token's own lifetime does not turn every call into a refresh. Six calls ten minutes
// apart with --min-ttl 2h over a token that lives an hour refresh once, when the token nears
// its real expiry, and each serving says so on one line.
func TestMinTTLBeyondLifetime(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	var notes []string
	e.Notef = func(format string, args ...any) { notes = append(notes, format) }
	get(t, e)
	refreshesAt := []int{}
	for i := range 6 {
		r.clock.Add(10 * time.Minute)
		tok, err := e.Token(context.Background(), GetOptions{MinTTL: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if want := tok.ExpiresAt.Add(-fallbackMinTTL); !tok.RenewAt.Equal(want) {
			t.Errorf("call %d: renew at %s, want %s (the fallback margin, not min-ttl)", i, tok.RenewAt, want)
		}
		refreshesAt = append(refreshesAt, len(r.iam.refreshes))
	}
	// Login at 0; calls at 10…60 min; the token has <5 min left only at 60 min.
	if want := []int{0, 0, 0, 0, 0, 1}; !reflect.DeepEqual(refreshesAt, want) {
		t.Errorf("refreshes after each call = %v, want %v", refreshesAt, want)
	}
	if len(notes) != 6 || !strings.Contains(notes[0], "at or beyond") {
		t.Errorf("notes = %q, want one per call", notes)
	}
	notes = nil
	get(t, e)
	if len(notes) != 0 {
		t.Errorf("a min-ttl the token meets gave notes %q", notes)
	}
}

// TestDamagedSession guards issue #9 item 4: a damaged session entry fails get with the error
// (not a login nobody asked for), and login replaces it with a note.
func TestDamagedSession(t *testing.T) {
	for _, damage := range []struct {
		name  string
		store func(r *rig) Store
	}{
		{"undecodable record", func(r *rig) Store { return r.store }},
		{"store says corrupt", func(r *rig) Store { return corruptStore{r.store} }},
	} {
		t.Run(damage.name, func(t *testing.T) {
			r := newRig()
			e := r.engine("default")
			get(t, e)
			_ = r.store.Put(e.Key(), []byte("GCS\x01\x06\xff"))
			e.Store = damage.store(r)
			var damaged *DamagedError
			if _, err := e.Token(context.Background(), GetOptions{}); !errors.As(err, &damaged) || r.iam.logins != 1 {
				t.Fatalf("get over a damaged session: %v (logins %d), want a DamagedError and no login", err, r.iam.logins)
			}
			e.Store = r.store
			var notes []string
			e.Notef = func(format string, args ...any) { notes = append(notes, format) }
			if _, err := e.Login(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(notes) != 1 {
				t.Errorf("notes = %q, want one saying the entry is replaced", notes)
			}
			get(t, e)
		})
	}
}

// corruptStore reports the session's file as damaged once, as the file store does for one
// that fails to authenticate.
type corruptStore struct{ *memStore }

func (c corruptStore) Get(key string) ([]byte, error) {
	return nil, &cache.CorruptError{Path: "/store/x.entry", Reason: "authentication failed"}
}

// TestLoginReturnsItsIdentity guards issue #12 item 2: Login says which username it logged in
// as (asked at the prompt) instead of changing the engine's profile.
func TestLoginReturnsItsIdentity(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Profile.Username = ""
	e.Secrets.Prompt = func(ctx context.Context, prompt string, echo bool) (string, error) { return "me@example.com", nil }
	res, err := e.Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile.Username != "me@example.com" || e.Profile.Username != "" || res.Session.AccountID != 1001 {
		t.Fatalf("result profile %q, engine profile %q, account %d", res.Profile.Username, e.Profile.Username, res.Session.AccountID)
	}
	e.Profile = res.Profile
	if get(t, e); r.iam.logins != 1 {
		t.Fatalf("the session is not stored under the identity Login reported")
	}
}

// TestWithProfileKeepsEveryPart guards withProfile against a field added to Engine and
// forgotten there.
func TestWithProfileKeepsEveryPart(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Debugf = func(string, ...any) {}
	e.Notef = func(string, ...any) {}
	e.Memo = r.memo
	c := e.withProfile(config.Profile{Name: "other"})
	ev, cv := reflect.ValueOf(e).Elem(), reflect.ValueOf(c).Elem()
	for i := range ev.NumField() {
		f := ev.Type().Field(i)
		if !f.IsExported() || f.Name == "Profile" {
			continue
		}
		if !sameValue(ev.Field(i), cv.Field(i)) {
			t.Errorf("withProfile dropped %s", f.Name)
		}
	}
}

// sameValue is reflect.DeepEqual that takes two funcs for the same when they are one function.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Func:
		return a.Pointer() == b.Pointer()
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// TestAPIKeyRefreshReplacesAKeyRevokedElsewhere guards issue #11 item 5: get --api-key
// --refresh throws away a key that was deleted in the portal and mints a new one; deleting the
// old one, already gone, is no error.
func TestAPIKeyRefreshReplacesAKeyRevokedElsewhere(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	first := mintedKey(t, e)
	delete(r.iam.keys, 101) // deleted in the portal
	fresh, err := e.APIKey(context.Background(), GetOptions{MinTTL: e.Profile.MinTTL, Refresh: true})
	if err != nil || fresh.Value == first.Value || r.iam.mints != 2 {
		t.Fatalf("APIKey --refresh = %+v, %v after %d mints; want a new key", fresh, err, r.iam.mints)
	}
	if again := mintedKey(t, e); again != fresh || r.iam.mints != 2 {
		t.Fatalf("the new key was not kept")
	}
	k, _, _ := e.apiKeyRecord().load(e)
	if len(k.Doomed) != 0 {
		t.Fatalf("doomed keys = %v, want none: the old one is gone", k.Doomed)
	}
}

// TestLifetimeIgnoresTheDateHeadersSecond: a 1 h token measured from a Date
// header a second early is still a 1 h token, so min_ttl 1h is capped
// every time rather than at random.
func TestLifetimeIgnoresTheDateHeadersSecond(t *testing.T) {
	exp := time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	for _, issued := range []time.Time{exp.Add(-time.Hour), exp.Add(-time.Hour - time.Second), exp.Add(-time.Hour + time.Second)} {
		x := expiring{expires: exp, issued: issued}
		if got := x.lifetime(); got != time.Hour {
			t.Errorf("lifetime issued %s = %s, want 1h", issued, got)
		}
		if _, capped := effectiveMinTTL(time.Hour, x.lifetime()); !capped {
			t.Errorf("min_ttl 1h with the token issued %s is not capped", issued)
		}
	}
	if got := (expiring{expires: exp, issued: exp.Add(-30 * time.Second)}).lifetime(); got != 30*time.Second {
		t.Errorf("a 30 s lifetime = %s, want 30s", got)
	}
}
