//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// TestHygieneAPIKeys guards the reference's security rules (no secret in logs, error messages or status: a
// fingerprint instead) and service credentials (short-lived API keys), issue #5 item 5: with tracing on, minted
// API keys and an api-token profile's token reach stdout only as the answer of get and export,
// never stderr, status, an error message or the command line of exec's command; status shows
// fingerprints instead.
func TestHygieneAPIKeys(t *testing.T) {
	const wrongToken = "4242_e2e-wrong-api-token-not-a-secret"
	w := newWorld(t)
	apiToken := w.iam.AddAPIToken(firstAccount, "e2e", nil)
	w.writeConfig(w.profile("default", email), w.profile("tok", email, `auth = "api-token"`))
	w.ok([]string{passwordEnv}, "login")
	session := helper.Fingerprint(w.lastAccess())
	type step struct {
		name        string
		before      func()
		env         []string
		args        []string
		exit        int
		answer      bool   // stdout is the credential
		fingerprint string // must be on stdout
	}
	steps := []step{
		{name: "get --api-key", args: []string{"get", "--api-key", "--format", "token"}, answer: true},
		{name: "get --api-key json", args: []string{"get", "--api-key"}, answer: true},
		{name: "export --api-key", args: []string{"export", "--api-key"}, answer: true},
		{name: "exec --api-key, the command's argv", args: []string{"exec", "--api-key", "--", "sh", "-c", `tr '\0' ' ' < /proc/$$/cmdline`}},
		{name: "status", args: []string{"status"}, fingerprint: session},
		{name: "status --json", args: []string{"status", "--json"}, fingerprint: session},
		{
			name:   "minting refused",
			before: func() { w.iam.Inject(fakeiam.CreateToken, fakeiam.Fault{Status: 403, Times: 1}) },
			args:   []string{"get", "--api-key", "--refresh"},
			exit:   1,
		},
		{name: "api-token login", env: []string{"GCORE_API_TOKEN=" + apiToken}, args: []string{"login", "--profile", "tok"}},
		{name: "api-token get", args: []string{"get", "--profile", "tok", "--format", "token"}, answer: true},
		{name: "api-token export", args: []string{"export", "--profile", "tok"}, answer: true},
		{name: "api-token status", args: []string{"status", "--profile", "tok"}, fingerprint: helper.Fingerprint(apiToken)},
		{name: "api-token status --json", args: []string{"status", "--profile", "tok", "--json"}, fingerprint: helper.Fingerprint(apiToken)},
		{name: "api-token login, token rejected", env: []string{"GCORE_API_TOKEN=" + wrongToken}, args: []string{"login", "--profile", "tok"}, exit: 1},
	}
	results := make([]harness.Result, len(steps))
	for i, s := range steps {
		if s.before != nil {
			s.before()
		}
		results[i] = w.run(append([]string{"GCORE_HELPER_DEBUG=1"}, s.env...), s.args...)
		if results[i].ExitCode != s.exit {
			t.Fatalf("%s: exit %d, want %d\nstderr:\n%s", s.name, results[i].ExitCode, s.exit, results[i].Stderr)
		}
	}

	minted := strings.TrimSpace(results[0].Stdout)
	if apiKeySecret(minted) == "" {
		t.Fatalf("get --api-key printed %q, want an API key", minted)
	}
	keys := map[string]string{"minted API key": apiKeySecret(minted), "api token": apiKeySecret(apiToken), "rejected api token": apiKeySecret(wrongToken)}
	traced := false
	for i, s := range steps {
		res := results[i]
		traced = traced || strings.Contains(res.Stderr, "debug:")
		checkNoSecrets(t, s.name+": stderr", res.Stderr, keys)
		checkNoSecrets(t, s.name+": stderr", res.Stderr, w.secrets())
		if !s.answer {
			checkNoSecrets(t, s.name+": stdout", res.Stdout, keys)
			checkNoSecrets(t, s.name+": stdout", res.Stdout, w.secrets())
		}
		if !strings.Contains(res.Stdout, s.fingerprint) {
			t.Errorf("%s does not show the fingerprint %s:\n%s", s.name, s.fingerprint, res.Stdout)
		}
	}
	// The searches must be able to find what they look for.
	printed := results[slices.IndexFunc(steps, func(s step) bool { return s.name == "api-token get" })].Stdout
	if !traced || !strings.Contains(printed, apiKeySecret(apiToken)) {
		t.Error("no trace on stderr, or get --profile tok did not print the api token: the searches prove nothing")
	}
}

// nobody is the uid and gid the helper runs as in these tests when they run as root.
const nobody = 65534

