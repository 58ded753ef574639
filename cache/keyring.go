package cache

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/99designs/keyring"
	"github.com/godbus/dbus"
)

// keyPerm grants possessor and user (same uid) everything and others
// nothing. The kernel's default grants the user only "view", so a later
// process, which does not possess a key, could not read it.
const keyPerm = 0x3f3f0000

const (
	secretServiceName = "org.freedesktop.secrets"
	// busProbeTimeout bounds SecretServiceReachable against a hung bus.
	busProbeTimeout = time.Second
)

// KeyringOptions configure OpenKeyring.
type KeyringOptions struct {
	// ServiceName ("gcore-credential-helper") names the secret-service
	// collection, the KWallet wallet, the Keychain service, the wincred
	// prefix, the pass folder and the keyctl keyring.
	ServiceName string
	// PassDir is the password store (default $PASSWORD_STORE_DIR, else
	// ~/.password-store); PassCmd the pass program (default "pass").
	PassDir, PassCmd string
	// Env reads the caller's environment.
	Env func(string) string
}

// OpenKeyring opens an OS keyring backend by name: secret-service, kwallet,
// keychain, wincred, pass or keyctl. A backend that cannot be reached or
// opened here gives an error wrapping ErrUnavailable; it never falls back to
// another backend.
func OpenKeyring(backend string, opts KeyringOptions) (Store, error) {
	env := opts.Env
	if env == nil {
		env = func(string) string { return "" }
	}
	cfg := keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.BackendType(backend)},
		ServiceName:     opts.ServiceName,
	}
	switch backend {
	case "secret-service", "kwallet":
		// Without a known bus, the D-Bus library would run dbus-launch and
		// start a private bus that holds no secrets.
		if sessionBusAddress(env) == "" {
			return nil, fmt.Errorf("open %s keyring: no D-Bus session bus: %w", backend, ErrUnavailable)
		}
	case "keychain":
		cfg.KeychainTrustApplication = true
		cfg.KeychainAccessibleWhenUnlocked = true
	case "wincred":
		cfg.WinCredPrefix = opts.ServiceName
	case "pass":
		cfg.PassDir, cfg.PassCmd, cfg.PassPrefix = passDir(opts.PassDir, env), opts.PassCmd, opts.ServiceName
	case "keyctl":
		cfg.KeyCtlScope, cfg.KeyCtlPerm = "user", keyPerm
	default:
		return nil, fmt.Errorf("unknown keyring backend %q", backend)
	}
	ring, err := keyring.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s keyring: %w", backend, ErrUnavailable)
	}
	return keyringStore{ring: ring, backend: backend}, nil
}

func passDir(dir string, env func(string) string) string {
	switch {
	case dir != "":
		return dir
	case env("PASSWORD_STORE_DIR") != "":
		return env("PASSWORD_STORE_DIR")
	case env("HOME") != "":
		return filepath.Join(env("HOME"), ".password-store")
	}
	return ""
}

type keyringStore struct {
	ring    keyring.Keyring
	backend string
}

func (s keyringStore) Get(key string) ([]byte, error) {
	item, err := s.ring.Get(keyringName(key))
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return nil, fmt.Errorf("read %s entry %q: %w", s.backend, key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s entry %q: %w: %w", s.backend, key, ErrUnavailable, err)
	}
	return item.Data, nil
}

func (s keyringStore) Put(key string, value []byte) error {
	if err := s.ring.Set(keyring.Item{Key: keyringName(key), Label: key, Data: value}); err != nil {
		return fmt.Errorf("write %s entry %q: %w: %w", s.backend, key, ErrUnavailable, err)
	}
	return nil
}

func (s keyringStore) Delete(key string) error {
	err := s.ring.Remove(keyringName(key))
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
		return fmt.Errorf("delete %s entry %q: %w: %w", s.backend, key, ErrUnavailable, err)
	}
	return nil
}

func (s keyringStore) Backend() string { return s.backend }

// keyringName escapes key for backends that build paths from names (pass
// joins them into file paths): '%', '/', '\', control and non-ASCII bytes,
// and a leading '.', become %XX, so every key maps to one flat name of its
// own that reads like the key.
func keyringName(key string) string {
	var b strings.Builder
	for i := range len(key) {
		c := key[i]
		if c == '%' || c == '/' || c == '\\' || c < 0x20 || c >= 0x7f || (i == 0 && c == '.') {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// KeyringCompiledIn reports whether this build has the named OS keyring
// backend at all: macOS's Keychain, for one, needs a cgo build.
func KeyringCompiledIn(backend string) bool {
	return slices.Contains(keyring.AvailableBackends(), keyring.BackendType(backend))
}

// SecretServiceReachable reports whether a Secret Service (GNOME Keyring,
// KeePassXC, KWallet's bridge) is running or activatable on the session bus
// named by env. It never starts a bus, gives up after a second, and is meant
// for `auto` only when no backend decision is recorded yet.
func SecretServiceReachable(env func(string) string) bool {
	conn, err := dialBus(sessionBusAddress(env))
	if err != nil {
		return false
	}
	defer conn.Close()
	if conn.SetDeadline(time.Now().Add(busProbeTimeout)) != nil {
		return false
	}
	bus, err := dbus.NewConn(conn)
	if err != nil {
		return false
	}
	defer bus.Close()
	if bus.Auth(nil) != nil || bus.Hello() != nil {
		return false
	}
	obj := bus.BusObject()
	var owned bool
	if obj.Call("org.freedesktop.DBus.NameHasOwner", 0, secretServiceName).Store(&owned) == nil && owned {
		return true
	}
	var names []string
	return obj.Call("org.freedesktop.DBus.ListActivatableNames", 0).Store(&names) == nil &&
		slices.Contains(names, secretServiceName)
}

// sessionBusAddress finds the session bus the way D-Bus clients do, short of
// launching one: $DBUS_SESSION_BUS_ADDRESS, else the socket
// $XDG_RUNTIME_DIR/bus.
func sessionBusAddress(env func(string) string) string {
	if addr := env("DBUS_SESSION_BUS_ADDRESS"); addr != "" && !strings.HasPrefix(addr, "autolaunch:") {
		return addr
	}
	if dir := env("XDG_RUNTIME_DIR"); dir != "" {
		path := filepath.Join(dir, "bus")
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + path
		}
	}
	return ""
}

// dialBus connects to the first reachable unix socket of a D-Bus address;
// other transports are not used for a session bus in practice.
func dialBus(addr string) (net.Conn, error) {
	sockets := busSockets(addr)
	if len(sockets) == 0 {
		return nil, errors.New("no unix socket in D-Bus address")
	}
	var errs []error
	for _, s := range sockets {
		conn, err := net.DialTimeout("unix", s, busProbeTimeout)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// busSockets lists the socket names in a D-Bus address
// ("unix:path=/run/user/1000/bus;unix:abstract=/tmp/dbus-x,guid=…"),
// abstract ones with Go's "@" prefix.
func busSockets(addr string) []string {
	var sockets []string
	for entry := range strings.SplitSeq(addr, ";") {
		transport, params, _ := strings.Cut(entry, ":")
		if transport != "unix" {
			continue
		}
		for kv := range strings.SplitSeq(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := url.PathUnescape(v)
			if err != nil || v == "" {
				continue
			}
			switch {
			case k == "path" && strings.HasPrefix(v, "/"):
				// Relative paths are meaningless for a bus, and Go would
				// take "@…" for an abstract socket.
				sockets = append(sockets, v)
			case k == "abstract":
				sockets = append(sockets, "@"+v)
			}
		}
	}
	return sockets
}
