package e2e

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// TestNoSecretLeaks guards the reference's configuration (GCORE_HELPER_DEBUG masks secrets), exit codes (stdout carries only
// the answer) and security rules (no secret in logs, error messages, status or files), issue #2 "done
// when" 10: through a whole session, failures included and with tracing on, the password, the
// OTP, the passphrase and the refresh tokens never reach stdout, stderr or a file in the clear,
// and an access token only ever reaches the stdout of get.
func TestNoSecretLeaks(t *testing.T) {
	const (
		wrongPassword   = "e2e-wrong-password-not-a-secret"
		wrongOTP        = "otp-wrong-e2e-not-a-secret"
		wrongPassphrase = "e2e-wrong-passphrase-not-a-secret"
	)
	w := newWorld(t)
	w.writeConfig(w.profile("default", otpEmail))
	session := []string{passwordEnv, otpEnv}
	steps := []struct {
		name     string
		before   func()
		env      []string
		args     []string
		wantExit int
	}{
		{name: "login, wrong password", env: []string{"GCORE_PASSWORD=" + wrongPassword, otpEnv}, args: []string{"login"}, wantExit: 1},
		{name: "login, wrong OTP", env: []string{passwordEnv, "GCORE_OTP=" + wrongOTP}, args: []string{"login"}, wantExit: 1},
		{name: "login", env: session, args: []string{"login"}},
		{name: "get", args: []string{"get"}},
		{name: "get token", args: []string{"get", "--format", "token"}},
		{name: "get header", args: []string{"get", "--format", "header"}},
		{name: "get --refresh", args: []string{"get", "--refresh"}},
		{name: "status", args: []string{"status"}},
		{name: "status --json", args: []string{"status", "--json"}},
		{
			name:     "refresh spent, answer lost",
			before:   func() { w.iam.Inject(fakeiam.Refresh, fakeiam.Fault{ConsumeThenFail: true, Times: 1}) },
			args:     []string{"get", "--refresh"},
			wantExit: 1,
		},
		{name: "login needed, no password", args: []string{"get", "--refresh"}, wantExit: 3},
		{name: "login from get", env: session, args: []string{"get", "--refresh"}},
		{name: "lock", args: []string{"lock"}},
		{name: "wrong passphrase", env: []string{"GCORE_KEYRING_PASSPHRASE=" + wrongPassphrase}, args: []string{"get"}, wantExit: 4},
		{name: "logout", args: []string{"logout", "--yes"}},
		{name: "after logout", args: []string{"--non-interactive", "get"}, wantExit: 3},
	}
	type output struct {
		step string
		res  harness.Result
		get  bool // stdout may carry an access token
	}
	var outputs []output
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		res := w.run(append([]string{"GCORE_HELPER_DEBUG=1"}, s.env...), s.args...)
		if res.ExitCode != s.wantExit {
			t.Fatalf("%s: exit %d, want %d\nstderr:\n%s", s.name, res.ExitCode, s.wantExit, res.Stderr)
		}
		outputs = append(outputs, output{step: s.name, res: res, get: slices.Contains(s.args, "get")})
	}

	secrets := map[string]string{
		"password": password, "wrong password": wrongPassword, "OTP": otp, "wrong OTP": wrongOTP,
		"passphrase": harness.Passphrase, "wrong passphrase": wrongPassphrase,
	}
	access := map[string]string{}
	for i, p := range w.tokens() {
		// The signature alone is enough to find a whole or a cut-off token.
		secrets["refresh token "+strconv.Itoa(i)] = signature(p.Refresh)
		access["access token "+strconv.Itoa(i)] = signature(p.Access)
	}
	if len(access) < 3 {
		t.Fatalf("the fake issued %d token pairs, want at least 3: the session did not happen", len(access))
	}
	// The searches must be able to find what they look for: tracing was on and get printed
	// the tokens.
	traced, printed := false, false
	for _, o := range outputs {
		traced = traced || strings.Contains(o.res.Stderr, "debug:")
		printed = printed || o.get && strings.Contains(o.res.Stdout, signature(w.lastAccess()))
		for what, s := range secrets {
			if strings.Contains(o.res.Stdout, s) || strings.Contains(o.res.Stderr, s) {
				t.Errorf("%s: the %s is in the output", o.step, what)
			}
		}
		for what, s := range access {
			if strings.Contains(o.res.Stderr, s) {
				t.Errorf("%s: the %s is on stderr", o.step, what)
			}
			if !o.get && strings.Contains(o.res.Stdout, s) {
				t.Errorf("%s: the %s is on stdout of a command other than get", o.step, what)
			}
		}
	}
	if !traced || !printed {
		t.Errorf("traced: %v, last access token printed by get: %v; want both, or the searches prove nothing", traced, printed)
	}

	// The config file, the encrypted store, locks and any cache: nothing in the clear.
	err := filepath.WalkDir(w.sb.Home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds the %s", path, what)
			}
		}
		for what, s := range access {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds the %s in the clear", path, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// signature is a JWT's last part: unique to the token, and part of any leak of it.
func signature(jwt string) string {
	return jwt[strings.LastIndexByte(jwt, '.')+1:]
}

// secrets names every secret w knows of: the users' password and OTP, the store's passphrase
// and the signature of every token the fake has issued, which is part of any leak of a token.
func (w *world) secrets() map[string]string {
	s := map[string]string{"password": password, "OTP": otp, "passphrase": harness.Passphrase}
	for i, p := range w.tokens() {
		s["refresh token "+strconv.Itoa(i)] = signature(p.Refresh)
		s["access token "+strconv.Itoa(i)] = signature(p.Access)
	}
	return s
}

// checkNoSecrets fails the test for every secret in text, which is what where names.
func checkNoSecrets(t *testing.T, where, text string, secrets map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		if strings.Contains(text, secrets[name]) {
			t.Errorf("%s holds the %s", where, name)
		}
	}
}

// apiKeySecret is the secret part of a permanent API token "<id>_<secret>".
func apiKeySecret(token string) string {
	_, secret, _ := strings.Cut(token, "_")
	return secret
}
