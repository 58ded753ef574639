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
	"time"

	"github.com/godbus/dbus"
)

// session is a private D-Bus session running one keyring daemon, with its
// files in a temporary HOME.
type session struct {
	addr   string        // the session bus address
	stderr *bytes.Buffer // the daemon's, for errors
}

// installed returns the first error finding one of progs on PATH: a backend
// whose programs are missing cannot run here.
func installed(progs ...string) error {
	for _, prog := range progs {
		if _, err := exec.LookPath(prog); err != nil {
			return err
		}
	}
	return nil
}

// sessionDirs makes a temporary HOME with config, data and runtime
// directories, and returns it with the environment that points there.
func sessionDirs(t Scope) (home string, env []string, err error) {
	home = t.TempDir()
	env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_RUNTIME_DIR=" + filepath.Join(home, "run"),
	}
	for _, d := range []string{"config", "run"} {
		if err := os.Mkdir(filepath.Join(home, d), 0o700); err != nil {
			return "", nil, err
		}
	}
	return home, env, nil
}

// startSession runs script under dbus-run-session with env, in a process
// group of its own that is killed when the test ends. script must print the
// bus address on its first line, then exec the daemon in the foreground.
func startSession(t Scope, script string, env []string) (*session, error) {
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &session{stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
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
		return nil, fmt.Errorf("dbus-run-session printed no bus address: %w\n%s", err, s.stderr.String())
	}
	s.addr = strings.TrimSpace(line)
	return s, nil
}

// waitFor retries try until it succeeds, or fails after startTimeout with
// the daemon's stderr.
func (s *session) waitFor(daemon string, try func() error) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := try()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v: %w\n%s", daemon, startTimeout, err, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withService runs f on a private connection to the bus at addr, never on
// the process-wide session bus connection the code under test may hold,
// once name has an owner there: until then a client would have the bus
// start a second daemon, without the test's set-up.
func withService(addr, name string, f func(*dbus.Conn) error) error {
	bus, err := dbus.Dial(addr)
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
	if err := bus.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil {
		return err
	}
	if !owned {
		return errors.New("no " + name + " on the bus yet")
	}
	return f(bus)
}
