package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// statusRow is the part of `status --json` these tests read.
type statusRow struct {
	Profile   string `json:"profile"`
	LoggedIn  bool   `json:"logged_in"`
	AccountID int64  `json:"account_id"`
	Account   string `json:"account"`
	Backend   string `json:"backend"`
	Guardian  string `json:"guardian"`
	Error     string `json:"error"`
}

// TestOTPLoginAndAccountSwitch guards the reference's prompts (secret sources: GCORE_OTP, GCORE_ASKPASS) and
// commands (`login --client-id`, a first login adding its profile to the config file), issue #2
// "done when" 8: a 2FA user logs in through the CLI, lands in the account asked for, and every
// later command of that profile uses that account's session.
func TestOTPLoginAndAccountSwitch(t *testing.T) {
	tests := []struct {
		name       string
		inConfig   bool     // the work profile is already in the config file
		env        []string // besides the password
		wantLogins int
	}{
		{name: "first login, OTP from GCORE_OTP", env: []string{otpEnv}, wantLogins: 1},
		// IAM first refuses the login for want of an OTP; the helper then asks askpass.
		{name: "first login, OTP from GCORE_ASKPASS", env: []string{"GCORE_ASKPASS=" + askpassOTP}, wantLogins: 2},
		{name: "profile already in the config file", inConfig: true, env: []string{otpEnv}, wantLogins: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			writeAskpass(t, w)
			profiles := []string{w.profile("default", email)}
			if tt.inConfig {
				profiles = append(profiles, w.profile("work", otpEmail))
			}
			w.writeConfig(profiles...)
			before, err := os.ReadFile(w.sb.ConfigPath())
			if err != nil {
				t.Fatal(err)
			}

			// A first login names everything on the command line or in the environment.
			env := append([]string{passwordEnv, "GCORE_BASE_URL=" + w.url, "GCORE_KEYRING_BACKEND=file"}, tt.env...)
			res := w.run(env, "login", "--profile", "work", "--username", otpEmail, "--client-id", "1002")
			checkExit(t, res, 0)
			if !strings.Contains(res.Stderr, "account 1002") {
				t.Errorf("login does not say which account it logged in to:\n%s", res.Stderr)
			}
			if got := w.iam.Calls(fakeiam.Login); got != tt.wantLogins {
				t.Errorf("%d login calls, want %d", got, tt.wantLogins)
			}
			if got := w.iam.Calls(fakeiam.SwitchAccount); got != 1 {
				t.Errorf("%d account switches, want 1", got)
			}
			after, err := os.ReadFile(w.sb.ConfigPath())
			if err != nil {
				t.Fatal(err)
			}
			// A first login appends the profile; a login into a profile the file
			// already has records the new client id in that profile's table and
			// leaves every other byte alone.
			wantFile := string(before)
			if tt.inConfig {
				wantFile = strings.Replace(wantFile, "[profiles.work]\n", "[profiles.work]\nclient_id = 1002\n", 1)
			}
			if !strings.HasPrefix(string(after), wantFile) {
				t.Errorf("login changed what the config file held:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			calls := w.iamCalls()
			var rows []statusRow
			if err := json.Unmarshal([]byte(w.ok(nil, "status", "--json", "--profile", "work")), &rows); err != nil {
				t.Fatalf("status --json: %v", err)
			}
			// A first login writes no backend into the profile: it stays auto, which picked the
			// passphrase here (no session bus).
			backend := "auto"
			if tt.inConfig {
				backend = "file"
			}
			want := []statusRow{{Profile: "work", LoggedIn: true, AccountID: secondAccount, Account: "Second Ltd", Backend: backend, Guardian: "file"}}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("status --json (-want +got):\n%s", diff)
			}
			res = w.run(nil, "get", "--format", "token", "--profile", "work")
			checkExit(t, res, 0)
			claims, err := iam.ParseClaims(strings.TrimSpace(res.Stdout))
			if err != nil {
				t.Fatal(err)
			}
			if claims.ClientID != secondAccount {
				t.Errorf("get printed a token for account %d, want %d", claims.ClientID, secondAccount)
			}
			if got := w.iamCalls(); got != calls {
				t.Errorf("status and get made %d IAM calls, want none", got-calls)
			}
		})
	}
}

