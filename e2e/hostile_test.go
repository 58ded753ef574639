package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// errPrefix starts every error line the helper prints (the reference's exit codes).
const errPrefix = "gcore-credential-helper: error: "

// hostileWorld is a world whose default profile (allowing allowedHost) holds a session, with
// that session's access token. more(w), when given, adds profile tables to the config.
func hostileWorld(t *testing.T, more func(w *world) []string) (*world, string) {
	w := newWorld(t)
	profiles := []string{w.profile("default", email, allowHosts)}
	if more != nil {
		profiles = append(profiles, more(w)...)
	}
	w.writeConfig(profiles...)
	w.ok([]string{passwordEnv}, "login")
	return w, w.lastAccess()
}

// checkRefused fails the test unless res exited with exit, printed nothing on stdout, and
// printed on stderr the the reference's exit codes error line with every one of want, no panic, and none of
// hidden (values that must not be repeated).
func checkRefused(t *testing.T, res harness.Result, exit int, want []string, hidden ...string) {
	t.Helper()
	checkExit(t, res, exit)
	if res.Stdout != "" {
		t.Errorf("stdout = %.200q, want nothing", res.Stdout)
	}
	if !strings.HasPrefix(res.Stderr, errPrefix) {
		t.Errorf("stderr does not start with %q:\n%.500s", errPrefix, res.Stderr)
	}
	checkCalm(t, res)
	for _, s := range want {
		if !strings.Contains(res.Stderr, s) {
			t.Errorf("stderr does not say %q:\n%.1000s", s, res.Stderr)
		}
	}
	for _, s := range hidden {
		if strings.Contains(res.Stderr, s) {
			t.Errorf("stderr repeats a value it must not show (%.20q…)", s)
		}
	}
}

// checkCalm fails the test if the helper panicked or wrote a screenful of stderr.
func checkCalm(t *testing.T, res harness.Result) {
	t.Helper()
	if strings.Contains(res.Stderr, "panic:") || strings.Contains(res.Stderr, "goroutine ") {
		t.Errorf("the helper panicked:\n%.2000s", res.Stderr)
	}
	if len(res.Stderr) > 2000 {
		t.Errorf("stderr is %d bytes long, want a short message:\n%.500s…", len(res.Stderr), res.Stderr)
	}
}

// checkSessionIntact fails the test unless get still serves token from the cache, without IAM.
func (w *world) checkSessionIntact(token string) {
	w.t.Helper()
	calls := w.iamCalls()
	if got := w.token(nil); got != token {
		w.t.Error("get no longer serves the session's access token")
	}
	if got := w.iamCalls(); got != calls {
		w.t.Errorf("serving the session made %d IAM calls, want none", got-calls)
	}
}

