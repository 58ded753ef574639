package cache

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// DefaultKeyTTL is how long an unlocked data key stays in the KeyCache when
// FileOptions.KeyTTL is zero.
const DefaultKeyTTL = 12 * time.Hour

// FileOptions configure OpenFile.
type FileOptions struct {
	// Dir holds the store, e.g. $XDG_DATA_HOME/gcore-credential-helper/store.
	Dir string
	// Guardian is who guards a store created here: GuardianPassphrase, a
	// keyring backend, or "auto" (ChooseGuardian). An existing store keeps
	// the guardian it records.
	Guardian string
	// Passphrase is asked only when the passphrase guardian must unlock the
	// store; confirm is true when a new passphrase is being set, so the
	// caller should ask twice. prompt is a short question ending in ": "
	// (PromptNewPassphrase, PromptPassphrase, PromptPassphraseAgain).
	Passphrase func(prompt string, confirm bool) (string, error)
	// PassphraseAttempts is how many passphrases an unlock tries before it
	// reports ErrWrongPassphrase: more than one only where a person types
	// it (as sudo does); zero means one.
	PassphraseAttempts int
	// Keyring opens the OS keyring that guards a store's key; nil opens it
	// with OpenKeyring and KeyringOptions.
	Keyring func(backend string) (Store, error)
	// KeyringOptions configure the default Keyring.
	KeyringOptions KeyringOptions
	// KeyCache keeps the unlocked data key between processes; nil unlocks
	// on every open.
	KeyCache KeyCache
	// KeyTTL is the lifetime of a cached key; zero means DefaultKeyTTL.
	KeyTTL time.Duration
	// KDF sets the costs for a new passphrase; see KDFParams.
	KDF KDFParams
	// UnlockWait bounds the wait for another process unlocking or creating
	// the store; zero means DefaultUnlockWait.
	UnlockWait time.Duration
	// OnUnlockWait, if set, is called once when that wait has lasted
	// DefaultLockNotice, so the user learns why nothing happens.
	OnUnlockWait func()
	// Migrate names OS keyrings that earlier versions kept sessions in
	// directly (see LegacyKeyrings); their entries move into the store when
	// it is unlocked (see migrate.go). It is called only then, never on a
	// cache hit.
	Migrate func() []string
	// Now is the clock for sweeping abandoned temporary files; nil means
	// time.Now.
	Now func() time.Time
}

// KeyCache keeps a store's data key between processes so that its guardian
// is asked once per session, not once per call.
type KeyCache interface {
	// Load returns the key saved under id, or an error wrapping ErrNotFound
	// when it is absent or expired.
	Load(id string) ([]byte, error)
	// Save keeps key under id for ttl.
	Save(id string, key []byte, ttl time.Duration) error
	// Forget removes the key saved under id; a missing key is not an error.
	Forget(id string) error
}

// FileStore is the encrypted store: one metadata file and one AES-256-GCM
// file per entry in a private directory, under a random data key that its
// guardian (the passphrase or an OS keyring) keeps. It is safe for
// concurrent use by goroutines and processes; the last Put of a key wins.
type FileStore struct {
	dir      string
	id       string
	guardian string
	aead     cipher.AEAD
	nameKey  []byte
	cached   bool
	made     bool // this process made the store (see uncreatedFile.Abandon)
}

// OpenFile opens the store in opts.Dir, creating the directory and the store
// when they do not exist. With the data key in opts.KeyCache it costs a few
// small reads; otherwise it asks the store's guardian and caches the key. A
// passphrase that does not unlock the store gives an error wrapping
// ErrWrongPassphrase; a guardian that cannot be reached or refuses, a
// *GuardianError; a damaged metadata file a *CorruptError.
func OpenFile(opts FileOptions) (*FileStore, error) {
	if err := EnsurePrivateDir(opts.Dir); err != nil {
		return nil, fmt.Errorf("open credential store: %w", err)
	}
	return openChecked(opts)
}

