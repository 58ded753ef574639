package cache

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// memKeyring is an OS keyring fake: a map, which a test can make unreachable.
type memKeyring struct {
	mu      sync.Mutex
	backend string
	items   map[string][]byte
	down    bool // every call fails with ErrUnavailable
	opens   int
}

func (k *memKeyring) check() error {
	if k.down {
		return fmt.Errorf("%s: no session bus: %w", k.backend, ErrUnavailable)
	}
	return nil
}

func (k *memKeyring) Get(key string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.check(); err != nil {
		return nil, err
	}
	v, ok := k.items[key]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (k *memKeyring) Put(key string, value []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.check(); err != nil {
		return err
	}
	if k.items == nil {
		k.items = map[string][]byte{}
	}
	k.items[key] = bytes.Clone(value)
	return nil
}

func (k *memKeyring) Delete(key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.check(); err != nil {
		return err
	}
	delete(k.items, key)
	return nil
}

func (k *memKeyring) Backend() string { return k.backend }

func (k *memKeyring) keysWithPrefix(prefix string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.check(); err != nil {
		return nil, err
	}
	var keys []string
	for key := range k.items {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

func (k *memKeyring) keys() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Sorted(maps.Keys(k.items))
}

// keyringOptions opens stores in a fresh directory guarded by ring, with a shared key cache.
func keyringOptions(t *testing.T, ring *memKeyring) FileOptions {
	t.Helper()
	base := t.TempDir()
	return FileOptions{
		Dir:      filepath.Join(base, "store"),
		Guardian: ring.backend,
		Keyring: func(backend string) (Store, error) {
			if backend != ring.backend {
				return nil, fmt.Errorf("no %s here: %w", backend, ErrUnavailable)
			}
			ring.opens++
			return ring, ring.check()
		},
		Passphrase: noPrompt(t),
		KeyCache:   fileKeyCache{dir: base},
		KDF:        testKDF,
	}
}

// TestKeyringGuardian guards the reference's storage ("one store, many key guardians") and issue #9 item 1: a
// store guarded by an OS keyring is made and unlocked without a passphrase; its key is one item
// in the keyring; a process that cannot reach the keyring uses the cached key, and without one
// is told which guardian to unlock.
func TestKeyringGuardian(t *testing.T) {
	ring := &memKeyring{backend: "secret-service"}
	opts := keyringOptions(t, ring)
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Guardian() != "secret-service" || s.KeyCached() {
		t.Fatalf("guardian %q, cached %v", s.Guardian(), s.KeyCached())
	}
	if keys := ring.keys(); len(keys) != 1 || keys[0] != keyItem(s.id) {
		t.Fatalf("keyring items %v, want only the store's key", keys)
	}
	if err := s.Put("session", []byte("tokens")); err != nil {
		t.Fatal(err)
	}

	// Another process, no session bus: the cached key serves it.
	ring.down = true
	again, err := OpenFile(opts)
	if err != nil || !again.KeyCached() {
		t.Fatalf("reopen with the keyring down: %v (cached %v)", err, again != nil && again.KeyCached())
	}
	if v, err := again.Get("session"); err != nil || string(v) != "tokens" {
		t.Fatalf("Get = %q, %v", v, err)
	}

	// Without the cached key it says whom to unlock, and loses nothing.
	if err := LockStore(opts.Dir, opts.KeyCache); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(opts)
	var ge *GuardianError
	if !errors.As(err, &ge) || !errors.Is(err, ErrUnavailable) || ge.Guardian != "secret-service" ||
		!strings.Contains(err.Error(), "the desktop keyring (Secret Service)") {
		t.Fatalf("OpenFile with the keyring down and no cached key: %v", err)
	}
	ring.down = false
	back, err := OpenFile(opts)
	if err != nil || back.KeyCached() {
		t.Fatalf("reopen with the keyring back: %v", err)
	}
	if v, err := back.Get("session"); err != nil || string(v) != "tokens" {
		t.Fatalf("after the keyring came back: %q, %v", v, err)
	}

	// A keyring that lost the item (reset) is reported as such.
	_ = LockStore(opts.Dir, opts.KeyCache)
	_ = ring.Delete(keyItem(s.id))
	if _, err := OpenFile(opts); !errors.As(err, &ge) || !strings.Contains(err.Error(), "holds no key for this store") {
		t.Fatalf("keyring without the item: %v", err)
	}
}

// TestKeyringGuardianUnreachableAtCreation: a store whose guardian cannot take the key is not
// made at all, so nothing is left half made.
func TestKeyringGuardianUnreachableAtCreation(t *testing.T) {
	ring := &memKeyring{backend: "kwallet", down: true}
	opts := keyringOptions(t, ring)
	if _, err := OpenFile(opts); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("OpenFile = %v, want ErrUnavailable", err)
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, metaName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a store was made without its key: %v", err)
	}
}

// TestAutoGuardianWithoutBus: `auto` with no session bus picks the passphrase, without D-Bus.
func TestAutoGuardianWithoutBus(t *testing.T) {
	for _, env := range []map[string]string{{}, {"DBUS_SESSION_BUS_ADDRESS": "disabled:"}} {
		if got := ChooseGuardian(envMap(env)); got != GuardianPassphrase {
			t.Errorf("ChooseGuardian(%v) = %q, want the passphrase", env, got)
		}
	}
}

// TestRekey guards issue #9 item 1 (changing the passphrase; moving the key to another
// guardian): the sessions stay as they are, the old passphrase stops working, a keyring the key
// leaves forgets it.
func TestRekey(t *testing.T) {
	ring := &memKeyring{backend: "secret-service"}
	opts := keyringOptions(t, ring)
	opts.Guardian = GuardianPassphrase
	opts.Passphrase = passphrase(testPass)
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("session", []byte("tokens")); err != nil {
		t.Fatal(err)
	}
	check := func(o FileOptions, what string) *FileStore {
		t.Helper()
		_ = LockStore(o.Dir, o.KeyCache)
		got, err := OpenFile(o)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v, err := got.Get("session"); err != nil || string(v) != "tokens" {
			t.Fatalf("%s: Get = %q, %v", what, v, err)
		}
		return got
	}

	// A new passphrase.
	opts.Passphrase = passphrase("new " + testPass)
	if _, err := Rekey(opts, GuardianPassphrase); err != nil {
		t.Fatal(err)
	}
	check(opts, "with the new passphrase")
	old := opts
	old.Passphrase = passphrase(testPass)
	_ = LockStore(old.Dir, old.KeyCache)
	if _, err := OpenFile(old); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("the old passphrase: %v, want ErrWrongPassphrase", err)
	}

	// To the desktop keyring: no passphrase any more. The cached key serves the move.
	opts.Passphrase = passphrase("new " + testPass)
	check(opts, "before the move")
	opts.Passphrase = noPrompt(t)
	prev, err := Rekey(opts, "secret-service")
	if err != nil || prev != GuardianPassphrase {
		t.Fatalf("Rekey to the keyring = %q, %v", prev, err)
	}
	opts.Guardian = "secret-service"
	if got := check(opts, "guarded by the keyring"); got.Guardian() != "secret-service" {
		t.Fatalf("guardian %q", got.Guardian())
	}

	// And back: the keyring forgets the key.
	opts.Passphrase = passphrase("third " + testPass)
	if _, err := Rekey(opts, GuardianPassphrase); err != nil {
		t.Fatal(err)
	}
	if keys := ring.keys(); len(keys) != 0 {
		t.Fatalf("the keyring still holds %v", keys)
	}
	opts.Guardian = GuardianPassphrase
	check(opts, "back on a passphrase")
}