// TestHostileConfig guards the reference's configuration and exit codes, issue #5 item 4 ("a config file with syntax errors,
// unknown keys or wrong types"): through the real binary each bad file exits 1 with one error
// line naming the file, the line and the key, prints nothing on stdout, and once the file is
// put right the session is served as before.
func TestHostileConfig(t *testing.T) {
	w, token := hostileWorld(t, nil)
	good := w.profile("default", email, allowHosts)
	path := w.sb.ConfigPath()
	// The profile's own lines are 1-4 and allowHosts is 5: an extra line is line 6.
	for _, tc := range []struct {
		name, content string
		want          []string
		spoil         func(t *testing.T, path string) // after the content is written
	}{
		{"syntax error", good + "min_ttl = \n", []string{"line 6: ", `after key "profiles.default.min_ttl"`}, nil},
		{"unknown key in the profile", good + "usernme = \"x\"\n", []string{`line 6: unknown key "profiles.default.usernme"`}, nil},
		{"unknown top-level key", "colour = \"red\"\n" + good, []string{`line 1: unknown key "colour"`}, nil},
		{"min_ttl a number", good + "min_ttl = 5\n", []string{`line 6: key "profiles.default.min_ttl": want a duration string`}, nil},
		{"min_ttl not a duration", good + "min_ttl = \"5 minutes\"\n", []string{`line 6: key "profiles.default.min_ttl": invalid duration "5 minutes"`}, nil},
		{"client_id a string", good + "client_id = \"x\"\n", []string{`line 6: key "profiles.default.client_id": want an integer, got a string`}, nil},
		{"allowed_hosts a string", strings.Replace(good, allowHosts, `allowed_hosts = "a"`, 1),
			[]string{`line 5: key "profiles.default.allowed_hosts": want an array of strings, got a string`}, nil},
		{"base_url plain http to a public host", strings.Replace(good, w.url, "http://api.example.com", 1),
			[]string{`line 2: key "profiles.default.base_url": base url http://api.example.com: insecure url: use https`}, nil},
		{"invalid UTF-8", good + "api_key_role = \"r\xff\"\n", []string{"line 6: invalid UTF-8 byte"}, nil},
		{"NUL byte", good + "api_key_role = \"r\x00\"\n", []string{"line 6: "}, nil},
		{"over a megabyte", good + "# " + strings.Repeat("x", 1<<20) + "\n", []string{"larger than 1048576 bytes"}, nil},
		{"group-writable", good, []string{"refusing a config file other users could change: it is group- or world-writable (mode 0664)"},
			func(t *testing.T, path string) {
				if err := os.Chmod(path, 0o664); err != nil {
					t.Fatal(err)
				}
			}},
		{"another user's", good, []string{"refusing a config file other users could change: it is owned by uid 65534"},
			func(t *testing.T, path string) {
				if os.Geteuid() != 0 {
					t.Skip("giving a file to another user needs root")
				}
				if err := os.Chown(path, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.writeConfig(tc.content)
			if tc.spoil != nil {
				tc.spoil(t, path)
			}
			res := w.run(nil, "get", "--format", "token")
			checkRefused(t, res, 1, append([]string{errPrefix + "config " + path + ": "}, tc.want...))
			if n := strings.Count(res.Stderr, "\n"); n > 2 {
				t.Errorf("stderr has %d lines, want the error and at most a hint:\n%s", n, res.Stderr)
			}
			// WriteFile would keep a spoilt file's mode and owner.
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			w.writeConfig(good)
			w.checkSessionIntact(token)
		})
	}
}

// TestHostileStdin guards the reference's kube format-8.4 and security rules, issue #5 item 4 ("over-long docker/git input,
// invalid UTF-8, NUL bytes, missing trailing newline, lines without '=', thousands of lines",
// KUBERNETES_EXEC_INFO huge, not JSON or invalid UTF-8): each gets a clear error or the
// protocol's "nothing here" answer, reads are capped, and the session is untouched.
func TestHostileStdin(t *testing.T) {
	w, token := hostileWorld(t, nil)
	docker := w.persona("docker-credential-gcore")
	git := w.persona("git-credential-gcore")
	huge := strings.Repeat("h", 100<<10)
	allowed := "protocol=https\nhost=" + allowedHost + "\n"

	for _, tc := range []struct {
		name  string
		bin   string
		args  []string
		stdin string
		env   []string
		exit  int
		// stdout, when set, is all of stdout; stderr holds these substrings.
		stdout string
		stderr []string
		token  bool // stdout carries the access token
	}{
		{name: "docker get, 100 KiB", bin: docker, args: []string{"get"}, stdin: huge, exit: 1,
			stdout: "stdin longer than 65536 bytes\n"},
		{name: "docker get, NUL in the URL", bin: docker, args: []string{"get"}, stdin: "https://" + allowedHost + "\x00/v2/", exit: 1,
			stdout: "credentials not found in native keychain\n"},
		{name: "docker get, invalid UTF-8 in the URL", bin: docker, args: []string{"get"}, stdin: "https://" + allowedHost + "\xff", exit: 1,
			stdout: "credentials not found in native keychain\n"},
		{name: "docker get, no trailing newline", bin: docker, args: []string{"get"}, stdin: "https://" + allowedHost, token: true},
		{name: "docker store, 100 KiB", bin: docker, args: []string{"store"}, stdin: `{"ServerURL":"x","Secret":"` + huge + `"}`, exit: 1,
			stdout: "stdin longer than 65536 bytes\n"},
		{name: "docker store, not JSON", bin: docker, args: []string{"store"}, stdin: "ServerURL=x\xff\x00", exit: 1},
		{name: "git get, 100 KiB", bin: git, args: []string{"get"}, stdin: allowed + "path=" + huge + "\n", exit: 1,
			stderr: []string{errPrefix + "git request longer than 65536 bytes"}},
		{name: "git get, NUL", bin: git, args: []string{"get"}, stdin: allowed + "path=a\x00b\n\n", exit: 1,
			stderr: []string{errPrefix + "git request line 3 has a NUL byte"}},
		{name: "git get, a line without =", bin: git, args: []string{"get"}, stdin: allowed + "path\n\n", exit: 1,
			stderr: []string{errPrefix + "git request line 3 is not key=value"}},
		{name: "git get, invalid UTF-8 host", bin: git, args: []string{"get"}, stdin: "protocol=https\nhost=" + allowedHost + "\xff\n\n"},
		{name: "git get, invalid UTF-8 path", bin: git, args: []string{"get"}, stdin: allowed + "path=r\xe9po\n\n", token: true},
		{name: "git get, no trailing newline", bin: git, args: []string{"get"}, stdin: strings.TrimSuffix(allowed, "\n"), token: true},
		{name: "git get, thousands of lines", bin: git, args: []string{"get"},
			stdin: strings.Repeat("wwwauth[]=Basic realm=\"x\"\n", 2000) + allowed + "\n", token: true},
		{name: "kube, 100 KiB of KUBERNETES_EXEC_INFO", bin: helperBin, args: []string{"kube"},
			env: []string{"KUBERNETES_EXEC_INFO={\"kind\":\"" + huge + "\"}"}, exit: 1,
			stderr: []string{errPrefix + "KUBERNETES_EXEC_INFO: json larger than 65536 bytes"}},
		{name: "kube, not JSON", bin: helperBin, args: []string{"kube"}, env: []string{"KUBERNETES_EXEC_INFO=kind: ExecCredential"}, exit: 1,
			stderr: []string{errPrefix + "KUBERNETES_EXEC_INFO: invalid json at offset 0"}},
		{name: "kube, invalid UTF-8", bin: helperBin, args: []string{"kube"}, env: []string{"KUBERNETES_EXEC_INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"v1\xff\"}"}, exit: 1,
			stderr: []string{errPrefix + "KUBERNETES_EXEC_INFO: unknown ExecCredential apiVersion \"v1\ufffd\""}},
		{name: "kube, a 60 KiB apiVersion", bin: helperBin, args: []string{"kube"},
			env: []string{"KUBERNETES_EXEC_INFO={\"kind\":\"ExecCredential\",\"apiVersion\":\"" + strings.Repeat("v", 60<<10) + "\"}"}, exit: 1,
			stderr: []string{errPrefix + "KUBERNETES_EXEC_INFO: unknown ExecCredential apiVersion \"" + strings.Repeat("v", 64) + `" (want`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.client(tc.env, tc.stdin, tc.bin, tc.args...)
			checkExit(t, res, tc.exit)
			checkCalm(t, res)
			switch {
			case tc.token:
				if !strings.Contains(res.Stdout, token) {
					t.Errorf("stdout does not carry the session's token:\n%.500s", res.Stdout)
				}
			case tc.stdout != "" || tc.exit == 0:
				if res.Stdout != tc.stdout {
					t.Errorf("stdout = %.200q, want %q", res.Stdout, tc.stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(res.Stderr, s) {
					t.Errorf("stderr does not say %q:\n%.1000s", s, res.Stderr)
				}
			}
		})
	}
	w.checkSessionIntact(token)
}

// TestHostileEnv guards the reference's configuration, prompts, exit codes and security rules, issue #5 item 4 (GCORE_PASSWORD, GCORE_API_TOKEN,
// GCORE_KEYRING_PASSPHRASE, GCORE_PROFILE, GCORE_BASE_URL, GCORE_ASKPASS and password_command
// holding or printing what cannot be right): each is refused with a clear message that never
// repeats the value, before anything reaches IAM (GCORE_OTP, which the login code reads itself,
// is refused by IAM, still without being repeated), nothing is remembered against a later good
// login, and the existing session keeps working.
func TestHostileEnv(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return path
	}
	megabytes := script("megabytes", `head -c 3000000 /dev/zero | tr '\0' s`)
	silent := script("silent", `exit 0`)
	w, token := hostileWorld(t, func(w *world) []string {
		return []string{w.profile("fresh", email), w.profile("otp", otpEmail), w.profile("tok", email, `auth = "api-token"`),
			w.profile("cmd", email, `password_command = "`+megabytes+`"`)}
	})
	long := strings.Repeat("s", 100<<10) // execve takes at most 128 KiB per variable
	const bad = "e2e-bad-secret-"

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		exit int
		want []string
		// hidden must not appear on stderr; noIAM: no call reached IAM.
		hidden []string
		noIAM  bool
	}{
		{name: "GCORE_PASSWORD invalid UTF-8", env: []string{"GCORE_PASSWORD=" + bad + "\xff"}, args: []string{"get", "-p", "fresh"}, exit: 1,
			want: []string{`read secret for profile "fresh": GCORE_PASSWORD: not valid UTF-8`}, hidden: []string{bad}, noIAM: true},
		{name: "GCORE_PASSWORD with an escape sequence", env: []string{"GCORE_PASSWORD=" + bad + "\x1b[2J"}, args: []string{"get", "-p", "fresh"}, exit: 1,
			want: []string{"GCORE_PASSWORD: contains a control character"}, hidden: []string{bad}, noIAM: true},
		{name: "GCORE_PASSWORD of 100 KiB", env: []string{"GCORE_PASSWORD=" + long}, args: []string{"login", "-p", "fresh"}, exit: 1,
			want: []string{"GCORE_PASSWORD: longer than 4096 bytes"}, hidden: []string{long[:64]}, noIAM: true},
		{name: "GCORE_API_TOKEN with a newline", env: []string{"GCORE_API_TOKEN=42_" + bad + "\nx"}, args: []string{"login", "-p", "tok"}, exit: 1,
			want: []string{"GCORE_API_TOKEN: contains a control character"}, hidden: []string{bad}, noIAM: true},
		{name: "GCORE_API_TOKEN of 100 KiB", env: []string{"GCORE_API_TOKEN=" + long}, args: []string{"get", "-p", "tok"}, exit: 1,
			want: []string{"GCORE_API_TOKEN: longer than 4096 bytes"}, hidden: []string{long[:64]}, noIAM: true},
		{name: "GCORE_ASKPASS printing megabytes", env: []string{"GCORE_ASKPASS=" + megabytes}, args: []string{"get", "-p", "fresh"}, exit: 1,
			want: []string{`GCORE_ASKPASS program "` + megabytes + `" printed an unusable first line: longer than 4096 bytes`}, hidden: []string{"ssss"}, noIAM: true},
		{name: "GCORE_ASKPASS printing nothing", env: []string{"GCORE_ASKPASS=" + silent}, args: []string{"get", "-p", "fresh"}, exit: 1,
			want: []string{`GCORE_ASKPASS program "` + silent + `" printed nothing`}, noIAM: true},
		{name: "password_command printing megabytes", args: []string{"get", "-p", "cmd"}, exit: 1,
			want: []string{`command "` + megabytes + `" printed an unusable first line: longer than 4096 bytes`}, hidden: []string{"ssss"}, noIAM: true},
		{name: "GCORE_OTP invalid", env: []string{passwordEnv, "GCORE_OTP=" + bad + "\xff\x01"}, args: []string{"login", "-p", "otp"}, exit: 1,
			want: []string{"GCORE_OTP: not valid UTF-8"}, hidden: []string{bad}, noIAM: true},
		{name: "GCORE_PROFILE a path", env: []string{"GCORE_PROFILE=../default"}, args: []string{"get"}, exit: 1,
			want: []string{`invalid profile name "../default": want 1 to 64 of A-Z a-z 0-9 . _ -`}, noIAM: true},
		{name: "GCORE_PROFILE with a newline", env: []string{"GCORE_PROFILE=default\nx"}, args: []string{"get"}, exit: 1,
			want: []string{`invalid profile name "default\nx"`}, noIAM: true},
		{name: "GCORE_PROFILE of 100 KiB", env: []string{"GCORE_PROFILE=" + long}, args: []string{"get"}, exit: 1,
			want: []string{"invalid profile name: 102400 bytes long, want at most 64"}, hidden: []string{long[:100]}, noIAM: true},
		{name: "GCORE_BASE_URL malformed", env: []string{"GCORE_BASE_URL=http://%zz"}, args: []string{"get"}, exit: 1,
			want: []string{"GCORE_BASE_URL: base URL must be absolute"}, noIAM: true},
		{name: "GCORE_BASE_URL with a password", env: []string{"GCORE_BASE_URL=https://me:" + bad + "@api.gcore.com"}, args: []string{"get"}, exit: 1,
			want: []string{"GCORE_BASE_URL: base URL must not contain credentials"}, hidden: []string{bad}, noIAM: true},
		{name: "GCORE_BASE_URL plain http to a public host", env: []string{"GCORE_BASE_URL=http://api.example.com"}, args: []string{"get"}, exit: 1,
			want: []string{"use https (plain http is allowed only for loopback hosts)"}, noIAM: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := w.iamCalls()
			res := w.run(tc.env, tc.args...)
			checkRefused(t, res, tc.exit, tc.want, tc.hidden...)
			if got := w.iamCalls(); tc.noIAM && got != calls {
				t.Errorf("%d IAM calls, want none", got-calls)
			}
		})
	}

	t.Run("GCORE_KEYRING_PASSPHRASE", func(t *testing.T) {
		w.ok(nil, "lock") // so that the passphrase is needed
		for pass, why := range map[string]string{bad + "\xff": "not valid UTF-8", bad + "\x1b[2J": "contains a control character", bad + long: "longer than 4096 bytes"} {
			res := w.run([]string{"GCORE_KEYRING_PASSPHRASE=" + pass}, "get", "--format", "token")
			checkRefused(t, res, 4, []string{"GCORE_KEYRING_PASSPHRASE is unusable: " + why}, bad)
		}
		res := w.run([]string{"GCORE_KEYRING_PASSPHRASE=" + bad + "-wrong"}, "get", "--format", "token")
		checkRefused(t, res, 4, []string{": wrong passphrase"}, bad)
	})

	// Nothing above counts as a failed login: a good password logs the fresh profile in at once.
	w.ok([]string{passwordEnv}, "get", "-p", "fresh")
	w.checkSessionIntact(token)
}

