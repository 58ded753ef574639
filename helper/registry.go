package helper

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// RegistryCredential is a login the user handed to `docker login` for one
// registry host (docker's `store`).
type RegistryCredential struct {
	Host, Username, Secret string
}

// RegistryCredentials keeps the docker persona's stored credentials, all in
// one encrypted record of the session store: docker `get` reads one entry,
// `list` needs no directory listing, and `store`/`erase` rewrite it under a
// lock so two `docker login`s never lose each other's write.
type RegistryCredentials struct {
	Store       Store
	Locker      Locker
	LockTimeout time.Duration
}

// registryKey names the record in the store; it cannot collide with session
// keys, which are hex digests.
const registryKey = "docker-credentials"

var registryMagic = [4]byte{'G', 'C', 'R', 1}

// Record field tags: each credential is a host field followed by its
// username and secret.
const (
	regTagHost     = 1
	regTagUsername = 2
	regTagSecret   = 3
)

// Get returns the credential stored for host.
func (r RegistryCredentials) Get(host string) (RegistryCredential, bool, error) {
	all, err := r.load()
	c, ok := all[host]
	return c, ok, err
}

// List returns every stored host with its username.
func (r RegistryCredentials) List() (map[string]string, error) {
	all, err := r.load()
	out := make(map[string]string, len(all))
	for h, c := range all {
		out[h] = c.Username
	}
	return out, err
}

// Put stores c, replacing what was stored for its host.
func (r RegistryCredentials) Put(ctx context.Context, c RegistryCredential) error {
	if c.Host == "" {
		return errors.New("store registry credential: no host")
	}
	return r.update(ctx, func(all map[string]RegistryCredential) { all[c.Host] = c })
}

// Delete forgets host's credential; a missing one is not an error.
func (r RegistryCredentials) Delete(ctx context.Context, host string) error {
	return r.update(ctx, func(all map[string]RegistryCredential) { delete(all, host) })
}

func (r RegistryCredentials) update(ctx context.Context, change func(map[string]RegistryCredential)) error {
	ctx, cancel := context.WithTimeout(ctx, r.LockTimeout)
	defer cancel()
	unlock, err := r.Locker.Lock(ctx, registryKey)
	if err != nil {
		return lockError("registry credentials", err)
	}
	defer unlock()
	all, err := r.load()
	if err != nil {
		return err
	}
	change(all)
	w := tlv.NewWriter(registryMagic)
	for _, host := range sortedKeys(all) {
		c := all[host]
		w.String(regTagHost, c.Host)
		w.String(regTagUsername, c.Username)
		w.String(regTagSecret, c.Secret)
	}
	if err := r.Store.Put(registryKey, w.Encoded()); err != nil {
		return fmt.Errorf("save registry credentials: %w", err)
	}
	return nil
}

func (r RegistryCredentials) load() (map[string]RegistryCredential, error) {
	all := map[string]RegistryCredential{}
	data, err := r.Store.Get(registryKey)
	if errors.Is(err, cache.ErrNotFound) {
		return all, nil
	}
	if err != nil {
		return all, fmt.Errorf("read registry credentials: %w", err)
	}
	var cur *RegistryCredential
	err = tlv.Decode(data, registryMagic, func(tag byte, v []byte) error {
		switch {
		case tag == regTagHost:
			cur = &RegistryCredential{Host: string(v)}
			all[cur.Host] = *cur
		case cur == nil:
			return fmt.Errorf("%w: field %d before a host", tlv.ErrMalformed, tag)
		case tag == regTagUsername:
			cur.Username = string(v)
			all[cur.Host] = *cur
		case tag == regTagSecret:
			cur.Secret = string(v)
			all[cur.Host] = *cur
		}
		return nil
	})
	if err != nil {
		return map[string]RegistryCredential{}, fmt.Errorf("read registry credentials: %w", err)
	}
	return all, nil
}

func sortedKeys(m map[string]RegistryCredential) []string {
	return slices.Sorted(maps.Keys(m))
}
