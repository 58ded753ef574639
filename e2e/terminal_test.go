//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// terminal is the helper run with a pseudo-terminal as its controlling
// terminal, as a person at a shell runs it: prompts go to /dev/tty, and
// Ctrl-C typed there is SIGINT from the kernel, not from the test.
type terminal struct {
	t    *testing.T
	tty  *os.File // the child's side, kept open to read its modes
	ptmx *os.File // the person's side
	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex
	out  bytes.Buffer
	seen int // how much of out expect has consumed

	echoAfter bool // whether the terminal echoed once the helper exited
}

// atTerminal starts the helper with args on a new pseudo-terminal. The
// sandbox's CI=true is dropped, so the helper may decide a person is there.
func (w *world) atTerminal(env []string, args ...string) *terminal {
	w.t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		w.t.Skipf("no pseudo-terminal: %v", err)
	}
	c := w.cmd(append([]string{"CI="}, env...), args...)
	cmd := exec.Command(c.Bin, c.Args...)
	cmd.Env = c.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	term := &terminal{t: w.t, tty: tty, ptmx: ptmx, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	w.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tty.Close()
		ptmx.Close()
	})
	return term
}

// expect waits until the terminal shows want after what earlier expects
// consumed, and consumes up to its end.
func (term *terminal) expect(want string) {
	term.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		term.mu.Lock()
		rest := term.out.String()[term.seen:]
		if i := strings.Index(rest, want); i >= 0 {
			term.seen += i + len(want)
			term.mu.Unlock()
			return
		}
		term.mu.Unlock()
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal never showed %q; it shows:\n%s", want, rest)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeLine types s and Enter.
func (term *terminal) typeLine(s string) {
	term.t.Helper()
	if _, err := term.ptmx.WriteString(s + "\r"); err != nil {
		term.t.Fatal(err)
	}
}

// wait returns the helper's exit code (128+n for a signal) and everything the
// terminal showed.
func (term *terminal) wait() (int, string) {
	term.t.Helper()
	waited := make(chan error, 1)
	go func() { waited <- term.cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-time.After(waitLimit):
		_ = term.cmd.Process.Kill()
		term.t.Fatalf("the helper did not exit; the terminal shows:\n%s", term.shown())
	}
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		term.t.Fatal(err)
	}
	// The terminal's modes as the helper left them; then its side is
	// closed, so that everything it wrote reaches the buffer.
	term.echoAfter = echoOn(term.t, term.tty)
	term.tty.Close()
	select {
	case <-term.done:
	case <-time.After(waitLimit):
	}
	return code, term.shown()
}

func (term *terminal) shown() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// echoOn reports whether the terminal echoes typed characters.
func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	modes, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return modes.Lflag&unix.ECHO != 0
}

// TestCtrlCAtAPrompt: Ctrl-C while the password is being typed (echo off)
// exits 130 as shells report an interrupt, says nothing of a cancelled
// context, leaves the terminal echoing, and sends nothing to IAM.
func TestCtrlCAtAPrompt(t *testing.T) {
	w := newWorld(t)
	w.configure()
	term := w.atTerminal(nil, "login")
	term.expect("Gcore password for " + email + ": ")
	// The prompt is written just before echo goes off.
	for deadline := time.Now().Add(waitLimit); echoOn(t, term.tty); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("echo stayed on while the password is typed")
		}
	}
	if _, err := term.ptmx.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	code, shown := term.wait()
	if code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130; the terminal shows:\n%s", code, shown)
	}
	if strings.Contains(shown, "context canceled") {
		t.Errorf("the terminal speaks of a cancelled context:\n%s", shown)
	}
	if !term.echoAfter {
		t.Error("the terminal was left with echo off")
	}
	if n := w.iam.Calls(fakeiam.Login); n != 0 {
		t.Errorf("%d logins sent after Ctrl-C, want none", n)
	}
}