// unprivileged runs w's helper as an ordinary user, with a pid the test can inspect: uid 65534
// when the test runs as root, which may read every process's /proc files and so would not see
// what the helper's hardening changes; otherwise the test's own user.
type unprivileged struct {
	w    *world
	bin  string
	root string              // the sandbox's root, given to nobody before every run; "" for the own user
	cred *syscall.Credential // nil for the test's own user
}

// newUnprivileged prepares w for runs as an ordinary user. As root, that gives w a sandbox of
// nobody's own, with a copy of the helper: t.TempDir and TestMain's build directory are root's
// alone.
func newUnprivileged(t *testing.T, w *world) *unprivileged {
	t.Helper()
	u := &unprivileged{w: w, bin: helperBin}
	if os.Geteuid() != 0 {
		return u
	}
	root, err := os.MkdirTemp("", "gcore-hygiene-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	sb, err := harness.NewSandbox(root)
	if err != nil {
		t.Fatal(err)
	}
	u.bin = filepath.Join(sb.Bin, filepath.Base(helperBin))
	if err := harness.CopyExecutable(helperBin, u.bin); err != nil {
		t.Fatal(err)
	}
	w.sb, u.root, u.cred = sb, root, &syscall.Credential{Uid: nobody, Gid: nobody}
	// The store's key is in nobody's kernel keyring, where newWorld's cleanup does not look.
	t.Cleanup(func() {
		if res := u.run(t, nil, "", "lock"); res.ExitCode != 0 {
			t.Errorf("lock as uid %d: exit %d\nstderr:\n%s", nobody, res.ExitCode, res.Stderr)
		}
	})
	return u
}

// command is the helper invoked with args as u's user, in the sandbox's environment plus env.
// Files the test wrote there as root (the config) are handed to nobody first.
func (u *unprivileged) command(t *testing.T, ctx context.Context, env []string, stdin string, args ...string) *exec.Cmd {
	t.Helper()
	if u.root != "" {
		err := filepath.WalkDir(u.root, func(path string, _ os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, nobody, nobody)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(ctx, u.bin, args...)
	cmd.Env = u.w.sb.Env(env...)
	cmd.Dir = u.w.sb.Home
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: u.cred}
	return cmd
}

// result is what cmd did, once it has been waited for with err.
func result(cmd *exec.Cmd, stdout, stderr *bytes.Buffer, err error) harness.Result {
	res := harness.Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		res.Err = err
	}
	return res
}

// run runs the helper to completion. It does not use t.Context, which is gone by cleanup time.
func (u *unprivileged) run(t *testing.T, env []string, stdin string, args ...string) harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	cmd := u.command(t, ctx, env, stdin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return result(cmd, &stdout, &stderr, cmd.Run())
}

// ok runs the helper and fails the test unless it exits 0.
func (u *unprivileged) ok(t *testing.T, env []string, args ...string) {
	t.Helper()
	if res := u.run(t, env, "", args...); res.ExitCode != 0 {
		t.Fatalf("%s: exit %d (%v)\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, res.Err, res.Stderr)
	}
}

// blocked is a helper running in the background until stop.
type blocked struct {
	pid    int
	cancel context.CancelFunc
	exited chan struct{} // closed once the process is reaped
	res    harness.Result
}

// stop kills the helper, if it still runs, and returns what it did.
func (b *blocked) stop() harness.Result {
	b.cancel()
	<-b.exited
	return b.res
}

// startBlocked starts the helper and waits until it has called IAM, which the test makes hang.
func (u *unprivileged) startBlocked(t *testing.T, env []string, stdin string, args ...string) *blocked {
	t.Helper()
	before := u.w.iamCalls()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := u.command(t, ctx, env, stdin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	b := &blocked{pid: cmd.Process.Pid, cancel: cancel, exited: make(chan struct{})}
	go func() {
		b.res = result(cmd, &stdout, &stderr, cmd.Wait())
		close(b.exited)
	}()
	t.Cleanup(func() { b.stop() })
	deadline := time.Now().Add(waitLimit)
	for u.w.iamCalls() == before {
		select {
		case <-b.exited:
			t.Fatalf("%s ended before calling IAM: exit %d\nstderr:\n%s", strings.Join(args, " "), b.res.ExitCode, b.res.Stderr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not call IAM within %v", strings.Join(args, " "), waitLimit)
		}
	}
	return b
}

// TestHygieneBlockedHelper guards the reference's prompts and security rules (no secret in argv) and issue #5 item 5 (core
// dumps): while a helper waits on a hung IAM in the middle of a login or a refresh, through
// every command that may need one, it is non-dumpable (the kernel then gives its /proc files
// to root, writes no core file of it and shows its environment, which holds the password, to
// no other process of the user), and neither its command line nor any child's holds a secret.
func TestHygieneBlockedHelper(t *testing.T) {
	tests := []struct {
		name  string
		stale bool             // log in first, so that the access token needs a refresh
		at    fakeiam.Endpoint // where the helper blocks
		stdin string
		args  []string
	}{
		{name: "get, mid-login", at: fakeiam.Login, args: []string{"get"}},
		{name: "login, mid-login", at: fakeiam.Login, args: []string{"login"}},
		{name: "kube, mid-login", at: fakeiam.Login, args: []string{"kube"}},
		{name: "export, mid-login", at: fakeiam.Login, args: []string{"export"}},
		{name: "exec, mid-login", at: fakeiam.Login, args: []string{"exec", "--", "true"}},
		{name: "git get, mid-login", at: fakeiam.Login, stdin: "protocol=https\nhost=git.example.com\n\n", args: []string{"git", "get"}},
		{name: "docker get, mid-login", at: fakeiam.Login, stdin: "registry.example.com", args: []string{"docker", "get"}},
		{name: "get, mid-refresh", stale: true, at: fakeiam.Refresh, args: []string{"get"}},
		{name: "exec, mid-refresh", stale: true, at: fakeiam.Refresh, args: []string{"exec", "--", "true"}},
	}
	w := newWorld(t)
	u := newUnprivileged(t, w)
	w.writeConfig(w.profile("default", otpEmail, `allowed_hosts = ["git.example.com", "registry.example.com"]`))
	env := []string{passwordEnv, otpEnv}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer w.iam.ClearFaults()
			u.ok(t, nil, "logout", "--yes")
			if tt.stale {
				w.offset.Store(int64(-staleLogin))
				u.ok(t, env, "login")
				w.offset.Store(0)
			}
			w.iam.Inject(tt.at, fakeiam.Fault{Hang: true})

			b := u.startBlocked(t, env, tt.stdin, tt.args...)

			proc := filepath.Join("/proc", strconv.Itoa(b.pid))
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(proc, "status"), &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != 0 {
				t.Errorf("%s/status is owned by uid %d, want root: the helper is dumpable", proc, st.Uid)
			}
			cat := exec.Command("cat", filepath.Join(proc, "environ"))
			cat.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
			if out, err := cat.Output(); err == nil || len(out) != 0 {
				t.Errorf("another process of the helper's user read %d bytes of its environment (err %v), want it refused", len(out), err)
			}
			for _, pid := range family(t, b.pid) {
				cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
				if err != nil {
					continue // it has exited
				}
				checkNoSecrets(t, fmt.Sprintf("the command line of %d (%q)", pid, cmdline), string(cmdline), w.secrets())
			}
			if res := b.stop(); res.ExitCode != -1 {
				t.Errorf("the helper was not blocked: exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
			}
		})
	}
}

// family is pid and all its descendants, found by their parent pid in /proc/*/stat.
func family(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	children := map[int][]int{}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // it has exited
		}
		// "pid (comm) state ppid …"; comm may hold anything, so read after its last ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		child, err1 := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		parent, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil {
			children[parent] = append(children[parent], child)
		}
	}
	all := []int{pid}
	for i := 0; i < len(all); i++ {
		all = append(all, children[all[i]]...)
	}
	return all
}

