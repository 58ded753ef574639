//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/testkeyring"
)

// The key guardians of issue #9 item 1 (the reference's storage, "one store, many key guardians"): sessions
// always live in the encrypted store, and an OS keyring keeps only the store's key. The
// unlocked key stays in the kernel keyring, so hits never talk to the keyring.

// TestSecretServiceGuardsTheStore guards the reference's storage and issue #9 as a desktop user meets it: with a
// real gnome-keyring-daemon and no passphrase anywhere, login and hits work; a process of the
// same user without the session bus (cron, ssh) gets the same session without logging in; a
// locked keyring matters only once the unlocked key is forgotten (`lock`), and then get exits 4
// naming the keyring to unlock, and doctor fails with the fix; once unlocked, nothing is lost.
func TestSecretServiceGuardsTheStore(t *testing.T) {
	ss, err := testkeyring.StartSecretService(t)
	if err != nil {
		testkeyring.Unavailable(t, "secret-service", err)
	}
	for _, backend := range []string{"auto", "secret-service"} {
		t.Run(backend, func(t *testing.T) {
			w := newWorld(t)
			w.writeConfig(strings.Replace(w.profile("default", email), `backend = "file"`, `backend = "`+backend+`"`, 1))
			// The session bus replaces the sandbox's "disabled:"; no passphrase anywhere.
			env := append(ss.Env(), "GCORE_KEYRING_PASSPHRASE=")

			token := w.loginGuarded(env, "secret-service", "the desktop keyring (Secret Service)")

			// Same user, no session bus: served from the same store, no login, no IAM.
			calls := w.iamCalls()
			noBus := []string{"DBUS_SESSION_BUS_ADDRESS=disabled:", "GCORE_KEYRING_PASSPHRASE="}
			if got := w.token(noBus); got != token {
				t.Error("a process without the session bus does not get the desktop's session")
			}
			if n := w.iamCalls() - calls; n != 0 {
				t.Errorf("%d IAM calls from the process without a bus, want 0", n)
			}

			if err := ss.Lock(); err != nil {
				t.Fatal(err)
			}
			if got := w.token(env); got != token {
				t.Error("a locked keyring stopped hits, though the store's key is unlocked for the session")
			}
			w.ok(env, "lock")
			res := w.run(env, "get", "--format", "token")
			checkExit(t, res, 4)
			for _, want := range []string{"gcore-credential-helper: error: ", "locked", "the desktop keyring (Secret Service)", "\nhint: unlock"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("stderr of a get with the keyring locked lacks %q:\n%s", want, res.Stderr)
				}
			}
			if res := w.run(noBus, "get"); res.ExitCode != 4 || !strings.Contains(res.Stderr, "Secret Service") {
				t.Errorf("without a bus and without the unlocked key: exit %d, want 4 naming the keyring\n%s", res.ExitCode, res.Stderr)
			}
			doctor := w.run(env, "doctor")
			checkExit(t, doctor, 1)
			for _, want := range []string{"FAIL  store:", "FAIL  session:         cannot read", "fix:             unlock or start the desktop keyring"} {
				if !strings.Contains(doctor.Stdout, want) {
					t.Errorf("doctor with the keyring locked lacks %q:\n%s", want, doctor.Stdout)
				}
			}
			if err := ss.Unlock(); err != nil {
				t.Fatal(err)
			}
			if got := w.token(env); got != token {
				t.Error("after unlocking, get does not print the same token: the session was lost")
			}

			w.ok(env, "logout", "--yes")
			checkExit(t, w.run(env, "--non-interactive", "get"), 3)
		})
	}
}

// TestKWalletGuardsTheStore guards the reference's storage and issue #9 for KDE users: with `backend =
// "kwallet"` a real kwalletd5 keeps the store's key in the user's default wallet, a new process
// is served without IAM, and logout ends the session. (A closed wallet is the conformance
// suite's case: reopening it needs a dialog.)
func TestKWalletGuardsTheStore(t *testing.T) {
	kw, err := testkeyring.StartKWallet(t, "gcore-credential-helper")
	if err != nil {
		testkeyring.Unavailable(t, "kwallet", err)
	}
	w := newWorld(t)
	w.writeConfig(strings.Replace(w.profile("default", email), `backend = "file"`, `backend = "kwallet"`, 1))
	env := append(kw.Env(), "GCORE_KEYRING_PASSPHRASE=")
	w.loginGuarded(env, "kwallet", "KWallet")
	w.ok(env, "logout", "--yes")
	checkExit(t, w.run(env, "--non-interactive", "get"), 3)
}