// askpassOTP is the name of a GCORE_ASKPASS program, in the sandbox's PATH, that prints otp.
const askpassOTP = "askpass-otp"

func writeAskpass(t *testing.T, w *world) {
	t.Helper()
	script := "#!/bin/sh\necho '" + otp + "'\n"
	if err := os.WriteFile(filepath.Join(w.sb.Bin, askpassOTP), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
}

// TestProfilesNeverShareAToken guards the reference's token engine "two profiles never share a token by accident",
// issue #2 "done when" 9: two profiles of the same user on the same IAM hold separate sessions.
func TestProfilesNeverShareAToken(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(w.profile("a", email), w.profile("b", email))

	a := w.token([]string{passwordEnv}, "--profile", "a")
	b := w.token([]string{passwordEnv}, "--profile", "b")
	if a == b {
		t.Fatal("profiles a and b were given the same token")
	}
	if got := w.iam.Calls(fakeiam.Login); got != 2 {
		t.Errorf("%d login calls, want one per profile", got)
	}
	if w.token(nil, "--profile", "a") != a || w.token(nil, "--profile", "b") != b {
		t.Error("a later get does not print its own profile's token")
	}

	w.ok(nil, "logout", "--profile", "a", "--yes")
	checkExit(t, w.run(nil, "--non-interactive", "get", "--profile", "a"), 3)
	if w.token(nil, "--profile", "b") != b {
		t.Error("logging out of profile a changed profile b's session")
	}
	if got := w.iam.Calls(fakeiam.Login); got != 2 {
		t.Errorf("%d login calls, want still 2", got)
	}
}

// TestMinTTLFlag guards the reference's token engine (a token is served while exp - now >= min_ttl; a min_ttl at or
// beyond the token's own lifetime does not turn every call into a refresh) and commands (`get
// --min-ttl`), issue #2 "done when" 11 and issue #9 item 5: on a fresh 1 h token, a minimum
// below its life is a cache hit; 2 h, which no token meets, is served as it is, with a one-line
// note, on each of six calls, and costs no refresh (it used to cost one per call); a stale
// token costs exactly one.
func TestMinTTLFlag(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	old := w.lastAccess()
	if got := w.token(nil, "--min-ttl", "30m"); got != old {
		t.Error("--min-ttl 30m on a fresh 1 h token did not print it")
	}
	for i := range 6 {
		res := w.run(nil, "get", "--format", "token", "--min-ttl", "2h")
		checkExit(t, res, 0)
		if strings.TrimSpace(res.Stdout) != old {
			t.Errorf("call %d of --min-ttl 2h printed another token", i)
		}
		if lines := strings.Split(strings.TrimSpace(res.Stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "beyond the access token's lifetime of 1h0m0s") {
			t.Errorf("call %d: stderr %q, want one note", i, res.Stderr)
		}
	}
	if n := w.iam.Calls(fakeiam.Refresh); n != 0 {
		t.Errorf("%d refresh calls for a fresh token, want 0", n)
	}

	// A token with 2 minutes left is refreshed once, then served.
	w.offset.Store(int64(-staleLogin))
	w.ok([]string{passwordEnv}, "login")
	w.offset.Store(0)
	stale := w.lastAccess()
	first := w.token(nil, "--min-ttl", "2h")
	if first == stale || w.token(nil, "--min-ttl", "2h") != first {
		t.Error("the stale token was not replaced once and the new one kept")
	}
	if n := w.iam.Calls(fakeiam.Refresh); n != 1 {
		t.Errorf("%d refresh calls for a stale token, want exactly 1", n)
	}
	if n := w.iam.Calls(fakeiam.Login); n != 2 {
		t.Errorf("%d login calls, want only the two logins", n)
	}
}
