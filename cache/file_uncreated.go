package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Guarded is what status shows of a store: who guards its key, and whether
// the key came from the KeyCache. *FileStore and the stores
// OpenFileOnDemand returns have it.
type Guarded interface {
	Guardian() string
	KeyCached() bool
}

// OpenFileOnDemand is OpenFile for callers that may only read: when opts.Dir
// holds no store yet, it asks for no passphrase and returns a Store that
// finds nothing and deletes nothing, and creates the store (asking for a new
// passphrase) only when a value is first put. Someone who has never logged in
// is thus told to log in, not that a store they never made is locked. Once a
// store exists, here or made meanwhile by another process, this is OpenFile.
func OpenFileOnDemand(opts FileOptions) (Store, error) {
	if err := EnsurePrivateDir(opts.Dir); err != nil {
		return nil, fmt.Errorf("open credential store: %w", err)
	}
	if storeCreated(opts.Dir) {
		return openChecked(opts)
	}
	return &uncreatedFile{opts: opts}, nil
}

// storeCreated reports whether dir holds a store's metadata file, or
// something in its place that OpenFile should look at and report.
func storeCreated(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, metaName))
	return !errors.Is(err, fs.ErrNotExist)
}

// uncreatedFile stands for a file store that did not exist when it was
// opened. Each call checks again, so a store another process creates
// meanwhile is read, never shadowed.
type uncreatedFile struct {
	opts FileOptions
	mu   sync.Mutex
	open *FileStore
}

// store opens the real store; with create false it returns nil while none
// exists, unless a keyring holds sessions of an earlier version: then the
// store is made to take them (migrate.go).
func (u *uncreatedFile) store(create bool) (*FileStore, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.open != nil {
		return u.open, nil
	}
	if !create && !storeCreated(u.opts.Dir) && !legacySessionsWaiting(u.opts) {
		return nil, nil
	}
	s, err := openChecked(u.opts)
	if err != nil {
		return nil, err
	}
	u.open = s
	return s, nil
}

func (u *uncreatedFile) Get(key string) ([]byte, error) {
	s, err := u.store(false)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("read cache entry %q: no credential store in %s yet: %w", key, u.opts.Dir, ErrNotFound)
	}
	return s.Get(key)
}

func (u *uncreatedFile) Put(key string, value []byte) error {
	s, err := u.store(true)
	if err != nil {
		return err
	}
	return s.Put(key, value)
}

func (u *uncreatedFile) Delete(key string) error {
	s, err := u.store(false)
	if err != nil || s == nil {
		return err
	}
	return s.Delete(key)
}

func (u *uncreatedFile) Backend() string { return "file" }

// Guardian is the guardian of the store once it is made, "" before.
func (u *uncreatedFile) Guardian() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.open == nil {
		return ""
	}
	return u.open.Guardian()
}

// KeyCached reports whether the made store's key came from the KeyCache.
func (u *uncreatedFile) KeyCached() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.open != nil && u.open.KeyCached()
}

// Abandon unmakes a store that this value made and that nothing was ever
// put in, so that a first login that fails leaves no store behind (and no
// passphrase to remember). A store another process made, or one holding any
// entry, is kept. The directory and its lock files stay: other processes
// may be waiting on those locks.
//
// It runs under the unlock lock, so no process is unlocking the store
// meanwhile; one that already holds the key and is about to put its first
// entry could still lose it (it would be told to log in again), which takes
// two first logins at the same moment and one of them failing.
func (u *uncreatedFile) Abandon() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.open == nil || !u.open.made {
		return
	}
	unlock, err := lockUnlocking(u.opts)
	if err != nil {
		return
	}
	defer unlock()
	if hasEntries(u.opts.Dir) {
		return
	}
	if err := os.Remove(filepath.Join(u.opts.Dir, metaName)); err != nil {
		return
	}
	forgetGuarded(u.opts, metadata{ID: u.open.id, Guardian: u.open.guardian})
	if u.opts.KeyCache != nil {
		_ = u.opts.KeyCache.Forget(u.open.id)
	}
	u.open = nil
}

// hasEntries reports whether dir holds an entry, or cannot be read (then
// it may).
func hasEntries(dir string) bool {
	names, err := os.ReadDir(dir)
	if err != nil {
		return true
	}
	for _, n := range names {
		if filepath.Ext(n.Name()) == entrySuffix {
			return true
		}
	}
	return false
}

// PrepareWrite makes the store now, asking for its new passphrase, so that a
// caller about to do something costly (a login) learns first whether the
// result can be kept.
func (u *uncreatedFile) PrepareWrite() error {
	_, err := u.store(true)
	return err
}
