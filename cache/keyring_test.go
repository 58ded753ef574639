package cache

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus"
	"github.com/google/go-cmp/cmp"
)

func TestOpenKeyringErrors(t *testing.T) {
	type openCase struct {
		backend     string
		env         map[string]string
		unavailable bool
	}
	tests := []openCase{
		{"nonsense", nil, false},
		{"file", nil, false}, // the file store has its own constructor
		{"secret-service", nil, true},
		{"kwallet", nil, true},
		{"secret-service", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, true},
		{"pass", nil, true}, // neither PASSWORD_STORE_DIR nor HOME: no store to use
	}
	if runtime.GOOS == "linux" {
		tests = append(tests, openCase{"keychain", nil, true}, openCase{"wincred", nil, true})
	}
	for _, tt := range tests {
		t.Run(tt.backend, func(t *testing.T) {
			_, err := OpenKeyring(tt.backend, KeyringOptions{ServiceName: "gcore-credential-helper-test", Env: envMap(tt.env)})
			if err == nil {
				t.Fatal("OpenKeyring succeeded")
			}
			if got := errors.Is(err, ErrUnavailable); got != tt.unavailable {
				t.Errorf("OpenKeyring = %v; errors.Is(ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
		})
	}
}

func TestKeyringName(t *testing.T) {
	tests := map[string]string{
		"default":                 "default",
		"me@example.com:0":        "me@example.com:0",
		"https://api.gcore.com/x": "https:%2F%2Fapi.gcore.com%2Fx",
		"..":                      "%2E.",
		"a/../b":                  "a%2F..%2Fb",
		`a\b%c`:                   "a%5Cb%25c",
		"tab\there\x00":           "tab%09here%00",
		"caf\u00e9":               "caf%C3%A9",
		"":                        "",
	}
	got := map[string]string{}
	for in := range tests {
		got[in] = keyringName(in)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("keyringName (-want +got):\n%s", diff)
	}
}

func TestBusSockets(t *testing.T) {
	tests := []struct {
		addr string
		want []string
	}{
		{"", nil},
		{"unix:path=/run/user/1000/bus", []string{"/run/user/1000/bus"}},
		{"unix:abstract=/tmp/dbus-x,guid=0123", []string{"@/tmp/dbus-x"}},
		{"tcp:host=localhost,port=1;unix:path=/a%20b", []string{"/a b"}},
		{"unix:path=/a;unix:path=/b", []string{"/a", "/b"}},
		{"unix:tmpdir=/tmp", nil},
		{"unix:path=%zz", nil},
		{"unix:path=relative", nil},
		{"autolaunch:", nil},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, busSockets(tt.addr)); diff != "" {
				t.Errorf("busSockets(%q) (-want +got):\n%s", tt.addr, diff)
			}
		})
	}
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestSecretServiceUnreachable(t *testing.T) {
	// A socket that accepts and never answers stands for a hung bus.
	silent := filepath.Join(t.TempDir(), "bus")
	ln, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"no bus", nil},
		{"runtime dir without a bus", map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}},
		{"missing socket", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"}},
		{"tcp only", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "tcp:host=127.0.0.1,port=1"}},
		{"hung bus", map[string]string{"XDG_RUNTIME_DIR": filepath.Dir(silent)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan bool)
			go func() { done <- SecretServiceReachable(envMap(tt.env)) }()
			select {
			case ok := <-done:
				if ok {
					t.Error("SecretServiceReachable = true")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("SecretServiceReachable did not return")
			}
		})
	}
}

// startSessionBus runs a private dbus-daemon and returns its address.
func startSessionBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(config, []byte(fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, filepath.Join(dir, "bus"))), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+config, "--nofork", "--nopidfile", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(addr)
}

func TestSecretServiceReachable(t *testing.T) {
	addr := startSessionBus(t)
	env := envMap(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr})
	if SecretServiceReachable(env) {
		t.Error("SecretServiceReachable = true on a bus without a secret service")
	}

	owner, err := dbus.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := owner.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := owner.Hello(); err != nil {
		t.Fatal(err)
	}
	reply, err := owner.RequestName(secretServiceName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName = %v, %v", reply, err)
	}
	if !SecretServiceReachable(env) {
		t.Error("SecretServiceReachable = false while the name is owned")
	}
}

func TestKeyringCompiledIn(t *testing.T) {
	if !KeyringCompiledIn("pass") {
		t.Error("pass is in every build")
	}
	// "file" is this package's own encrypted store; the keyring library's
	// file backend is left out of the copy in internal/keyring (see its README).
	if KeyringCompiledIn("file") {
		t.Error("the keyring library's file backend is compiled in")
	}
	if KeyringCompiledIn("no-such-backend") {
		t.Error("an unknown backend is not compiled in")
	}
}

func TestUnescapeObjectPathElement(t *testing.T) {
	tests := map[string]string{
		"login":        "login",
		"My_20Keys":    "My Keys",
		"a_5fb":        "a_b",
		"trailing_":    "trailing_",
		"short_2":      "short_2",
		"not_zzhex":    "not_zzhex",
		"_d0_ba_d0_bb": "кл",
		"_d1":          "\xd1",
	}
	for in, want := range tests {
		if got := unescapeObjectPathElement(in); got != want {
			t.Errorf("unescapeObjectPathElement(%q) = %q, want %q", in, got, want)
		}
	}
}
