package cache

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/keyring"
	"github.com/godbus/dbus"
)

// keyPerm grants possessor and user (same uid) everything and others
// nothing. The kernel's default grants the user only "view", so a later
// process, which does not possess a key, could not read it.
const keyPerm = 0x3f3f0000

const (
	secretServiceName  = "org.freedesktop.secrets"
	secretServicePath  = "/org/freedesktop/secrets"
	kwalletServiceName = "org.kde.kwalletd5"
	kwalletServicePath = "/modules/kwalletd5"
	// busProbeTimeout bounds SecretServiceReachable against a hung bus.
	busProbeTimeout = time.Second
)

// KeyringOptions configure OpenKeyring.
type KeyringOptions struct {
	// ServiceName ("gcore-credential-helper") prefixes our items in the
	// Secret Service's default collection, and names the folder (and
	// application) in the user's KWallet wallet, the Keychain service, the
	// wincred prefix, the pass folder and the keyctl keyring.
	ServiceName string
	// PassDir is the password store (default $PASSWORD_STORE_DIR, else
	// ~/.password-store); PassCmd the pass program (default "pass").
	PassDir, PassCmd string
	// Env reads the caller's environment.
	Env func(string) string
	// Timeout bounds every keyring operation, opening included: a hung bus,
	// a dead daemon or an unlock prompt nobody answers ends in an error
	// wrapping ErrUnavailable. Default DefaultKeyringTimeout.
	Timeout time.Duration
}

// DefaultKeyringTimeout leaves a person time to answer an unlock prompt the
// keyring may show, and stays inside the 60 s the token engine allows for every wait.
const DefaultKeyringTimeout = 30 * time.Second

// KeyringBackends are the OS keyrings a store's key can be kept in.
func KeyringBackends() []string {
	return []string{"secret-service", "kwallet", "keychain", "wincred", "pass", "keyctl"}
}

// itemLimit is the largest item a backend keeps, 0 for no practical limit;
// larger values are split (see chunkedStore).
func itemLimit(backend string) int {
	switch backend {
	case "wincred":
		return 2560 // CRED_MAX_CREDENTIAL_BLOB_SIZE
	case "keyctl":
		return 32767 // the payload of a kernel "user" key
	}
	return 0
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
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	cfg := keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.BackendType(backend)},
		ServiceName:     opts.ServiceName,
	}
	prefix := ""
	switch backend {
	case "secret-service", "kwallet":
		// Without a known bus, the D-Bus library would run dbus-launch and
		// start a private bus that holds no secrets.
		if sessionBusAddress(env) == "" {
			return nil, fmt.Errorf("open %s keyring: no D-Bus session bus: %w", backend, ErrUnavailable)
		}
		if backend == "secret-service" {
			// Items go to the user's default collection, as secret-tool and
			// git's libsecret helper keep theirs: creating a collection of our
			// own asks for a new keyring password in a dialog, which a
			// headless session cannot show. The prefix keeps our items apart
			// from other programs' in that shared collection.
			name, err := bounded(timeout, defaultCollection)
			if err != nil {
				return nil, fmt.Errorf("open secret-service keyring: %w: %w", ErrUnavailable, err)
			}
			cfg.LibSecretCollectionName, prefix = name, opts.ServiceName+":"
		} else {
			// Likewise the user's own wallet, in a folder of ours: naming a
			// wallet that does not exist makes kwalletd ask, in a dialog, to
			// create it.
			name, err := bounded(timeout, localWallet)
			if err != nil {
				return nil, fmt.Errorf("open kwallet keyring: %w: %w", ErrUnavailable, err)
			}
			cfg.ServiceName, cfg.KWalletFolder, cfg.KWalletAppID = name, opts.ServiceName, opts.ServiceName
		}
	case "keychain":
		cfg.KeychainTrustApplication = true
		cfg.KeychainAccessibleWhenUnlocked = true
	case "wincred":
		cfg.WinCredPrefix = opts.ServiceName
	case "pass":
		cfg.PassDir, cfg.PassCmd, cfg.PassPrefix = passDir(opts.PassDir, env), opts.PassCmd, opts.ServiceName
		if !filepath.IsAbs(cfg.PassDir) {
			return nil, fmt.Errorf("open pass keyring: no password store: set PASSWORD_STORE_DIR or HOME: %w", ErrUnavailable)
		}
	case "keyctl":
		cfg.KeyCtlScope, cfg.KeyCtlPerm = "user", keyPerm
	default:
		return nil, fmt.Errorf("unknown keyring backend %q", backend)
	}
	ring, err := bounded(timeout, func() (keyring.Keyring, error) { return keyring.Open(cfg) })
	if err != nil {
		return nil, fmt.Errorf("open %s keyring: %w: %w", backend, ErrUnavailable, err)
	}
	s := keyringStore{ring: ring, backend: backend, prefix: prefix, timeout: timeout}
	if backend == "pass" {
		return newPassStore(s, cfg.PassDir, cfg.PassCmd, cfg.PassPrefix), nil
	}
	return newChunkedStore(s, itemLimit(backend)), nil
}

