//go:build linux

// Package testkeyring starts real keyring services for tests, each private to
// the test that asked for it: a Secret Service (gnome-keyring-daemon under
// dbus-run-session), KWallet (kwalletd5, headless, on its own bus) and a
// password store (pass with a throw-away GPG key).
//
// A service that cannot be started here makes the test skip, unless
// GCORE_TEST_REQUIRE_BACKENDS names it (or is "all"): CI sets that, so a
// missing daemon there fails instead of silently proving nothing.
package testkeyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus"
)

// Scope is where a service lives: a test (testing.TB has these) or a
// benchmark run. Its temporary directories hold the service's files, and its
// cleanups stop the service.
type Scope interface {
	Helper()
	TempDir() string
	Cleanup(func())
}

// RequireEnv lists the backends that must run ("all" for every one).
const RequireEnv = "GCORE_TEST_REQUIRE_BACKENDS"

// Unavailable skips the test because backend cannot run here, or fails it
// when RequireEnv demands the backend.
func Unavailable(t testing.TB, backend string, err error) {
	t.Helper()
	required := strings.Split(os.Getenv(RequireEnv), ",")
	if slices.Contains(required, "all") || slices.Contains(required, backend) {
		t.Fatalf("backend %s is required (%s) but cannot run here: %v", backend, RequireEnv, err)
	}
	t.Skipf("backend %s cannot run here: %v", backend, err)
}

// startTimeout bounds the wait for a daemon to come up on a loaded machine.
const startTimeout = 30 * time.Second

// SecretService is a running gnome-keyring-daemon with its own session bus,
// whose login keyring (the default collection) is unlocked with Password.
type SecretService struct {
	Addr     string // the session bus address
	Password string
}

// Env is the environment that reaches the service.
func (s *SecretService) Env() []string {
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + s.Addr}
}

// daemonScript prints the bus address, then runs the daemon in the
// foreground, unlocking (or creating) the login keyring with the password on
// stdin. The session ends with the daemon.
const daemonScript = `echo "$DBUS_SESSION_BUS_ADDRESS"
printf %s "$KEYRING_PASSWORD" | exec gnome-keyring-daemon --unlock --components=secrets --foreground`

// StartSecretService starts a Secret Service for this test only; it stops
// when the test ends. Its keyring files live in a temporary HOME.
func StartSecretService(t Scope) (*SecretService, error) {
	t.Helper()
	if err := installed("dbus-run-session", "gnome-keyring-daemon"); err != nil {
		return nil, err
	}
	_, env, err := sessionDirs(t)
	if err != nil {
		return nil, err
	}
	s := &SecretService{Password: "test keyring password, not a secret"}
	sess, err := startSession(t, daemonScript, append(env, "KEYRING_PASSWORD="+s.Password))
	if err != nil {
		return nil, err
	}
	s.Addr = sess.addr
	// Ready once the default collection answers, unlocked.
	err = sess.waitFor("gnome-keyring-daemon", func() error {
		return s.with(func(bus *dbus.Conn) error {
			locked, err := defaultLocked(bus)
			if err == nil && locked {
				err = errors.New("the default collection is locked")
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

const (
	serviceName  = "org.freedesktop.secrets"
	servicePath  = dbus.ObjectPath("/org/freedesktop/secrets")
	defaultAlias = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")
)

func (s *SecretService) with(f func(*dbus.Conn) error) error {
	return withService(s.Addr, serviceName, f)
}

func defaultLocked(bus *dbus.Conn) (bool, error) {
	v, err := bus.Object(serviceName, defaultAlias).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return false, err
	}
	locked, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the Locked property is a %T", v.Value())
	}
	return locked, nil
}

// Lock locks the default collection, as a screen lock or a timeout would.
func (s *SecretService) Lock() error {
	return s.with(func(bus *dbus.Conn) error {
		var locked []dbus.ObjectPath
		var prompt dbus.ObjectPath
		return bus.Object(serviceName, servicePath).
			Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{defaultAlias}).Store(&locked, &prompt)
	})
}

// secret is the Secret Service's (session, parameters, value, content type).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// Unlock unlocks the default collection with the password, without the
// prompt a desktop would show, through gnome-keyring's interface for that.
func (s *SecretService) Unlock() error {
	return s.with(func(bus *dbus.Conn) error {
		svc := bus.Object(serviceName, servicePath)
		var ignored dbus.Variant
		var session dbus.ObjectPath
		if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
			return err
		}
		var collection dbus.ObjectPath
		if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&collection); err != nil {
			return err
		}
		pw := secret{Session: session, Parameters: []byte{}, Value: []byte(s.Password), ContentType: "text/plain"}
		return svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, collection, pw).Err
	})
}

// Pass sets up a password store for this test only: a new GPG home with a
// key that has no passphrase, and a store initialised for it. It returns the
// environment that selects both (GNUPGHOME, PASSWORD_STORE_DIR).
func Pass(t Scope) ([]string, error) {
	t.Helper()
	if err := installed("pass", "gpg", "gpgconf"); err != nil {
		return nil, err
	}
	// gpg-agent's socket lives in GNUPGHOME, and socket paths are short:
	// t.TempDir() names can be too long.
	gnupg, err := os.MkdirTemp("", "gnupg")
	if err != nil {
		return nil, err
	}
	env := []string{"GNUPGHOME=" + gnupg, "PASSWORD_STORE_DIR=" + filepath.Join(t.TempDir(), "pass")}
	t.Cleanup(func() {
		_ = run(env, "gpgconf", "--kill", "all")
		_ = os.RemoveAll(gnupg)
	})
	err = run(env, "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-generate-key", "gcore-credential-helper test <test@example.invalid>", "future-default", "default", "never")
	if err != nil {
		return nil, err
	}
	if err := run(env, "pass", "init", "test@example.invalid"); err != nil {
		return nil, err
	}
	return env, nil
}

// PassGit makes the password store env selects (from Pass) a git
// repository, as `pass git init` does for users who sync their store. It
// returns env plus the commit identity git needs.
func PassGit(env []string) ([]string, error) {
	env = append(slices.Clip(env),
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_CONFIG_NOSYSTEM=1")
	if err := run(env, "pass", "git", "init"); err != nil {
		return nil, err
	}
	return env, nil
}

// run runs a setup command with the caller's environment plus env.
func run(env []string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(append([]string{name}, args...), " "), err, out)
	}
	return nil
}