// TestHostileDirectories guards the reference's storage and security rules ("files 0600, directories 0700, refused if
// group/world writable"), issue #5 item 4: an XDG directory, the helper's own directory, the
// store or the lock directory that is a symbolic link, group/world-writable or another user's,
// and a store entry another user owns or others may read, are each refused with the path, the
// reason and the fix (exit 1); nothing is deleted, and once put right the session is served.
func TestHostileDirectories(t *testing.T) {
	w, token := hostileWorld(t, nil)
	appData := filepath.Join(w.sb.DataHome, "gcore-credential-helper")
	store := filepath.Join(appData, "store")
	locks := filepath.Join(store, "locks") // beside the store (issue #9 item 2)
	entries, err := filepath.Glob(filepath.Join(store, "*.entry"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no store entries after login (%v)", err)
	}
	root := os.Geteuid() == 0

	// chmod and chown change a path for one case; undo puts it back.
	chmod := func(t *testing.T, path string, mode fs.FileMode) (undo func()) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := os.Chmod(path, fi.Mode()&(fs.ModePerm|fs.ModeSticky)); err != nil {
				t.Fatal(err)
			}
		}
	}
	chown := func(t *testing.T, path string) (undo func()) {
		if !root {
			t.Skip("giving a path to another user needs root")
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if err := os.Chown(path, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	symlink := func(t *testing.T, path string) (undo func()) {
		target := path + ".real"
		if err := os.Rename(path, target); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(target, path); err != nil {
				t.Fatal(err)
			}
		}
	}
	// onEach applies spoil to every path and returns one undo for them all.
	onEach := func(paths []string, spoil func(path string) (undo func())) func() {
		var undo []func()
		for _, p := range paths {
			undo = append(undo, spoil(p))
		}
		return func() {
			for _, u := range undo {
				u()
			}
		}
	}
	chmodAll := func(t *testing.T, paths []string, mode fs.FileMode) func() {
		return onEach(paths, func(p string) func() { return chmod(t, p, mode) })
	}
	chownAll := func(t *testing.T, paths []string) func() {
		return onEach(paths, func(p string) func() { return chown(t, p) })
	}
	get := []string{"get", "--format", "token"}
	login := []string{"login"} // takes the profile's lock, so it reaches the lock directory

	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T) (undo func())
		args  []string
		want  []string // substrings of stderr after errPrefix; nil means the command works
	}{
		{"store world-writable", func(t *testing.T) func() { return chmod(t, store, 0o777) }, get,
			[]string{`unsafe path "` + store + `": is group- or world-writable (mode 0777): run chmod 700 on it`}},
		{"store a symbolic link", func(t *testing.T) func() { return symlink(t, store) }, get,
			[]string{`unsafe path "` + store + `": is a symbolic link: make it a directory of its own (mode 0700)`}},
		{"store another user's", func(t *testing.T) func() { return chown(t, store) }, get,
			[]string{`unsafe path "` + store + `": is owned by uid 65534, not by this user`, "chown the directory to this one"}},
		{"helper's data directory world-writable", func(t *testing.T) func() { return chmod(t, appData, 0o777) }, get,
			[]string{`unsafe path "` + appData + `": is group- or world-writable without the sticky bit (mode 0777), so others could replace ` + store + `: run chmod go-w on it`}},
		{"XDG_DATA_HOME world-writable", func(t *testing.T) func() { return chmod(t, w.sb.DataHome, 0o777) }, get,
			[]string{`unsafe path "` + w.sb.DataHome + `": is group- or world-writable without the sticky bit (mode 0777)`}},
		{"XDG_DATA_HOME another user's", func(t *testing.T) func() { return chown(t, w.sb.DataHome) }, get,
			[]string{`unsafe path "` + w.sb.DataHome + `": is owned by uid 65534, who could replace ` + store}},
		{"XDG_DATA_HOME a symbolic link to a private directory", func(t *testing.T) func() { return symlink(t, w.sb.DataHome) }, get, nil},
		{"XDG_DATA_HOME sticky and world-writable, like /tmp", func(t *testing.T) func() {
			return chmod(t, w.sb.DataHome, 0o777|fs.ModeSticky)
		}, get, nil},
		{"store entry readable by others", func(t *testing.T) func() { return chmodAll(t, entries, 0o644) }, get,
			[]string{`": is readable or writable by group or others (mode 0644): run chmod 600 on it`, store}},
		{"store entry another user's", func(t *testing.T) func() { return chownAll(t, entries) }, get, []string{`": is owned by uid 65534, not by this user`, "move the file out of the way", store}},
		{"lock directory world-writable, cache hit", func(t *testing.T) func() { return chmod(t, locks, 0o777) }, get, nil},
		{"lock directory world-writable, login", func(t *testing.T) func() { return chmod(t, locks, 0o777) }, login,
			[]string{`unsafe path "` + locks + `": is group- or world-writable (mode 0777): run chmod 700 on it`}},
		{"lock directory a symbolic link", func(t *testing.T) func() { return symlink(t, locks) }, login,
			[]string{`unsafe path "` + locks + `": is a symbolic link`}},
		{"lock file another user's, as a sudo run leaves it", func(t *testing.T) func() {
			lockFiles, err := filepath.Glob(filepath.Join(locks, "*.lock"))
			if err != nil || len(lockFiles) == 0 {
				t.Fatalf("no lock files after login (%v)", err)
			}
			return chownAll(t, lockFiles)
		}, login, []string{`unsafe path "` + locks + `/`, `.lock": is owned by uid 65534, not by this user (uid 0): remove it as that user`}},
		// XDG_CACHE_HOME holds only the short memory of failed logins, which is neither
		// written nor believed in a directory others could change: the helper works on.
		{"XDG_CACHE_HOME world-writable", func(t *testing.T) func() { return chmod(t, w.sb.CacheHome, 0o777) }, get, nil},
		{"XDG_CACHE_HOME another user's", func(t *testing.T) func() { return chown(t, w.sb.CacheHome) }, get, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := treeOf(t, w.sb.Home)
			undo := tc.spoil(t)
			calls := w.iamCalls()
			res := w.run([]string{passwordEnv}, tc.args...)
			if tc.want == nil {
				if err := res.Check(); err != nil {
					t.Errorf("%v\nstderr:\n%s", err, res.Stderr)
				}
			} else {
				checkRefused(t, res, 1, append([]string{errPrefix}, tc.want...))
				if got := w.iamCalls(); got != calls {
					t.Errorf("%d IAM calls, want none", got-calls)
				}
			}
			undo()
			for _, p := range before {
				if _, err := os.Lstat(filepath.Join(w.sb.Home, p)); err != nil {
					t.Errorf("%s is gone: %v", p, err)
				}
			}
			w.checkSessionIntact(token)
		})
	}
}

// treeOf lists every path under root, relative to it.
func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		paths = append(paths, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}
