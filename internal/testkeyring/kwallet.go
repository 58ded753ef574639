//go:build linux

package testkeyring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus"
)

const (
	kwalletName = "org.kde.kwalletd5"
	kwalletPath = dbus.ObjectPath("/modules/kwalletd5")
	// Wallet is the user's default wallet, which StartKWallet opens.
	Wallet = "kdewallet"
	// walletHashLen is the size of the password hash kwalletd's pamOpen takes
	// (a PBKDF2-SHA512 key of 56 bytes).
	walletHashLen = 56
)

// KWallet is a running kwalletd5 with its own session bus, whose default
// wallet was created and opened without a dialog, the way pam_kwallet does
// it at login. Applications named when it started may use the wallet
// without being asked.
type KWallet struct {
	Addr string // the session bus address
	hash []byte
}

// Env is the environment that reaches the service.
func (k *KWallet) Env() []string {
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + k.Addr}
}

// kwalletScript prints the bus address, then runs kwalletd5 in the
// foreground; the session ends with it.
const kwalletScript = `echo "$DBUS_SESSION_BUS_ADDRESS"
exec kwalletd5`

// StartKWallet starts kwalletd5 for this test only, headless (Qt's
// offscreen platform), with its files in a temporary HOME, and opens the
// default wallet. apps are the application ids allowed into the wallet
// without a prompt. It stops when the test ends.
func StartKWallet(t Scope, apps ...string) (*KWallet, error) {
	t.Helper()
	if err := installed("dbus-run-session", "kwalletd5"); err != nil {
		return nil, err
	}
	home, env, err := sessionDirs(t)
	if err != nil {
		return nil, err
	}
	// First Use: no wizard. Prompt on Open off and Auto Allow: no access
	// dialog for the applications under test.
	rc := fmt.Sprintf("[Wallet]\nFirst Use=false\nEnabled=true\nPrompt on Open=false\nLeave Open=true\n\n[Auto Allow]\n%s=%s\n",
		Wallet, strings.Join(apps, ","))
	if err := os.WriteFile(filepath.Join(home, "config", "kwalletrc"), []byte(rc), 0o600); err != nil {
		return nil, err
	}
	sess, err := startSession(t, kwalletScript, append(env, "QT_QPA_PLATFORM=offscreen"))
	if err != nil {
		return nil, err
	}
	k := &KWallet{Addr: sess.addr, hash: bytes.Repeat([]byte{'k'}, walletHashLen)}
	if err := sess.waitFor("kwalletd5", func() error { return k.with(func(*dbus.Conn) error { return nil }) }); err != nil {
		return nil, err
	}
	if err := k.Open(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, sess.stderr.String())
	}
	return k, nil
}

func (k *KWallet) with(f func(*dbus.Conn) error) error {
	return withService(k.Addr, kwalletName, f)
}

// Open creates (the first time) and opens the default wallet with a fixed
// password hash, through the call pam_kwallet's login uses, so no dialog is
// shown.
func (k *KWallet) Open() error {
	return k.with(func(bus *dbus.Conn) error {
		wallet := bus.Object(kwalletName, kwalletPath)
		if err := wallet.Call("org.kde.KWallet.pamOpen", 0, Wallet, k.hash, int32(0)).Err; err != nil {
			return fmt.Errorf("open wallet: %w", err)
		}
		var open bool
		if err := wallet.Call("org.kde.KWallet.isOpen", 0, Wallet).Store(&open); err != nil {
			return err
		}
		if !open {
			return errors.New("kwalletd5 did not open the wallet")
		}
		return nil
	})
}

// Close closes the wallet for every application, as logging out or the
// idle timeout does; opening it again would ask for its password.
func (k *KWallet) Close() error {
	return k.with(func(bus *dbus.Conn) error {
		var rc int32
		return bus.Object(kwalletName, kwalletPath).Call("org.kde.KWallet.close", 0, Wallet, true).Store(&rc)
	})
}
