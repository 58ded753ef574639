package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// TestRun calls run in-process, as main does, over one home directory and a
// fake IAM: argv (personas included), the environment and stdin in; the exit
// code, stdout and stderr out. The steps run in order: later ones see the
// session earlier ones made.
func TestRun(t *testing.T) {
	fake, err := fakeiam.New(fakeiam.Config{AccessTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	fake.AddUser(fakeiam.User{Email: "run@example.com", Password: "run-password", UserID: 1,
		Accounts: []fakeiam.Account{{ID: 1001, Name: "Run Account"}}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	home := t.TempDir()
	base := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"DBUS_SESSION_BUS_ADDRESS=disabled:",
		"CI=true",
		"GCORE_KEYRING_PASSPHRASE=run-store-passphrase",
		"GCORE_BASE_URL=" + srv.URL,
		"PATH=/usr/bin:/bin",
	}
	t.Cleanup(func() {
		if keys, err := cache.NewKernelKeyCache(); err == nil {
			_ = cache.LockStore(filepath.Join(home, ".local", "share", "gcore-credential-helper", "store"), keys)
		}
	})

	steps := []struct {
		name       string
		argv       []string
		env        []string
		stdin      string
		wantCode   int
		wantStdout string // a regexp; "" means stdout must be empty
		wantStderr string // a regexp; "" means anything
	}{
		{name: "no command", argv: []string{programName}, wantCode: 2, wantStdout: `(?s)Usage: gcore-credential-helper <command>.*Commands:`},
		{name: "help", argv: []string{programName, "help"}, wantStdout: `(?s)Commands:.*\n  get `},
		{name: "help get", argv: []string{programName, "help", "get"}, wantStdout: `--format=`},
		{name: "version", argv: []string{programName, "--version"}, wantStdout: `^gcore-credential-helper dev `},
		{name: "typo", argv: []string{programName, "gte"}, wantCode: 2, wantStderr: `did you mean one of "get", "git"\?`},
		{name: "bad enum", argv: []string{programName, "get", "--format", "yaml"}, wantCode: 2,
			wantStderr: `(?m)^hint: run 'gcore-credential-helper help get' for its usage$`},
		{name: "unknown profile", argv: []string{programName, "get", "-p", "defualt"}, wantCode: 2,
			wantStderr: `unknown profile "defualt"`},
		{name: "no session", argv: []string{programName, "get"}, wantCode: 3,
			wantStderr: `(?m)^gcore-credential-helper: error: login required for profile "default"$`},
		{name: "login", argv: []string{programName, "login", "--username", "run@example.com"},
			env: []string{"GCORE_PASSWORD=run-password"}, wantStderr: `logged in as run@example.com`},
		{name: "get", argv: []string{programName, "get", "--format", "token"}, wantStdout: `^eyJ[A-Za-z0-9_.-]+\n$`},
		{name: "profile from the environment", argv: []string{programName, "get"}, env: []string{"GCORE_PROFILE=nosuch"},
			wantCode: 2, wantStderr: `unknown profile "nosuch"`},
		{name: "kube", argv: []string{programName, "kube", "--min-ttl", "10m"}, wantStdout: `"kind":"ExecCredential"`},
		{name: "kube, bad exec info", argv: []string{programName, "kube"}, env: []string{"KUBERNETES_EXEC_INFO={"},
			wantCode: 1, wantStderr: `KUBERNETES_EXEC_INFO`},
		{name: "docker persona", argv: []string{"/usr/local/bin/docker-credential-gcore", "list"}, wantStdout: `^\{\}\n$`},
		{name: "docker persona, foreign host", argv: []string{"docker-credential-gcore", "get"}, stdin: "https://index.docker.io/v1/",
			wantCode: 1, wantStdout: `^credentials not found in native keychain\n$`},
		{name: "git persona", argv: []string{"git-credential-gcore", "capability"}, wantStdout: `capability authtype`},
		{name: "git, foreign host", argv: []string{programName, "git", "get"}, stdin: "protocol=https\nhost=github.com\n\n"},
		{name: "exec, not found", argv: []string{programName, "exec", "--", "no-such-command-here"}, wantCode: 127,
			wantStderr: `no-such-command-here`},
		{name: "logout, nobody to ask", argv: []string{programName, "logout"}, wantCode: 2, wantStderr: `--yes`},
		{name: "logout", argv: []string{programName, "logout", "--yes"}, wantStderr: `logged out of profile "default"`},
		{name: "after logout", argv: []string{programName, "get"}, wantCode: 3},
	}
	for _, st := range steps {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), st.argv, strings.NewReader(st.stdin), &stdout, &stderr, append(append([]string{}, base...), st.env...))
		if code != st.wantCode {
			t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", st.name, code, st.wantCode, stdout.String(), stderr.String())
		}
		if st.wantStdout == "" && stdout.Len() != 0 {
			t.Errorf("%s: stdout %q, want none", st.name, stdout.String())
		} else if st.wantStdout != "" && !regexp.MustCompile(st.wantStdout).MatchString(stdout.String()) {
			t.Errorf("%s: stdout does not match %q:\n%s", st.name, st.wantStdout, stdout.String())
		}
		if st.wantStderr != "" && !regexp.MustCompile(st.wantStderr).MatchString(stderr.String()) {
			t.Errorf("%s: stderr does not match %q:\n%s", st.name, st.wantStderr, stderr.String())
		}
	}
}
