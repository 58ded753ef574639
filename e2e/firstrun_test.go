package e2e

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noPassphrase is an environment in which the encrypted store cannot be
// unlocked or created: no GCORE_KEYRING_PASSPHRASE, no askpass, no terminal.
var noPassphrase = []string{"GCORE_KEYRING_PASSPHRASE="}

// storeMade reports whether the sandbox's encrypted store has been created.
func (w *world) storeMade() bool {
	_, err := os.Lstat(filepath.Join(w.sb.DataHome, "gcore-credential-helper", "store", "store.meta"))
	return !errors.Is(err, fs.ErrNotExist)
}

// TestFirstRunIsToldToLogIn guards the reference's prompts and exit codes (exit 3 with the login
// hint) for someone who has never logged in: with the encrypted file and no
// passphrase anywhere, the callers are told to log in, not that a store they
// never made is locked, and nothing is created or sent to IAM.
func TestFirstRunIsToldToLogIn(t *testing.T) {
	w := newWorld(t)
	w.configure()

	res := w.run(noPassphrase, "get", "--format", "token")
	checkExit(t, res, 3)
	if want := `gcore-credential-helper: error: login required for profile "default"`; !strings.Contains(res.Stderr, want) {
		t.Errorf("get: stderr does not say %q:\n%s", want, res.Stderr)
	}
	if strings.Contains(res.Stderr, "passphrase") {
		t.Errorf("get: stderr speaks of a passphrase for a store never made:\n%s", res.Stderr)
	}

	status := w.run(noPassphrase, "status")
	checkExit(t, status, 0)
	if !strings.Contains(status.Stdout, "session:   none") {
		t.Errorf("status does not say there is no session:\n%s", status.Stdout)
	}
	checkExit(t, w.run(noPassphrase, "logout", "--yes"), 0)

	if w.storeMade() {
		t.Error("reading made an encrypted store")
	}
	if n := w.iamCalls(); n != 0 {
		t.Errorf("%d IAM calls, want none", n)
	}
}

// TestLoginMakesTheStoreBeforeIAM guards the reference's storage and exit codes (exit 4 when the
// store cannot be unlocked): a login that has no passphrase for the new store,
// whether the login command's or one a get starts, fails before it asks IAM
// for anything; one that has a passphrase makes the store.
func TestLoginMakesTheStoreBeforeIAM(t *testing.T) {
	w := newWorld(t)
	w.configure()

	for _, args := range [][]string{{"login"}, {"get", "--format", "token"}} {
		res := w.run(append([]string{passwordEnv}, noPassphrase...), args...)
		checkExit(t, res, 4)
		if n := w.iamCalls(); n != 0 {
			t.Errorf("%s: %d IAM calls for a login whose session could not be kept, want none", args[0], n)
		}
		if w.storeMade() {
			t.Errorf("%s: a store was made without a passphrase", args[0])
		}
	}

	w.ok([]string{passwordEnv}, "login")
	if !w.storeMade() {
		t.Error("login made no store")
	}
	if got := w.token(nil); got != w.lastAccess() {
		t.Error("get does not print the session's token")
	}
}

// TestStatusExitsWithTheRowsError guards the reference's exit codes: status still prints every
// profile, and a profile it could not read (an invalid name, a locked store)
// makes it exit with the code the same error gives other commands.
func TestStatusExitsWithTheRowsError(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	w.ok(nil, "lock")

	res := w.run(noPassphrase, "status")
	checkExit(t, res, 4)
	if !strings.Contains(res.Stdout, "profile default") || !strings.Contains(res.Stdout, "error:") {
		t.Errorf("status does not show the locked profile's row:\n%s", res.Stdout)
	}

	res = w.run(nil, "status", "--json", "--profile", "../x")
	checkExit(t, res, 1)
	if !strings.Contains(res.Stdout, `"error": "invalid profile name`) {
		t.Errorf("status --json does not report the invalid name:\n%s", res.Stdout)
	}

	checkExit(t, w.run(nil, "status"), 0)
}