// TestHygieneExecChildIsOrdinary guards the reference's commands (`exec`) and issue #5 item 5: the helper's
// non-dumpable flag does not reach exec's command, which execve resets. The command's /proc
// files are its own user's, other processes of that user read its environment as usual, and
// its command line holds no secret.
func TestHygieneExecChildIsOrdinary(t *testing.T) {
	w := newWorld(t)
	u := newUnprivileged(t, w)
	w.configure()
	u.ok(t, []string{passwordEnv}, "login")
	script := `stat -c %u /proc/$$/status; id -u; cat /proc/$$/environ | tr '\0' '\n' | grep -c '^GCORE_ACCESS_TOKEN='; tr '\0' ' ' < /proc/$$/cmdline`

	res := u.run(t, nil, "", "exec", "--", "sh", "-c", script)

	checkExit(t, res, 0)
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("the command printed %q, want 4 lines\nstderr:\n%s", res.Stdout, res.Stderr)
	}
	if owner, uid := lines[0], lines[1]; owner != uid {
		t.Errorf("the command's /proc files are owned by uid %s, want its own uid %s: it is not dumpable", owner, uid)
	}
	if lines[2] != "1" {
		t.Errorf("a child of the command found GCORE_ACCESS_TOKEN %s times in the command's environment, want 1", lines[2])
	}
	checkNoSecrets(t, "the command line of exec's command", lines[3], w.secrets())
}