// TestVersion1Store guards upgrades: a store earlier releases made (the data key derived from
// the passphrase itself) still opens, and a new passphrase makes it version 2 with the same
// data key, so its entries stay readable.
func TestVersion1Store(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "store")
	if err := EnsurePrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	m := metadata{Version: metaVersion1, ID: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", Guardian: GuardianPassphrase,
		KDF: kdfRecord{Name: kdfArgon2id, KDFParams: testKDF, Salt: bytes.Repeat([]byte{7}, saltSize)}}
	key := m.KDF.derive(testPass)
	aead, _ := newAEAD(key)
	m.Verifier = seal(aead, []byte(verifierPlaintext), m.verifierAD())
	v1 := tlv.NewWriter(metaMagic) // as earlier releases wrote it: no guardian, no sealed key
	v1.Int(metaTagVersion, 1)
	v1.String(metaTagID, m.ID)
	v1.String(metaTagKDFName, m.KDF.Name)
	v1.Int(metaTagKDFTime, int64(m.KDF.Time))
	v1.Int(metaTagKDFMemory, int64(m.KDF.MemoryKiB))
	v1.Int(metaTagKDFThread, int64(m.KDF.Threads))
	v1.Bytes(metaTagSalt, m.KDF.Salt)
	v1.Bytes(metaTagVerifier, m.Verifier)
	if err := os.WriteFile(filepath.Join(dir, metaName), v1.Encoded(), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &FileStore{dir: dir, aead: aead, nameKey: key[encKeySize:]}
	if err := s.Put("session", []byte("old tokens")); err != nil {
		t.Fatal(err)
	}

	opts := FileOptions{Dir: dir, Passphrase: passphrase(testPass), KeyCache: fileKeyCache{dir: base}, KDF: testKDF}
	got, err := OpenFile(opts)
	if err != nil || got.Guardian() != GuardianPassphrase {
		t.Fatalf("open a version 1 store: %v", err)
	}
	if v, err := got.Get("session"); err != nil || string(v) != "old tokens" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	opts.Passphrase = passphrase("new " + testPass)
	if _, err := Rekey(opts, GuardianPassphrase); err != nil {
		t.Fatal(err)
	}
	if m, err := readMeta(dir); err != nil || m.Version != metaVersion2 || m.ID != "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" {
		t.Fatalf("after the new passphrase: %+v, %v", m, err)
	}
	_ = LockStore(dir, opts.KeyCache)
	if got, err = OpenFile(opts); err != nil {
		t.Fatal(err)
	}
	if v, err := got.Get("session"); err != nil || string(v) != "old tokens" {
		t.Fatalf("after the upgrade: %q, %v", v, err)
	}
}

