package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/G-Core/gcore-credential-helper/cache"
)

// Passphrase is the encrypted-file passphrase every sandbox hands its children. It protects
// nothing: sandboxes hold only tokens from fake servers.
const Passphrase = "harness passphrase, not a secret"

// systemPath is the PATH after the sandbox's own Bin: enough for /bin/sh and coreutils, and
// independent of the developer's PATH.
const systemPath = "/usr/local/bin:/usr/bin:/bin"

// Sandbox is a throwaway HOME with its XDG directories, where a child helper keeps its config,
// cache, locks and encrypted store. Its environment is built from scratch, so the real user's
// HOME, XDG directories and GCORE_* variables never reach a child.
type Sandbox struct {
	Home       string
	ConfigHome string // XDG_CONFIG_HOME
	CacheHome  string // XDG_CACHE_HOME
	DataHome   string // XDG_DATA_HOME
	Bin        string // first in PATH: put persona links (docker-credential-gcore, …) here
}

// NewSandbox lays out a sandbox under root, which must exist (t.TempDir() or os.MkdirTemp).
// Directories are 0700, as the helper demands of its own.
func NewSandbox(root string) (*Sandbox, error) {
	home := filepath.Join(root, "home")
	s := &Sandbox{
		Home:       home,
		ConfigHome: filepath.Join(home, ".config"),
		CacheHome:  filepath.Join(home, ".cache"),
		DataHome:   filepath.Join(home, ".local", "share"),
		Bin:        filepath.Join(root, "bin"),
	}
	for _, dir := range []string{s.ConfigHome, s.CacheHome, s.DataHome, s.Bin} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create sandbox: %w", err)
		}
	}
	return s, nil
}

// ConfigPath is where the helper reads its config in this sandbox (the reference's configuration).
func (s *Sandbox) ConfigPath() string {
	return filepath.Join(s.ConfigHome, "gcore-credential-helper", "config.toml")
}

// WriteConfig replaces the helper's config file with toml, mode 0600.
func (s *Sandbox) WriteConfig(toml string) error {
	p := s.ConfigPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("write sandbox config: %w", err)
	}
	if err := os.WriteFile(p, []byte(toml), 0o600); err != nil {
		return fmt.Errorf("write sandbox config: %w", err)
	}
	return nil
}

// Env returns a child's complete environment: PATH, HOME, the XDG directories, D-Bus disabled
// (so no keyring backend reaches the developer's session bus), the file-store passphrase and
// CI=true (so the helper never decides a human may be asked). extra holds KEY=VALUE entries that
// override or add to those, in order.
func (s *Sandbox) Env(extra ...string) []string {
	env := []string{
		"PATH=" + s.Bin + string(os.PathListSeparator) + systemPath,
		"HOME=" + s.Home,
		"XDG_CONFIG_HOME=" + s.ConfigHome,
		"XDG_CACHE_HOME=" + s.CacheHome,
		"XDG_DATA_HOME=" + s.DataHome,
		"DBUS_SESSION_BUS_ADDRESS=disabled:",
		"GCORE_KEYRING_PASSPHRASE=" + Passphrase,
		"CI=true",
	}
	for _, kv := range extra {
		key, _, _ := strings.Cut(kv, "=")
		i := slices.IndexFunc(env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
		if i >= 0 {
			env[i] = kv
		} else {
			env = append(env, kv)
		}
	}
	return env
}

// ForgetStoreKey removes the sandbox stores' unlocked keys from the kernel
// keyring, where the helper keeps them for 12 h. Tests call it on cleanup so
// that repeated runs do not fill a non-root user's key quota (200 keys). It
// does nothing where there is no store or no kernel keyring.
func (s *Sandbox) ForgetStoreKey() error {
	keys, err := cache.NewKernelKeyCache()
	if err != nil {
		return nil
	}
	var errs []error
	for _, dir := range cache.Stores(filepath.Join(s.DataHome, "gcore-credential-helper")) {
		errs = append(errs, cache.LockStore(dir, keys))
	}
	return errors.Join(errs...)
}
