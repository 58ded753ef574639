package cache

import (
	"errors"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// Earlier versions kept sessions directly in the OS keyring a profile's
// backend named (or `auto` picked, process by process). When a store is
// unlocked, migrate moves those entries into it: each one absent from the
// store is copied there, then deleted from the keyring; one the store already
// holds (copied by an earlier, interrupted migration, and perhaps renewed
// since) only leaves the keyring. Nothing is deleted before the store holds
// it. A keyring done with is marked by a file in the store, so it is not
// listed again; one that cannot be reached now is tried at the next unlock.

// legacyKey reports whether key is one earlier versions wrote: a session's
// (64 hex digits), a record stored next to it ("<session>/api-key", …), or
// the docker persona's credentials. Anything else in the keyring (the
// guardian's own item, parts of split values, other programs') is left
// alone.
func legacyKey(key string) bool {
	if key == "docker-credentials" {
		return true
	}
	session, rest, nested := strings.Cut(key, "/")
	if len(session) != 64 || strings.Trim(session, "0123456789abcdef") != "" || (nested && rest == "") {
		return false
	}
	return !strings.Contains(key, "#") // a part of a split value
}

// migratedMarker names the file that says backend's entries were moved.
func migratedMarker(dir, backend string) string {
	return filepath.Join(dir, "migrated-"+backend)
}

// LegacyKeyrings are the keyrings earlier versions may have kept a
// profile's sessions in, for its backend setting: the one it named, or the
// one `auto` used to pick process by process (the platform keyring,
// whenever one was reachable).
func LegacyKeyrings(backend string, env func(string) string) []string {
	switch {
	case slices.Contains(KeyringBackends(), backend):
		return []string{backend}
	case backend != "auto":
		return nil
	case runtime.GOOS == "darwin":
		return []string{"keychain"}
	case runtime.GOOS == "windows":
		return []string{"wincred"}
	case env != nil && sessionBusAddress(env) != "":
		return []string{"secret-service"}
	}
	return nil
}

// legacySessionsWaiting reports whether a keyring of opts.Migrate holds
// entries of an earlier version for a store not made yet. A keyring found
// without any is marked in the store's directory, so it is not listed again.
func legacySessionsWaiting(opts FileOptions) bool {
	for marker, ring := range unmigratedKeyrings(opts) {
		keys, err := listKeys(ring)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(keys, legacyKey) {
			return true
		}
		_ = os.WriteFile(marker, nil, 0o600)
	}
	return false
}

// unmigratedKeyrings yields the keyrings of opts.Migrate that are not
// marked done and can be opened, each with its marker file.
func unmigratedKeyrings(opts FileOptions) iter.Seq2[string, Store] {
	return func(yield func(string, Store) bool) {
		if opts.Migrate == nil {
			return
		}
		for _, backend := range opts.Migrate() {
			marker := migratedMarker(opts.Dir, backend)
			if _, err := os.Lstat(marker); !errors.Is(err, fs.ErrNotExist) {
				continue
			}
			ring, err := opts.keyring(backend)
			if err != nil {
				continue
			}
			if !yield(marker, ring) {
				return
			}
		}
	}
}

func migrate(opts FileOptions, s *FileStore) {
	for marker, ring := range unmigratedKeyrings(opts) {
		if migrateFrom(ring, s) == nil {
			_ = os.WriteFile(marker, nil, 0o600)
		}
	}
}

// migrateFrom moves every legacy entry of ring into s.
func migrateFrom(ring, s Store) error {
	keys, err := listKeys(ring)
	if err != nil {
		return err
	}
	var errs []error
	for _, key := range keys {
		if !legacyKey(key) {
			continue
		}
		errs = append(errs, moveEntry(ring, s, key))
	}
	return errors.Join(errs...)
}

func moveEntry(from, to Store, key string) error {
	if _, err := to.Get(key); errors.Is(err, ErrNotFound) {
		value, err := from.Get(key)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := to.Put(key, value); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	return from.Delete(key)
}

// listKeys lists every key of ours a keyring holds.
func listKeys(s Store) ([]string, error) {
	if c, ok := s.(chunkedStore); ok {
		s = c.Store
	}
	lister, ok := s.(keyLister)
	if !ok {
		return nil, errors.New("this keyring cannot list its entries")
	}
	return lister.keysWithPrefix("")
}