// loginGuarded logs in with env reaching an OS keyring and checks that the keyring guards the
// store: no passphrase was needed, a new process is served without IAM, status names the
// guardian, and doctor finds it giving the key. It returns the token.
func (w *world) loginGuarded(env []string, guardian, name string) string {
	t := w.t
	t.Helper()
	w.ok(append(env, passwordEnv), "login")
	token := w.lastAccess()
	calls := w.iamCalls()
	if got := w.token(env); got != token {
		t.Error("get from a new process does not print the login's token")
	}
	if got := w.iamCalls(); got != calls {
		t.Errorf("%d IAM calls for a cache hit, want 0", got-calls)
	}
	var rows []statusRow
	if err := json.Unmarshal([]byte(w.ok(env, "status", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Guardian != guardian || !rows[0].LoggedIn {
		t.Errorf("status --json = %+v, want one logged-in profile guarded by %s", rows, guardian)
	}
	doctor := w.run(env, "doctor")
	checkExit(t, doctor, 0)
	if want := "key kept by " + name + ", which gives it"; !strings.Contains(doctor.Stdout, want) {
		t.Errorf("doctor does not say %q:\n%s", want, doctor.Stdout)
	}
	return token
}

// previousRelease is the last commit before envelope storage: its binary kept sessions directly
// in the keyring a profile's backend named.
const previousRelease = "3b3a4dc"

// buildPreviousRelease builds the helper as of previousRelease from this repository's history.
func buildPreviousRelease(t *testing.T) string {
	t.Helper()
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("find the repository: %v", err)
	}
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", strings.TrimSpace(string(root)), previousRelease, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("check out %s: %v\n%s", previousRelease, err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "gcore-credential-helper-"+previousRelease)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gcore-credential-helper")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", previousRelease, err, out)
	}
	return bin
}

// TestMigrationFromKeyringSessions guards issue #9 item 1: a session the previous release kept
// directly in the Secret Service moves into the store on first use, with nothing lost: the
// next get prints the same token without IAM and without a login, and after that it no longer
// needs the keyring's copy (a refresh and a logout work on the store's).
func TestMigrationFromKeyringSessions(t *testing.T) {
	ss, err := testkeyring.StartSecretService(t)
	if err != nil {
		testkeyring.Unavailable(t, "secret-service", err)
	}
	old := buildPreviousRelease(t)
	w := newWorld(t)
	w.writeConfig(strings.Replace(w.profile("default", email), `backend = "file"`, `backend = "secret-service"`, 1))
	env := append(ss.Env(), "GCORE_KEYRING_PASSPHRASE=")
	res := harnessRun(t, old, w.sb.Env(append(env, passwordEnv)...), "login")
	if res.err != nil {
		t.Fatalf("login with %s: %v\n%s", previousRelease, res.err, res.stderr)
	}
	token := w.lastAccess()
	if store := filepath.Join(w.sb.DataHome, "gcore-credential-helper", "store"); exists(store) {
		t.Fatalf("the previous release made %s: the session is not in the keyring", store)
	}

	calls := w.iamCalls()
	if got := w.token(env); got != token {
		t.Fatal("after the upgrade, get does not print the session's token")
	}
	if n := w.iamCalls() - calls; n != 0 {
		t.Errorf("%d IAM calls for the migrated session, want 0 (no login, no refresh)", n)
	}
	if got := w.token([]string{"DBUS_SESSION_BUS_ADDRESS=disabled:", "GCORE_KEYRING_PASSPHRASE="}); got != token {
		t.Error("the migrated session is not in the store: a process without the bus cannot read it")
	}
	if w.token(env, "--refresh") == token {
		t.Error("get --refresh printed the old token")
	}
	w.ok(env, "logout", "--yes")
	checkExit(t, w.run(env, "--non-interactive", "get"), 3)
}

// harnessResult is what harnessRun saw.
type harnessResult struct {
	stderr string
	err    error
}

// harnessRun runs bin with exactly env.
func harnessRun(t *testing.T, bin string, env []string, args ...string) harnessResult {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	return harnessResult{stderr: stderr.String(), err: err}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
