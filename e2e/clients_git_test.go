package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// Git configurations for the helper: scoped to the allowed host, as `setup git` writes it, and
// global, as a careless user might.
const (
	gitScoped = "[credential \"https://" + allowedHost + "\"]\n\thelper = gcore\n"
	gitGlobal = "[credential]\n\thelper = gcore\n"
)

// gitWorld is a world whose default profile allows allowedHost, with git-credential-gcore on
// PATH and gitconfig as the user's global git config.
func gitWorld(t *testing.T, gitconfig string) *world {
	w := newWorld(t)
	w.configure(allowHosts)
	w.persona("git-credential-gcore")
	w.gitConfig(gitconfig)
	return w
}

// gitConfig replaces the sandbox user's global git config.
func (w *world) gitConfig(content string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.sb.Home, ".gitconfig"), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// git runs the real git in the sandbox with no system config and no terminal prompts, so a
// credential no helper supplies ends in git's own "terminal prompts disabled".
func (w *world) git(gitBin, stdin string, args ...string) (stdout, stderr string, exit int) {
	res := w.client([]string{"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_TRACE=1"}, stdin, gitBin, args...)
	if res.Err != nil && res.ExitCode == -1 {
		w.t.Fatalf("git %s: %v", strings.Join(args, " "), res.Err)
	}
	return res.Stdout, res.Stderr, res.ExitCode
}

// gitRequest is a credential request as git writes it.
func gitRequest(protocol, host string) string {
	return "protocol=" + protocol + "\nhost=" + host + "\n\n"
}