// TestMigrateFromKeyring guards issue #9 item 1: sessions earlier versions kept directly in a
// keyring move into the store on first unlock, with nothing lost: an entry the store already
// holds (an interrupted earlier migration, renewed since) is kept, not overwritten; the
// guardian's own item, parts of split values and other programs' items stay; the keyring is not
// listed again.
func TestMigrateFromKeyring(t *testing.T) {
	session := strings.Repeat("ab", 32)
	ring := &memKeyring{backend: "secret-service", items: map[string][]byte{
		session:                         []byte("legacy session"),
		session + "/api-key":            []byte("legacy key"),
		session + "/cluster/1/2/x":      []byte("legacy cert"),
		"docker-credentials":            []byte("legacy docker"),
		session + "#0123456789abcdef.1": []byte("a part"),
		"someone-else":                  []byte("not ours"),
	}}
	opts := keyringOptions(t, ring)
	// The store is made by a first unlock; an interrupted migration had copied the API key.
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(session+"/api-key", []byte("renewed key")); err != nil {
		t.Fatal(err)
	}
	_ = LockStore(opts.Dir, opts.KeyCache)
	opts.Migrate = func() []string { return []string{"secret-service"} }
	s, err = OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		session: "legacy session", session + "/api-key": "renewed key", session + "/cluster/1/2/x": "legacy cert",
		"docker-credentials": "legacy docker",
	} {
		if v, err := s.Get(key); err != nil || string(v) != want {
			t.Errorf("%s = %q, %v; want %q", key, v, err, want)
		}
	}
	want := []string{session + "#0123456789abcdef.1", "someone-else", keyItem(s.id)}
	slices.Sort(want)
	if got := ring.keys(); !slices.Equal(got, want) {
		t.Errorf("keyring after the move = %v, want %v", got, want)
	}
	// Marked: the next unlock does not list the keyring.
	ring.items[session+"/late"] = []byte("written by an old release meanwhile")
	_ = LockStore(opts.Dir, opts.KeyCache)
	if _, err := OpenFile(opts); err != nil {
		t.Fatal(err)
	}
	if _, ok := ring.items[session+"/late"]; !ok {
		t.Error("the keyring was migrated twice")
	}
}