// openChecked is OpenFile once opts.Dir has passed EnsurePrivateDir.
func openChecked(opts FileOptions) (*FileStore, error) {
	m, err := readMeta(opts.Dir)
	if err == nil {
		if err := checkGuardian(opts, m); err != nil {
			return nil, err
		}
		if s := fromKeyCache(opts, m); s != nil {
			return s, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The slow path runs one process at a time: a burst of callers that all
	// find the key missing would otherwise each run the KDF (64 MiB, ~150 ms)
	// or each ask the keyring at once. The first caches the key; the rest
	// find it there.
	unlock, err := lockUnlocking(opts)
	if err != nil {
		return nil, err
	}
	defer unlock()
	m, err = readMeta(opts.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return create(opts)
	}
	if err != nil {
		return nil, err
	}
	if err := checkGuardian(opts, m); err != nil {
		return nil, err
	}
	if s := fromKeyCache(opts, m); s != nil {
		return s, nil
	}
	key, err := unlockKey(opts, m)
	if err != nil {
		return nil, err
	}
	return unlockedWith(opts, m, key)
}

// errOtherGuardian means the store has a guardian other than the one asked
// for by name: another store is that guardian's (see StoreDir).
var errOtherGuardian = errors.New("the store has another guardian")

func checkGuardian(opts FileOptions, m metadata) error {
	if explicit := opts.Guardian; explicit != "" && explicit != "auto" && explicit != m.Guardian {
		return fmt.Errorf("credential store in %s is guarded by %s, not %s: %w", opts.Dir, m.Guardian, explicit, errOtherGuardian)
	}
	return nil
}

// StoreDir is where the store for guardian lives under base
// ($XDG_DATA_HOME/gcore-credential-helper): "store", unless guardian is
// named explicitly and that store already has another one; then
// "store-<guardian>". `auto` always uses "store", whichever guardian it chose
// when it made it, so that every process of the user (a desktop terminal, a
// cron job, an ssh session) finds the same sessions.
func StoreDir(base, guardian string) string {
	main := filepath.Join(base, "store")
	if guardian == "" || guardian == "auto" {
		return main
	}
	if m, err := readMeta(main); err == nil && m.Guardian != guardian {
		return filepath.Join(base, "store-"+guardian)
	}
	return main
}

// lockUnlocking takes the store's unlock lock, waiting at most
// opts.UnlockWait for another process unlocking or creating it.
func lockUnlocking(opts FileOptions) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockWait(opts))
	defer cancel()
	unlock, err := (&Locker{Dir: opts.Dir, OnWait: opts.OnUnlockWait}).Lock(ctx, "unlock")
	if err != nil {
		return nil, fmt.Errorf("open credential store: %w", err)
	}
	return unlock, nil
}

// DefaultUnlockWait bounds how long OpenFile waits for another process that
// is unlocking or creating the store, when FileOptions.UnlockWait is zero.
const DefaultUnlockWait = 60 * time.Second

func unlockWait(opts FileOptions) time.Duration {
	if opts.UnlockWait > 0 {
		return opts.UnlockWait
	}
	return DefaultUnlockWait
}

// fromKeyCache opens the store with the cached key, or returns nil when the
// guardian is needed. Any failure to load (absent, expired, keyring
// refused) only means that; a cached key that no longer fits is dropped.
func fromKeyCache(opts FileOptions, m metadata) *FileStore {
	if opts.KeyCache == nil {
		return nil
	}
	key, err := opts.KeyCache.Load(m.ID)
	if err != nil {
		return nil
	}
	s, err := newFileStore(opts.Dir, m, key)
	if err != nil {
		_ = opts.KeyCache.Forget(m.ID)
		return nil
	}
	s.cached = true
	return s
}

// create makes a new store. OpenFile calls it under the unlock lock; the
// link that never replaces an existing file still guarantees that two
// creators, should they ever race, agree on one metadata file. The guardian
// has the key before the metadata names it: a store whose guardian could not
// take its key is never made.
func create(opts FileOptions) (*FileStore, error) {
	guardian := opts.Guardian
	if guardian == "" || guardian == "auto" {
		guardian = ChooseGuardian(opts.KeyringOptions.Env)
	}
	key := newDataKey()
	m, err := newMetadata(guardian, key)
	if err != nil {
		return nil, fmt.Errorf("create credential store: %w", err)
	}
	if err := guard(opts, &m, key); err != nil {
		return nil, err
	}
	err = linkNew(filepath.Join(opts.Dir, metaName), m.encode(), 0o600)
	if errors.Is(err, fs.ErrExist) {
		forgetGuarded(opts, m)
		return openChecked(opts)
	}
	if err != nil {
		forgetGuarded(opts, m)
		return nil, fmt.Errorf("create credential store: %w", err)
	}
	s, err := unlockedWith(opts, m, key)
	if s != nil {
		s.made = true
	}
	return s, err
}

// unlockedWith opens the store with a key its guardian just gave, caches
// the key, moves sessions earlier versions kept in a keyring, and sweeps
// what killed writers left.
func unlockedWith(opts FileOptions, m metadata, key []byte) (*FileStore, error) {
	s, err := newFileStore(opts.Dir, m, key)
	if err != nil {
		return nil, err
	}
	if opts.KeyCache != nil {
		ttl := opts.KeyTTL
		if ttl <= 0 {
			ttl = DefaultKeyTTL
		}
		// The store works without the cache; the next process will just
		// ask again, and status reports the key as not cached.
		_ = opts.KeyCache.Save(m.ID, key, ttl)
	}
	migrate(opts, s)
	sweepAbandoned(opts)
	return s, nil
}

// abandonedAge is how old a temporary file must be to count as abandoned: a
// write takes milliseconds, so no live writer is that slow.
const abandonedAge = 10 * time.Minute

