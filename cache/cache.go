// Package cache owns where credentials rest between processes: the encrypted
// file store (the embedded default), the OS keyring backends, the cache of the
// file store's derived key in the kernel keyring, per-key cross-process locks,
// a short memory of failed logins, and atomic private file writes.
//
// It is mechanism only: it knows nothing of networks, of Gcore, or of which
// protocol asked for a credential.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned by Store.Get for a key that holds no value.
	ErrNotFound = errors.New("not found")
	// ErrWrongPassphrase is returned when a passphrase does not unlock the
	// file store (the store's verifier fails to authenticate).
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrLockTimeout is returned by Locker.Lock when its context ends before
	// the lock is free.
	ErrLockTimeout = errors.New("timed out waiting for lock")
	// ErrUnavailable is returned when an OS keyring backend cannot be reached
	// or is locked.
	ErrUnavailable = errors.New("keyring backend unavailable or locked")
)

// Store is what the token engine needs from any storage backend.
type Store interface {
	// Get returns the value stored under key, or an error wrapping
	// ErrNotFound.
	Get(key string) ([]byte, error)
	// Put stores value under key, replacing any previous value atomically.
	Put(key string, value []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(key string) error
	// Backend names the backend for status output: "file",
	// "secret-service", …
	Backend() string
}

// UnsafePathError reports a path that other users could tamper with, so
// secrets must not be kept there.
type UnsafePathError struct {
	Path   string
	Reason string
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("unsafe path %q: %s", e.Path, e.Reason)
}

// CorruptError reports a store file that exists but cannot be decoded or
// authenticated. Callers may branch on it to discard the file.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt file %q: %s", e.Path, e.Reason)
}

// hashName turns a key into a file name that neither leaks the key nor
// depends on which characters it contains.
func hashName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