func TestLegacyKeyrings(t *testing.T) {
	for _, tc := range []struct {
		backend string
		env     map[string]string
		want    []string
	}{
		{"pass", nil, []string{"pass"}},
		{"file", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, nil},
		{"auto", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, []string{"secret-service"}},
		{"auto", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "disabled:"}, nil},
	} {
		if got := LegacyKeyrings(tc.backend, envMap(tc.env)); !slices.Equal(got, tc.want) {
			t.Errorf("LegacyKeyrings(%q, %v) = %v, want %v", tc.backend, tc.env, got, tc.want)
		}
	}
}

// TestStoreDir: `auto` always uses "store"; an explicit guardian uses it too unless it has
// another guardian, then a store of its own.
func TestStoreDir(t *testing.T) {
	base := t.TempDir()
	main := filepath.Join(base, "store")
	for _, g := range []string{"auto", "file", "keyctl"} {
		if got := StoreDir(base, g); got != main {
			t.Errorf("no store yet: StoreDir(%q) = %s, want %s", g, got, main)
		}
	}
	opts := FileOptions{Dir: main, Guardian: "auto", Passphrase: passphrase(testPass), KDF: testKDF}
	if _, err := OpenFile(opts); err != nil {
		t.Fatal(err)
	}
	for g, want := range map[string]string{"auto": main, "file": main, "keyctl": filepath.Join(base, "store-keyctl")} {
		if got := StoreDir(base, g); got != want {
			t.Errorf("StoreDir(%q) = %s, want %s", g, got, want)
		}
	}
	opts.Guardian = "keyctl"
	if _, err := OpenFile(opts); !errors.Is(err, errOtherGuardian) {
		t.Errorf("opening the passphrase store for keyctl: %v, want errOtherGuardian", err)
	}
}

// TestOnDemandStoreTakesLegacySessions: before any store exists, a read finds the sessions an
// earlier version kept in the keyring (the store is made, guarded by that keyring, to take
// them); a keyring without any is marked, and the store is not made for nothing.
func TestOnDemandStoreTakesLegacySessions(t *testing.T) {
	session := strings.Repeat("cd", 32)
	for _, tc := range []struct {
		name  string
		items map[string][]byte
		made  bool
	}{
		{"a legacy session", map[string][]byte{session: []byte("legacy session")}, true},
		{"nothing of ours", map[string][]byte{"someone-else": []byte("x")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring := &memKeyring{backend: "pass", items: tc.items}
			opts := keyringOptions(t, ring)
			opts.Migrate = func() []string { return []string{"pass"} }
			s, err := OpenFileOnDemand(opts)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.Get(session)
			if tc.made && (err != nil || string(v) != "legacy session") {
				t.Fatalf("Get = %q, %v; want the legacy session", v, err)
			}
			if !tc.made && !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get = %v, want ErrNotFound", err)
			}
			if storeCreated(opts.Dir) != tc.made {
				t.Errorf("store made: %v, want %v", storeCreated(opts.Dir), tc.made)
			}
			opens := ring.opens
			_, _ = s.Get(session)
			if !tc.made && ring.opens != opens {
				t.Error("the keyring was listed again after it was found empty")
			}
		})
	}
}
