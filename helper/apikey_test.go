package helper

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/iam"
)

func mintedKey(t *testing.T, e *Engine) Token {
	t.Helper()
	tok, err := e.APIKey(context.Background(), GetOptions{MinTTL: e.Profile.MinTTL})
	if err != nil {
		t.Fatalf("APIKey: %v", err)
	}
	return tok
}

func TestAPIKeyMintedOnceAndReused(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	first := mintedKey(t, e)
	if first.Kind != KindAPIKey || first.Value != "101_secret" {
		t.Fatalf("key = %+v", first)
	}
	if want := r.clock.Now().Add(12 * time.Hour); !first.ExpiresAt.Equal(want) {
		t.Fatalf("expires %s, want %s", first.ExpiresAt, want)
	}
	req := r.iam.keys[101]
	if req.Name != "gcore-credential-helper default@laptop" || req.RoleName != "Administrators" {
		t.Fatalf("mint request = %+v", req)
	}
	r.clock.Add(11 * time.Hour) // the session is refreshed on the way; the key is still good
	if again := mintedKey(t, e); again != first || r.iam.mints != 1 {
		t.Fatalf("a fresh key was minted again: mints=%d", r.iam.mints)
	}
}

func TestAPIKeyRenewalDeletesThePrevious(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	mintedKey(t, e)
	r.clock.Add(12*time.Hour - 4*time.Minute) // less than min_ttl left
	second := mintedKey(t, e)
	if second.Value != "102_secret" || r.iam.mints != 2 {
		t.Fatalf("want a second key, got %+v after %d mints", second, r.iam.mints)
	}
	if diff := cmp.Diff([]int64{102}, liveKeys(r.iam)); diff != "" {
		t.Fatalf("live keys (-want +got):\n%s", diff)
	}
}

func TestAPIKeyFailedDeleteIsRetried(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	mintedKey(t, e)
	r.iam.deleteErr = &iam.UnavailableError{Status: 503}
	r.clock.Add(12 * time.Hour)
	mintedKey(t, e)
	if len(liveKeys(r.iam)) != 2 {
		t.Fatalf("live keys = %v, want both while IAM fails deletes", liveKeys(r.iam))
	}
	r.iam.deleteErr = nil
	r.clock.Add(12 * time.Hour)
	mintedKey(t, e)
	if diff := cmp.Diff([]int64{103}, liveKeys(r.iam)); diff != "" {
		t.Fatalf("the failed deletion was not retried (-want +got):\n%s", diff)
	}
}

func TestAPIKeyConcurrentCallersMintOnce(t *testing.T) {
	r := newRig()
	get(t, r.engine("default"))
	locker := &memLocker{}
	var wg sync.WaitGroup
	keys := make([]Token, 20)
	for i := range keys {
		e := r.engine("default")
		e.Locker = locker
		wg.Go(func() { keys[i] = mintedKey(t, e) })
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatal("callers got different keys")
		}
	}
	if r.iam.mints != 1 {
		t.Fatalf("mints = %d, want 1", r.iam.mints)
	}
}

func TestLogoutDeletesTheAPIKey(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	mintedKey(t, e)
	if err := e.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if live := liveKeys(r.iam); len(live) != 0 {
		t.Fatalf("live keys after logout: %v", live)
	}
}

func TestLogoutReportsAKeyItCannotDelete(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	mintedKey(t, e)
	r.iam.deleteErr = iam.ErrForbidden
	err := e.Logout(context.Background())
	if err == nil {
		t.Fatal("want an error naming the key that stays alive")
	}
	delete(r.env, "GCORE_PASSWORD")
	var lr *LoginRequiredError
	if _, err := e.Token(context.Background(), GetOptions{}); !errors.As(err, &lr) {
		t.Fatalf("the session must be gone anyway: %v", err)
	}
}

func liveKeys(f *fakeIAM) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for id := range f.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
