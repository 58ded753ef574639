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

// DefaultKeyTTL is how long a derived key stays in the KeyCache when
// FileOptions.KeyTTL is zero.
const DefaultKeyTTL = 12 * time.Hour

// FileOptions configure OpenFile.
type FileOptions struct {
	// Dir holds the store, e.g. $XDG_DATA_HOME/gcore-credential-helper.
	Dir string
	// Passphrase is asked only when the key is not cached; confirm is true
	// when a new store is being created, so the caller should ask twice.
	Passphrase func(prompt string, confirm bool) (string, error)
	// KeyCache keeps the derived key between processes; nil derives it on
	// every open.
	KeyCache KeyCache
	// KeyTTL is the lifetime of a cached key; zero means DefaultKeyTTL.
	KeyTTL time.Duration
	// KDF sets the costs for a new store; see KDFParams.
	KDF KDFParams
	// UnlockWait bounds the wait for another process unlocking or creating
	// the store; zero means DefaultUnlockWait.
	UnlockWait time.Duration
	// Now is the clock for sweeping abandoned temporary files; nil means
	// time.Now.
	Now func() time.Time
}

// KeyCache keeps a file store's derived key between processes so that the
// KDF runs once per session, not once per call.
type KeyCache interface {
	// Load returns the key saved under id, or an error wrapping ErrNotFound
	// when it is absent or expired.
	Load(id string) ([]byte, error)
	// Save keeps key under id for ttl.
	Save(id string, key []byte, ttl time.Duration) error
	// Forget removes the key saved under id; a missing key is not an error.
	Forget(id string) error
}

// FileStore is the encrypted file backend: one metadata file and one
// AES-256-GCM file per entry in a private directory. It is safe for
// concurrent use by goroutines and processes; the last Put of a key wins.
type FileStore struct {
	dir     string
	id      string
	aead    cipher.AEAD
	nameKey []byte
	cached  bool
}

// OpenFile opens the store in opts.Dir, creating the directory and the store
// when they do not exist. With the key in opts.KeyCache it costs a few small
// reads; otherwise it asks opts.Passphrase and runs the KDF, then saves the
// key in the cache. A passphrase that does not unlock the store gives an
// error wrapping ErrWrongPassphrase; a damaged metadata file a *CorruptError.
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
		if s := fromKeyCache(opts, m); s != nil {
			return s, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// The slow path runs one process at a time: a burst of callers that all
	// find the key missing would otherwise each run the KDF (64 MiB, ~150 ms)
	// at once. The first derives and caches the key; the rest find it there.
	ctx, cancel := context.WithTimeout(context.Background(), unlockWait(opts))
	defer cancel()
	unlock, err := (&Locker{Dir: opts.Dir}).Lock(ctx, "unlock")
	if err != nil {
		return nil, fmt.Errorf("open credential store: %w", err)
	}
	defer unlock()
	m, err = readMeta(opts.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return create(opts)
	}
	if err != nil {
		return nil, err
	}
	if s := fromKeyCache(opts, m); s != nil {
		return s, nil
	}
	pass, err := askPassphrase(opts, "Passphrase for the credential store in "+opts.Dir, false)
	if err != nil {
		return nil, err
	}
	return openWithPassphrase(opts, m, pass)
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
// passphrase is needed. Any failure to load (absent, expired, keyring
// refused) only means that; a cached key that no longer fits is dropped.
func fromKeyCache(opts FileOptions, m metadata) *FileStore {
	if opts.KeyCache == nil {
		return nil
	}
	key, err := opts.KeyCache.Load(m.ID)
	if err != nil {
		return nil
	}
	s, err := newFileStore(opts, m, key)
	if err != nil {
		_ = opts.KeyCache.Forget(m.ID)
		return nil
	}
	s.cached = true
	return s
}

// create makes a new store. OpenFile calls it under the unlock lock; the
// link that never replaces an existing file still guarantees that two
// creators, should they ever race, agree on one metadata file.
func create(opts FileOptions) (*FileStore, error) {
	pass, err := askPassphrase(opts, "New passphrase for the credential store in "+opts.Dir, true)
	if err != nil {
		return nil, err
	}
	m, key, err := newMetadata(pass, opts.KDF.orDefault())
	if err != nil {
		return nil, fmt.Errorf("create credential store: %w", err)
	}
	err = linkNew(filepath.Join(opts.Dir, metaName), m.encode(), 0o600)
	if errors.Is(err, fs.ErrExist) {
		if m, err = readMeta(opts.Dir); err != nil {
			return nil, err
		}
		return openWithPassphrase(opts, m, pass)
	}
	if err != nil {
		return nil, fmt.Errorf("create credential store: %w", err)
	}
	return unlockedWith(opts, m, key)
}

func askPassphrase(opts FileOptions, prompt string, confirm bool) (string, error) {
	if opts.Passphrase == nil {
		return "", errors.New("credential store is locked and no passphrase source is configured")
	}
	pass, err := opts.Passphrase(prompt, confirm)
	if err != nil {
		return "", fmt.Errorf("read passphrase: %w", err)
	}
	if pass == "" {
		return "", errors.New("read passphrase: empty passphrase")
	}
	return pass, nil
}

func openWithPassphrase(opts FileOptions, m metadata, pass string) (*FileStore, error) {
	return unlockedWith(opts, m, m.KDF.derive(pass))
}

// unlockedWith opens the store with a freshly derived key and caches it.
func unlockedWith(opts FileOptions, m metadata, key []byte) (*FileStore, error) {
	s, err := newFileStore(opts, m, key)
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
	sweepAbandoned(opts)
	return s, nil
}

// abandonedAge is how old a temporary file must be to count as abandoned: a
// write takes milliseconds, so no live writer is that slow.
const abandonedAge = 10 * time.Minute

// sweepAbandoned removes the temporary files of writes a killed process never
// finished (encrypted, but they would pile up). It runs only when the key was
// just derived, at most once per key lifetime, never on a cache hit.
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

func newFileStore(opts FileOptions, m metadata, key []byte) (*FileStore, error) {
	aead, err := newAEAD(key)
	if err != nil || !m.unlocks(aead) {
		return nil, fmt.Errorf("unlock credential store in %s: %w", opts.Dir, ErrWrongPassphrase)
	}
	return &FileStore{
		dir:     opts.Dir,
		id:      m.ID,
		aead:    aead,
		nameKey: key[encKeySize:],
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

// Backend returns "file".
func (s *FileStore) Backend() string { return "file" }

// KeyCached reports whether the key came from the KeyCache rather than from
// the passphrase, for status.
func (s *FileStore) KeyCached() bool { return s.cached }

// LockStore forgets the cached key of the store in dir without unlocking it
// first, so the next open asks for the passphrase. A missing store is not an
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
