package cache

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// keyDescPrefix namespaces our keys in the user keyring; the store id
	// follows it, so different stores never collide.
	keyDescPrefix = "gcore-credential-helper:"
	// maxKeyLen bounds the read buffer; store keys are keySize bytes.
	maxKeyLen = 256
)

type kernelKeyCache struct{}

// NewKernelKeyCache returns a KeyCache in the Linux kernel's per-user
// keyring: readable by this user's processes, never written to disk, gone on
// expiry or reboot. It fails when the kernel refuses keyctl (as container
// seccomp profiles often do); elsewhere than Linux it always fails.
func NewKernelKeyCache() (KeyCache, error) {
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true); err != nil {
		return nil, fmt.Errorf("kernel keyring: %w", err)
	}
	return kernelKeyCache{}, nil
}

func (kernelKeyCache) search(id string) (int, error) {
	kid, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", keyDescPrefix+id, 0)
	if errors.Is(err, unix.ENOKEY) || errors.Is(err, unix.EKEYEXPIRED) || errors.Is(err, unix.EKEYREVOKED) {
		return 0, fmt.Errorf("cached key for store %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("search kernel keyring for store %s: %w", id, err)
	}
	return kid, nil
}

// Load reads the key saved for store id.
func (c kernelKeyCache) Load(id string) ([]byte, error) {
	kid, err := c.search(id)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, maxKeyLen)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, kid, buf, 0)
	if errors.Is(err, unix.EKEYEXPIRED) || errors.Is(err, unix.EKEYREVOKED) {
		return nil, fmt.Errorf("cached key for store %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read kernel key for store %s: %w", id, err)
	}
	if n > len(buf) {
		return nil, fmt.Errorf("read kernel key for store %s: unexpected size %d", id, n)
	}
	return buf[:n], nil
}

// Save keeps key for store id for ttl (at least a second), replacing any
// previous key.
//
// A key added straight to the user keyring is not possessed by this process
// when its session keyring does not link the user keyring (true here: each
// process gets its own session keyring), and then its permissions could not
// be changed. So the key is born in the process keyring, which is always
// possessed, gets its permissions and expiry there, and only then is linked
// into the user keyring: no other process ever sees it unreadable or
// immortal.
func (kernelKeyCache) Save(id string, key []byte, ttl time.Duration) error {
	kid, err := unix.AddKey("user", keyDescPrefix+id, key, unix.KEY_SPEC_PROCESS_KEYRING)
	if err != nil {
		return fmt.Errorf("add kernel key for store %s: %w", id, err)
	}
	defer unix.KeyctlInt(unix.KEYCTL_UNLINK, kid, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0)
	if err := unix.KeyctlSetperm(kid, keyPerm); err != nil {
		return fmt.Errorf("set kernel key permissions for store %s: %w", id, err)
	}
	secs := max(int((ttl+time.Second-1)/time.Second), 1)
	if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, kid, secs, 0, 0); err != nil {
		return fmt.Errorf("set kernel key expiry for store %s: %w", id, err)
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_LINK, kid, unix.KEY_SPEC_USER_KEYRING, 0, 0); err != nil {
		return fmt.Errorf("link kernel key for store %s: %w", id, err)
	}
	return nil
}

// Forget invalidates the key saved for store id, wherever it is linked.
func (c kernelKeyCache) Forget(id string) error {
	kid, err := c.search(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_INVALIDATE, kid, 0, 0, 0); err != nil {
		return fmt.Errorf("invalidate kernel key for store %s: %w", id, err)
	}
	return nil
}
