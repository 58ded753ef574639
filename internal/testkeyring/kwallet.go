//go:build linux

package testkeyring

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
func StartKWallet(t testing.TB, apps ...string) (*KWallet, error) {
	t.Helper()
	for _, prog := range []string{"dbus-run-session", "kwalletd5"} {
		if _, err := exec.LookPath(prog); err != nil {
			return nil, err
		}
	}
	home := t.TempDir()
	config := filepath.Join(home, "config")
	runtime := filepath.Join(home, "run")
	for _, d := range []string{config, runtime} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	// First Use: no wizard. Prompt on Open off and Auto Allow: no
	// access dialog for the applications under test.
	rc := fmt.Sprintf("[Wallet]\nFirst Use=false\nEnabled=true\nPrompt on Open=false\nLeave Open=true\n\n[Auto Allow]\n%s=%s\n",
		Wallet, strings.Join(apps, ","))
	if err := os.WriteFile(filepath.Join(config, "kwalletrc"), []byte(rc), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", kwalletScript)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + config,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_RUNTIME_DIR=" + runtime,
		"QT_QPA_PLATFORM=offscreen",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("dbus-run-session printed no bus address: %w\n%s", err, stderr.String())
	}
	k := &KWallet{Addr: strings.TrimSpace(line), hash: bytes.Repeat([]byte{'k'}, walletHashLen)}
	if err := k.waitReady(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	if err := k.Open(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	return k, nil
}

// waitReady waits until kwalletd5 owns its name: until then a client would
// have the bus start a second one, without the headless platform.
func (k *KWallet) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := k.with(func(*dbus.Conn) error { return nil })
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kwalletd5 not ready within %v: %w", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// with runs f on a private connection to the service's bus.
func (k *KWallet) with(f func(*dbus.Conn) error) error {
	bus, err := dbus.Dial(k.Addr)
	if err != nil {
		return err
	}
	defer bus.Close()
	if err := bus.Auth(nil); err != nil {
		return err
	}
	if err := bus.Hello(); err != nil {
		return err
	}
	var owned bool
	if err := bus.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, kwalletName).Store(&owned); err != nil {
		return err
	}
	if !owned {
		return errors.New("no kwalletd5 on the bus yet")
	}
	return f(bus)
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
