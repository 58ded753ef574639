package cache

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// A store's guardian keeps its random data key: the passphrase, which seals
// it in the metadata, or an OS keyring, which holds it as one small item,
// unlocked by the desktop login. Whichever it is, the unlocked key goes to the
// KeyCache (the kernel keyring), so a cache hit costs the same on every
// guardian and never talks D-Bus, GPG or a daemon.

// GuardianError means a store's guardian could not give its key: the keyring
// is unreachable (no session bus in a cron job or over ssh), locked, or
// holds no key for the store. It wraps ErrUnavailable.
type GuardianError struct {
	Guardian string // the keyring backend
	Dir      string // the store
	Err      error
}

func (e *GuardianError) Error() string {
	return fmt.Sprintf("the credential store in %s is locked: its key is kept by %s: %v", e.Dir, GuardianName(e.Guardian), e.Err)
}

func (e *GuardianError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// GuardianName says who a guardian is, for messages.
func GuardianName(guardian string) string {
	switch guardian {
	case GuardianPassphrase:
		return "your passphrase"
	case "secret-service":
		return "the desktop keyring (Secret Service)"
	case "kwallet":
		return "KWallet"
	case "keychain":
		return "the macOS Keychain"
	case "wincred":
		return "Windows Credential Manager"
	case "pass":
		return "pass (GPG)"
	case "keyctl":
		return "the kernel keyring (keyctl)"
	}
	return guardian
}

// ChooseGuardian is `auto`'s choice, made once when a store is created: the
// platform keyring when one is reachable, else the passphrase. On Linux that
// is a Secret Service on the session bus; with no bus address it is the
// passphrase, decided without touching D-Bus. It is the one place `auto` is
// decided.
func ChooseGuardian(env func(string) string) string {
	switch runtime.GOOS {
	case "darwin":
		return compiledInOr("keychain")
	case "windows":
		return compiledInOr("wincred")
	}
	if env == nil || sessionBusAddress(env) == "" {
		return GuardianPassphrase
	}
	if SecretServiceReachable(env) {
		return "secret-service"
	}
	return GuardianPassphrase
}

// compiledInOr is the platform keyring when this build has it (a macOS
// build without cgo has no Keychain), else the passphrase.
func compiledInOr(backend string) string {
	if KeyringCompiledIn(backend) {
		return backend
	}
	return GuardianPassphrase
}

// keyItem names the keyring item that holds the data key of store id.
func keyItem(id string) string { return "store-key:" + id }

func (opts FileOptions) keyring(backend string) (Store, error) {
	if opts.Keyring != nil {
		return opts.Keyring(backend)
	}
	return OpenKeyring(backend, opts.KeyringOptions)
}

// The questions a store asks its passphrase source. They are short: the
// source explains once what the passphrase protects.
const (
	PromptNewPassphrase   = "New passphrase: "
	PromptPassphrase      = "Passphrase: "
	PromptPassphraseAgain = "Sorry, try again. Passphrase: "
)

// guard gives key to m's guardian: sealed with a new passphrase in m, or
// stored in the keyring.
func guard(opts FileOptions, m *metadata, key []byte) error {
	if m.Guardian == GuardianPassphrase {
		pass, err := askPassphrase(opts, PromptNewPassphrase, true)
		if err != nil {
			return err
		}
		return m.sealWithPassphrase(key, pass, opts.KDF.orDefault())
	}
	ring, err := opts.keyring(m.Guardian)
	if err == nil {
		err = ring.Put(keyItem(m.ID), []byte(hex.EncodeToString(key)))
	}
	if err != nil {
		return &GuardianError{Guardian: m.Guardian, Dir: opts.Dir, Err: err}
	}
	return nil
}

// forgetGuarded takes back a key guard gave a keyring for a store that was
// not made after all.
func forgetGuarded(opts FileOptions, m metadata) {
	if m.Guardian == GuardianPassphrase {
		return
	}
	if ring, err := opts.keyring(m.Guardian); err == nil {
		_ = ring.Delete(keyItem(m.ID))
	}
}

// unlockKey asks m's guardian for the data key.
func unlockKey(opts FileOptions, m metadata) ([]byte, error) {
	if m.Guardian == GuardianPassphrase {
		prompt := PromptPassphrase
		for attempt := 1; ; attempt++ {
			pass, err := askPassphrase(opts, prompt, false)
			if err != nil {
				return nil, err
			}
			key, err := m.openWithPassphrase(pass)
			if !errors.Is(err, ErrWrongPassphrase) {
				return key, err
			}
			if attempt >= opts.PassphraseAttempts {
				return nil, fmt.Errorf("unlock credential store in %s: %w", opts.Dir, err)
			}
			prompt = PromptPassphraseAgain
		}
	}
	ring, err := opts.keyring(m.Guardian)
	if err != nil {
		return nil, &GuardianError{Guardian: m.Guardian, Dir: opts.Dir, Err: err}
	}
	item, err := ring.Get(keyItem(m.ID))
	if errors.Is(err, ErrNotFound) {
		return nil, &GuardianError{Guardian: m.Guardian, Dir: opts.Dir,
			Err: errors.New("it holds no key for this store (was the keyring reset?)")}
	}
	if err != nil {
		return nil, &GuardianError{Guardian: m.Guardian, Dir: opts.Dir, Err: err}
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(item)))
	if err != nil || len(key) != keySize {
		return nil, &GuardianError{Guardian: m.Guardian, Dir: opts.Dir, Err: errors.New("its item for this store is damaged")}
	}
	return key, nil
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

// Rekey hands the data key of the store in opts.Dir to guardian: a new
// passphrase (GuardianPassphrase, also to change the passphrase) or an OS
// keyring. The current guardian unlocks it first (the cached key, else the
// passphrase or keyring); the sessions, sealed with the data key, stay as
// they are. A keyring the key leaves forgets it. It returns the guardian it
// had.
func Rekey(opts FileOptions, guardian string) (previous string, err error) {
	if !validGuardian(guardian) {
		return "", fmt.Errorf("unknown guardian %q", guardian)
	}
	if err := EnsurePrivateDir(opts.Dir); err != nil {
		return "", fmt.Errorf("open credential store: %w", err)
	}
	unlock, err := lockUnlocking(opts)
	if err != nil {
		return "", err
	}
	defer unlock()
	m, err := readMeta(opts.Dir)
	if err != nil {
		return "", err
	}
	var key []byte
	if opts.KeyCache != nil {
		key, _ = opts.KeyCache.Load(m.ID)
	}
	if key == nil {
		if key, err = unlockKey(opts, m); err != nil {
			return "", err
		}
	}
	if _, err := newFileStore(opts.Dir, m, key); err != nil {
		return "", err
	}
	next := m
	next.Version, next.Guardian, next.KDF, next.Wrapped = metaVersion2, guardian, kdfRecord{}, nil
	if err := guard(opts, &next, key); err != nil {
		return "", err
	}
	if err := atomicfile.Write(filepath.Join(opts.Dir, metaName), next.encode(), 0o600); err != nil {
		if guardian != m.Guardian {
			forgetGuarded(opts, next)
		}
		return "", fmt.Errorf("rekey credential store: %w", err)
	}
	if m.Guardian != guardian {
		forgetGuarded(opts, m)
	}
	return m.Guardian, nil
}