// defaultCollection names the Secret Service collection behind the "default"
// alias, in the form the keyring package matches collection paths against.
func defaultCollection() (string, error) {
	bus, err := dbus.SessionBus()
	if err != nil {
		return "", err
	}
	var path dbus.ObjectPath
	err = bus.Object(secretServiceName, secretServicePath).
		Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&path)
	if err != nil {
		return "", fmt.Errorf("find the default collection: %w", err)
	}
	name, ok := strings.CutPrefix(string(path), secretServicePath+"/collection/")
	if !ok {
		return "", errors.New("the Secret Service has no default collection (keyring): " +
			"create one in your keyring manager, or on a headless machine start one with gnome-keyring-daemon --unlock")
	}
	return unescapeObjectPathElement(name), nil
}

// localWallet names the user's default KWallet wallet ("kdewallet" unless
// they chose another).
func localWallet() (string, error) {
	bus, err := dbus.SessionBus()
	if err != nil {
		return "", err
	}
	var name string
	if err := bus.Object(kwalletServiceName, kwalletServicePath).Call("org.kde.KWallet.localWallet", 0).Store(&name); err != nil {
		return "", fmt.Errorf("find the default wallet: %w", err)
	}
	if name == "" {
		return "", errors.New("kwalletd names no default wallet")
	}
	return name, nil
}

// unescapeObjectPathElement undoes the "_XX" escaping Secret Services apply
// to collection labels in object paths ("My_20Keys" is "My Keys").
func unescapeObjectPathElement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+3 <= len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// bounded runs op and gives up after timeout. The operation itself cannot be
// cancelled (neither D-Bus calls nor pass's gpg take a context), so it is
// left to finish or to die with the process, which is short-lived.
func bounded[T any](timeout time.Duration, op func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op()
		done <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		var zero T
		return zero, fmt.Errorf("no answer within %v (is the keyring waiting for someone to unlock it?)", timeout)
	}
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
	prefix  string // before every item name
	timeout time.Duration
}

func (s keyringStore) name(key string) string { return s.prefix + keyringName(key) }

func (s keyringStore) Get(key string) ([]byte, error) {
	item, err := bounded(s.timeout, func() (keyring.Item, error) { return s.ring.Get(s.name(key)) })
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return nil, fmt.Errorf("read %s entry %q: %w", s.backend, key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s entry %q: %w: %w", s.backend, key, ErrUnavailable, err)
	}
	return item.Data, nil
}

func (s keyringStore) Put(key string, value []byte) error {
	return s.set(s.name(key), key, value)
}

// set stores value as the item name, labelled (where the backend shows
// labels) with our key.
func (s keyringStore) set(name, key string, value []byte) error {
	item := keyring.Item{Key: name, Label: key, Data: value}
	if _, err := bounded(s.timeout, func() (struct{}, error) { return struct{}{}, s.ring.Set(item) }); err != nil {
		return fmt.Errorf("write %s entry %q: %w: %w", s.backend, key, ErrUnavailable, err)
	}
	return nil
}

func (s keyringStore) Delete(key string) error {
	_, err := bounded(s.timeout, func() (struct{}, error) { return struct{}{}, s.ring.Remove(s.name(key)) })
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
		return fmt.Errorf("delete %s entry %q: %w: %w", s.backend, key, ErrUnavailable, err)
	}
	return nil
}

func (s keyringStore) Backend() string { return s.backend }

// keysWithPrefix lists the keys of this store's items that begin with prefix.
// Backends list items by name (keyctl, pass, wincred) or by label
// (Secret Service, where the label is the key); both forms are accepted.
// Only suffixes that keyringName leaves as they are can be turned back into
// keys, which the names of split values' parts are.
func (s keyringStore) keysWithPrefix(prefix string) ([]string, error) {
	listed, err := bounded(s.timeout, s.ring.Keys)
	if err != nil {
		return nil, fmt.Errorf("list %s entries: %w: %w", s.backend, ErrUnavailable, err)
	}
	var keys []string
	for _, l := range listed {
		for _, p := range []string{s.name(prefix), prefix} {
			if rest, ok := strings.CutPrefix(l, p); ok && keyringName(rest) == rest {
				keys = append(keys, prefix+rest)
				break
			}
		}
	}
	return keys, nil
}

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

// SessionBus returns the session bus address a process with env would use,
// "" for none (see sessionBusAddress).
func SessionBus(env func(string) string) string { return sessionBusAddress(env) }

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
// $XDG_RUNTIME_DIR/bus; "" when there is none, or when the address says
// "disabled:". It is the one definition of "this process has a session bus"
// (auto's choice, doctor, the desktop keyrings).
func sessionBusAddress(env func(string) string) string {
	addr := env("DBUS_SESSION_BUS_ADDRESS")
	if strings.HasPrefix(addr, "disabled:") {
		return ""
	}
	if addr != "" && !strings.HasPrefix(addr, "autolaunch:") {
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