// TestLogoutAsksAtTheTerminal: logout asks; "n" (or just Enter) keeps the
// session and exits 0, "y" forgets it.
func TestLogoutAsksAtTheTerminal(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.token([]string{passwordEnv})

	for _, answer := range []string{"n", ""} {
		term := w.atTerminal(nil, "logout")
		term.expect(`Forget the session of profile "default"`)
		term.expect("[y/N] ")
		term.typeLine(answer)
		if code, shown := term.wait(); code != 0 || !strings.Contains(shown, `kept the session of profile "default"`) {
			t.Errorf("logout answered %q: exit %d, want 0 and the session kept; the terminal shows:\n%s", answer, code, shown)
		}
		if !w.status().LoggedIn {
			t.Fatalf("logout answered %q forgot the session", answer)
		}
	}

	term := w.atTerminal(nil, "logout")
	term.expect("[y/N] ")
	term.typeLine("y")
	if code, shown := term.wait(); code != 0 || !strings.Contains(shown, `logged out of profile "default"`) {
		t.Errorf("logout answered y: exit %d; the terminal shows:\n%s", code, shown)
	}
	if w.status().LoggedIn {
		t.Error("logout answered y kept the session")
	}
}

// TestPassphraseAtTheTerminal: a first login at the terminal explains what
// the new passphrase protects, asks short questions, and asks again when
// the two entries differ, without asking again for the password already
// typed or logging in twice; later, a mistyped passphrase is asked again.
func TestPassphraseAtTheTerminal(t *testing.T) {
	w := newWorld(t)
	w.configure()
	const chosen = "terminal-passphrase-Qm4-not-a-secret"

	term := w.atTerminal(noPassphrase, "login")
	term.expect("Gcore password for " + email + ": ")
	term.typeLine(password)
	term.expect("keeps your Gcore sessions encrypted in ")
	term.expect("Choose a passphrase for it.")
	term.expect("New passphrase: ")
	term.typeLine(chosen)
	term.expect("Repeat it: ")
	term.typeLine(chosen + "-typo")
	term.expect("They do not match. New passphrase: ")
	term.typeLine(chosen)
	term.expect("Repeat it: ")
	term.typeLine(chosen)
	code, shown := term.wait()
	if code != 0 || !strings.Contains(shown, "logged in as "+email) {
		t.Fatalf("login: exit %d; the terminal shows:\n%s", code, shown)
	}
	if strings.Count(shown, "Gcore password for") != 1 {
		t.Errorf("the password was asked for more than once:\n%s", shown)
	}
	if n := w.iam.Calls(fakeiam.Login); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
	for _, line := range strings.Split(shown, "\n") {
		if strings.Contains(line, "passphrase: ") && len(strings.TrimSpace(line)) > 60 {
			t.Errorf("a passphrase question is %d characters long: %q", len(line), line)
		}
	}
	if strings.Contains(shown, chosen) || strings.Contains(shown, password) {
		t.Errorf("a typed secret was echoed:\n%s", shown)
	}

	w.ok(nil, "lock")
	term = w.atTerminal(noPassphrase, "get", "--format", "token")
	term.expect("and it is locked.")
	term.expect("Passphrase: ")
	term.typeLine("not-" + chosen)
	term.expect("Sorry, try again. Passphrase: ")
	term.typeLine(chosen)
	code, shown = term.wait()
	if code != 0 || !strings.Contains(shown, "eyJ") {
		t.Errorf("get after one mistyped passphrase: exit %d; the terminal shows:\n%s", code, shown)
	}
}

// TestOneTimeCodeTypedSlowly: with client_id set, the account switch after a
// 2FA login has a deadline of its own, so a person who takes longer than
// http_timeout to type the code still gets in, with one login.
func TestOneTimeCodeTypedSlowly(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(w.profile("default", otpEmail, "client_id = 1002", `http_timeout = "2s"`))
	term := w.atTerminal([]string{passwordEnv}, "login")
	term.expect("Gcore one-time password: ")
	time.Sleep(3 * time.Second) // longer than http_timeout
	term.typeLine(otp)
	code, shown := term.wait()
	if code != 0 || !strings.Contains(shown, "account 1002") {
		t.Errorf("login with the code typed after 3 s: exit %d; the terminal shows:\n%s", code, shown)
	}
}