// TestGitCredentialFill guards the reference's git protocol and security rules, issue #3 "git": through the real `git
// credential fill`, the allowed https host gets the profile's login and the session's access
// token, while a foreign host and plain http get nothing from the helper, even when it is the
// global helper for every host, so git falls through to its own refusal to prompt.
func TestGitCredentialFill(t *testing.T) {
	gitBin := needTool(t, "git")
	tests := []struct {
		name      string
		gitconfig string
		request   string
		// asked: git runs our helper for this request (seen in GIT_TRACE).
		asked     bool
		wantToken bool
	}{
		{name: "scoped helper, allowed host", gitconfig: gitScoped, request: gitRequest("https", allowedHost), asked: true, wantToken: true},
		{name: "scoped helper, github.com", gitconfig: gitScoped, request: gitRequest("https", "github.com")},
		{name: "global helper, allowed host", gitconfig: gitGlobal, request: gitRequest("https", allowedHost), asked: true, wantToken: true},
		{name: "global helper, github.com", gitconfig: gitGlobal, request: gitRequest("https", "github.com"), asked: true},
		{name: "global helper, allowed host over http", gitconfig: gitGlobal, request: gitRequest("http", allowedHost), asked: true},
		{name: "global helper, allowed host on another port", gitconfig: gitGlobal, request: gitRequest("https", allowedHost+":8443"), asked: true},
	}
	w := gitWorld(t, gitScoped)
	w.ok([]string{passwordEnv}, "login")
	token := w.lastAccess()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.gitConfig(tt.gitconfig)
			calls := w.iamCalls()

			stdout, stderr, exit := w.git(gitBin, tt.request, "credential", "fill")

			if asked := strings.Contains(stderr, "credential-gcore get"); asked != tt.asked {
				t.Errorf("git ran the helper: %t, want %t\nstderr:\n%s", asked, tt.asked, stderr)
			}
			if got := w.iamCalls() - calls; got != 0 {
				t.Errorf("%d IAM calls, want 0: the session is fresh", got)
			}
			if !tt.wantToken {
				if strings.Contains(stdout+stderr, token) {
					t.Errorf("git got the Gcore token:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
				if exit == 0 || !strings.Contains(stderr, "terminal prompts disabled") {
					t.Errorf("git exited %d, want git's own failure to prompt\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
				}
				return
			}
			if exit != 0 {
				t.Fatalf("git credential fill exited %d\nstderr:\n%s", exit, stderr)
			}
			want := strings.TrimSuffix(tt.request, "\n") + "username=" + email + "\npassword=" + token + "\n"
			if diff := cmp.Diff(want, stdout); diff != "" {
				t.Errorf("git credential fill (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGitCredentialReject guards the reference's token engine "Invalidation" and git protocol (erase marks the token
// rejected), issue #3 "git": after the real `git credential reject` for the token it was
// given, the next fill returns a new token, made with exactly one refresh and no login; a
// reject of a token that is no longer current changes nothing.
func TestGitCredentialReject(t *testing.T) {
	gitBin := needTool(t, "git")
	w := gitWorld(t, gitScoped)
	w.ok([]string{passwordEnv}, "login")
	rejected := w.lastAccess()
	request := gitRequest("https", allowedHost)

	filled, stderr, exit := w.git(gitBin, request, "credential", "fill")
	if exit != 0 || !strings.Contains(filled, "password="+rejected+"\n") {
		t.Fatalf("fill before reject exited %d without the session's token\nstdout:\n%s\nstderr:\n%s", exit, filled, stderr)
	}
	refreshes, logins := w.iam.Calls(fakeiam.Refresh), w.iam.Calls(fakeiam.Login)

	if _, stderr, exit := w.git(gitBin, filled+"\n", "credential", "reject"); exit != 0 {
		t.Fatalf("git credential reject exited %d\nstderr:\n%s", exit, stderr)
	}
	stdout, stderr, exit := w.git(gitBin, request, "credential", "fill")

	if exit != 0 {
		t.Fatalf("fill after reject exited %d\nstderr:\n%s", exit, stderr)
	}
	renewed := w.lastAccess()
	if renewed == rejected || !strings.Contains(stdout, "password="+renewed+"\n") {
		t.Errorf("fill after reject did not print a renewed token\nstdout:\n%s", stdout)
	}
	if got := w.iam.Calls(fakeiam.Refresh) - refreshes; got != 1 {
		t.Errorf("%d refresh calls after reject, want 1", got)
	}
	if got := w.iam.Calls(fakeiam.Login) - logins; got != 0 {
		t.Errorf("%d login calls after reject, want 0", got)
	}

	// A late reject of the old token (another git, still holding it) leaves the new one alone.
	refreshes = w.iam.Calls(fakeiam.Refresh)
	if _, stderr, exit := w.git(gitBin, filled+"\n", "credential", "reject"); exit != 0 {
		t.Fatalf("second git credential reject exited %d\nstderr:\n%s", exit, stderr)
	}
	if stdout, _, _ := w.git(gitBin, request, "credential", "fill"); !strings.Contains(stdout, "password="+renewed+"\n") {
		t.Errorf("after a reject of the old token, fill did not print the current one\nstdout:\n%s", stdout)
	}
	if got := w.iam.Calls(fakeiam.Refresh) - refreshes; got != 0 {
		t.Errorf("%d refresh calls after a reject of the old token, want 0", got)
	}
}

// TestGitCredentialQuit guards the reference's prompts and git protocol ("login needed but not allowed: quit=1"), issue
// #3 "git": with no session and no way to log in, the helper tells the real git to stop, so git
// neither prompts nor asks other helpers, and our login-required line reaches git's stderr.
func TestGitCredentialQuit(t *testing.T) {
	gitBin := needTool(t, "git")
	w := gitWorld(t, gitScoped)

	stdout, stderr, exit := w.git(gitBin, gitRequest("https", allowedHost), "credential", "fill")

	if exit == 0 {
		t.Fatalf("git credential fill succeeded with no session:\n%s", stdout)
	}
	for _, want := range []string{
		"told us to quit",
		`gcore-credential-helper: error: login required for profile "default"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("git's stderr does not contain %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "terminal prompts disabled") {
		t.Errorf("git went on to prompt after quit=1:\n%s", stderr)
	}
	if got := w.iamCalls(); got != 0 {
		t.Errorf("%d IAM calls, want 0", got)
	}
}

// TestGitPersona guards the reference's commands (personas) and git protocol (both answer forms, capability), issue #3
// "git": git-credential-gcore, run as git runs it, answers a request that advertises
// capability[]=authtype with a Bearer credential and a plain request with username and
// password, both with password_expiry_utc = exp − min_ttl, and lists its capabilities.
func TestGitPersona(t *testing.T) {
	w := gitWorld(t, gitScoped)
	persona := w.persona("git-credential-gcore")
	w.ok([]string{passwordEnv}, "login")
	token := w.lastAccess()
	expiry := "password_expiry_utc=" + strconv.FormatInt(jwtExp(t, token).Add(-5*time.Minute).Unix(), 10)
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string // stdout lines, in any order
	}{
		{
			name:  "get, authtype",
			args:  []string{"get"},
			stdin: "capability[]=authtype\nprotocol=https\nhost=" + allowedHost + "\n\n",
			want:  []string{"capability[]=authtype", "authtype=Bearer", "credential=" + token, "ephemeral=1", expiry},
		},
		{
			name:  "get, plain",
			args:  []string{"get"},
			stdin: gitRequest("https", allowedHost),
			want:  []string{"username=" + email, "password=" + token, expiry},
		},
		{
			name:  "get, authtype, foreign host",
			args:  []string{"get"},
			stdin: "capability[]=authtype\nprotocol=https\nhost=github.com\n\n",
		},
		{
			name: "capability",
			args: []string{"capability"},
			want: []string{"version 0", "capability authtype"},
		},
		{
			name:  "store is a no-op",
			args:  []string{"store"},
			stdin: gitRequest("https", allowedHost) + "username=someone\npassword=something\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := w.client(nil, tt.stdin, persona, tt.args...)
			checkExit(t, res, 0)
			got := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
			if res.Stdout == "" {
				got = nil
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stdout lines (-want +got):\n%s", diff)
			}
		})
	}
	if got := w.token(nil); got != token {
		t.Error("after the persona's store, get prints another token than the session's")
	}
}