// sweepAbandoned removes the temporary files of writes a killed process never
// finished (encrypted, but they would pile up). It runs only when the key was
// just unlocked, at most once per key lifetime, never on a cache hit.
func sweepAbandoned(opts FileOptions) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	temps, _ := filepath.Glob(filepath.Join(opts.Dir, ".*.tmp-*"))
	for _, path := range temps {
		if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && now().Sub(fi.ModTime()) > abandonedAge {
			_ = os.Remove(path)
		}
	}
}

func newFileStore(dir string, m metadata, key []byte) (*FileStore, error) {
	aead, err := newAEAD(key)
	if err != nil || !m.unlocks(aead) {
		if m.Guardian != GuardianPassphrase {
			return nil, &GuardianError{Guardian: m.Guardian, Dir: dir, Err: errors.New("it holds a key that does not open this store")}
		}
		return nil, fmt.Errorf("unlock credential store in %s: %w", dir, ErrWrongPassphrase)
	}
	return &FileStore{
		dir:      dir,
		id:       m.ID,
		guardian: m.Guardian,
		aead:     aead,
		nameKey:  key[encKeySize:],
	}, nil
}

func readMeta(dir string) (metadata, error) {
	path := filepath.Join(dir, metaName)
	data, err := readPrivateFile(path)
	if err != nil {
		return metadata{}, fmt.Errorf("read credential store metadata: %w", err)
	}
	m, err := parseMeta(data)
	if err != nil {
		return metadata{}, fmt.Errorf("read credential store metadata: %w", &CorruptError{Path: path, Reason: err.Error()})
	}
	return m, nil
}

// entryPath names an entry's file by a keyed hash, so that the directory
// listing reveals no key names, not even to someone guessing them.
func (s *FileStore) entryPath(key string) string {
	h := hmac.New(sha256.New, s.nameKey)
	h.Write([]byte(key))
	return filepath.Join(s.dir, hex.EncodeToString(h.Sum(nil))+entrySuffix)
}

// Get returns the value stored under key. A missing entry gives an error
// wrapping ErrNotFound; a damaged one a *CorruptError naming its file; one
// this store did not write (another owner, a mode other than 0600) an
// *UnsafePathError naming it.
func (s *FileStore) Get(key string) ([]byte, error) {
	path := s.entryPath(key)
	data, err := readPrivateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read cache entry %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read cache entry %q: %w", key, err)
	}
	value, err := decodeEntry(s.aead, key, data)
	if err != nil {
		return nil, fmt.Errorf("read cache entry %q: %w", key, &CorruptError{Path: path, Reason: err.Error()})
	}
	return value, nil
}

// Put stores value under key; readers see the old or the new value, never a
// partial one, even if the process dies mid-write.
func (s *FileStore) Put(key string, value []byte) error {
	if err := atomicfile.Write(s.entryPath(key), encodeEntry(s.aead, key, value), 0o600); err != nil {
		return fmt.Errorf("write cache entry %q: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (s *FileStore) Delete(key string) error {
	err := os.Remove(s.entryPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete cache entry %q: %w", key, err)
	}
	return atomicfile.SyncDir(s.dir)
}

// Backend returns "file": sessions always live in the encrypted file.
func (s *FileStore) Backend() string { return "file" }

// Guardian names who keeps the store's data key: GuardianPassphrase or an
// OS keyring backend.
func (s *FileStore) Guardian() string { return s.guardian }

// KeyCached reports whether the key came from the KeyCache rather than from
// the guardian, for status.
func (s *FileStore) KeyCached() bool { return s.cached }

// Stores lists the stores under base (see StoreDir): "store" and any
// "store-<guardian>" that holds a store.
func Stores(base string) []string {
	dirs, _ := filepath.Glob(filepath.Join(base, "store*"))
	var stores []string
	for _, dir := range dirs {
		if storeCreated(dir) {
			stores = append(stores, dir)
		}
	}
	return stores
}

// CheckGuardian asks the guardian of the store in dir for its key and
// checks that it opens the store, without prompting and without caching the
// key: doctor's check. A passphrase guardian cannot be asked without a
// prompt; it returns ok false and no error.
func CheckGuardian(opts FileOptions) (guardian string, ok bool, err error) {
	m, err := readMeta(opts.Dir)
	if err != nil {
		return "", false, err
	}
	if m.Guardian == GuardianPassphrase {
		return m.Guardian, false, nil
	}
	key, err := unlockKey(opts, m)
	if err == nil {
		_, err = newFileStore(opts.Dir, m, key)
	}
	return m.Guardian, err == nil, err
}

// LockStore forgets the cached key of the store in dir without unlocking it
// first, so the next open asks its guardian again. A missing store is not an
// error.
func LockStore(dir string, keys KeyCache) error {
	m, err := readMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := keys.Forget(m.ID); err != nil {
		return fmt.Errorf("forget cached store key: %w", err)
	}
	return nil
}
