package helper

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRegistryCredentials(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	r := RegistryCredentials{Store: store, Locker: &memLocker{}, LockTimeout: time.Minute}
	if _, ok, err := r.Get("registry.example.com"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	a := RegistryCredential{Host: "registry.example.com", Username: "robot", Secret: `s3cr$t'"\`}
	b := RegistryCredential{Host: "other.example.com:5000", Username: "me", Secret: "x"}
	for _, c := range []RegistryCredential{a, b, {Host: a.Host, Username: "robot", Secret: a.Secret}} {
		if err := r.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := r.Get(a.Host)
	if err != nil || !ok || got != a {
		t.Fatalf("Get = %+v, %v, %v", got, ok, err)
	}
	list, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{a.Host: "robot", b.Host: "me"}, list); diff != "" {
		t.Fatalf("List (-want +got):\n%s", diff)
	}
	if err := r.Delete(ctx, a.Host); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "never.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(a.Host); ok {
		t.Fatal("deleted credential still there")
	}
	if got, ok, _ := r.Get(b.Host); !ok || got != b {
		t.Fatal("delete of one host lost another")
	}
}

func TestRegistryCredentialsCorruptRecord(t *testing.T) {
	store := &memStore{}
	_ = store.Put(registryKey, []byte("GCR\x01\x02\x01x"))
	r := RegistryCredentials{Store: store, Locker: &memLocker{}, LockTimeout: time.Minute}
	if _, _, err := r.Get("x"); err == nil {
		t.Fatal("want an error for a username before any host")
	}
}
