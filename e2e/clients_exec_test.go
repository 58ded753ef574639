//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// TestExecExitStatus guards the reference's commands (`exec` exits with CMD's status), issue #3 "exec": the
// helper's status is the command's, and a shell sees 128+N when signal N killed it (on Unix
// exec replaces the helper with the command, so the kill is the shell's own to report).
func TestExecExitStatus(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	tests := []struct {
		script string
		want   int
	}{
		{script: "exit 0", want: 0},
		{script: "exit 1", want: 1},
		{script: "exit 7", want: 7},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			checkExit(t, w.run(nil, "exec", "--", "sh", "-c", tt.script), tt.want)
		})
	}
	t.Run("killed by SIGKILL, as a shell sees it", func(t *testing.T) {
		res := w.client(nil, "", "sh", "-c", `"$0" exec -- sh -c 'kill -KILL $$'; echo $?`, helperBin)
		if got, want := strings.TrimSpace(res.Stdout), strconv.Itoa(128+int(syscall.SIGKILL)); got != want {
			t.Errorf("the shell saw status %s, want %s\nstderr:\n%s", got, want, res.Stderr)
		}
	})
}

// TestExecEnvironment guards the reference's export format (`exec` sets the export variables and
// GCORE_CREDENTIAL_HELPER_PROFILE), issue #3 "exec": the child reads the session's token and
// the profile's name from its environment.
func TestExecEnvironment(t *testing.T) {
	w := newWorld(t)
	w.writeConfig(w.profile("default", email), w.profile("ops", email))
	w.ok([]string{passwordEnv}, "login", "--profile", "ops")
	token := w.lastAccess()

	out := w.ok(nil, "exec", "--profile", "ops", "--", "sh", "-c",
		`printf '%s\n%s\n' "$GCORE_ACCESS_TOKEN" "$GCORE_CREDENTIAL_HELPER_PROFILE"`)

	if want := token + "\nops\n"; out != want {
		t.Errorf("the child printed %q, want the ops session's token and %q", out, "ops")
	}
}

// TestExecRefusesToNest guards the reference's export format ("exec … refuses to nest"), issue #3 "exec": an exec
// inside an exec fails without running its command, and the outer one passes that failure on.
func TestExecRefusesToNest(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")

	res := w.run(nil, "exec", "--", helperBin, "exec", "--", "sh", "-c", "echo inner command ran")

	checkExit(t, res, 1)
	if strings.Contains(res.Stdout, "inner command ran") {
		t.Error("the nested exec ran its command")
	}
	if !strings.Contains(res.Stderr, "gcore-credential-helper: error: ") || !strings.Contains(res.Stderr, "nest") {
		t.Errorf("stderr does not say that exec refuses to nest:\n%s", res.Stderr)
	}
}

// TestExecForwardsSIGTERM guards the reference's commands (`exec` forwards signals) and security rules (no secret in argv),
// issue #3 "exec": a SIGTERM sent to the helper's pid reaches the command, whose trap decides the
// exit status; while it runs, the token is in the command's environment and not on its command
// line. (On Unix the command replaces the helper in the same process.)
func TestExecForwardsSIGTERM(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	token := w.lastAccess()
	ready := filepath.Join(t.TempDir(), "ready")
	// The trap is set before the child says it is ready; `sleep` is short so the trap runs soon
	// after the signal, which sh handles between commands.
	script := `trap 'exit 42' TERM; echo "$$ $PPID" > "$1.tmp" && mv "$1.tmp" "$1"; while :; do sleep 0.1; done`

	bg := w.start(t.Context(), nil, "exec", "--", "sh", "-c", script, "sh", ready)
	child, _ := waitForPids(t, ready, bg)

	if cmdline := procFile(t, child, "cmdline"); strings.Contains(cmdline, token) {
		t.Errorf("the token is in the command line of %d: %q", child, cmdline)
	}
	if environ := procFile(t, child, "environ"); !strings.Contains(environ, "\x00GCORE_ACCESS_TOKEN="+token+"\x00") {
		t.Error("the token is not GCORE_ACCESS_TOKEN in the child's environment")
	}

	if err := syscall.Kill(child, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-bg:
		checkExit(t, res, 42)
	case <-time.After(waitLimit):
		t.Fatalf("the helper did not exit within %v of SIGTERM", waitLimit)
	}
}

// TestExecCtrlCReachesTheChildOnce guards the reference's commands (`exec` forwards signals), issue #3 "exec":
// a Ctrl-C at the terminal signals the whole foreground process group, the helper and its child
// alike, so the child already has it; the helper must not deliver it a second time. Programs
// count interrupts: Terraform's second one means "exit immediately, data loss may have
// occurred". Two signals close together can merge in the kernel, so one trial may miss a
// duplicate; several make a miss unlikely, and a helper that never duplicates always passes.
func TestExecCtrlCReachesTheChildOnce(t *testing.T) {
	const trials = 5
	needTool(t, "bash")
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	// bash runs a trap as soon as `wait` is interrupted, so each delivery counts; after the
	// first, the child waits a while for a second, then prints how many it got.
	script := `n=0; trap 'n=$((n+1))' INT; echo "$$ $PPID" > "$1.tmp" && mv "$1.tmp" "$1"
while [ "$n" -eq 0 ]; do sleep 0.05 & wait $!; done
sleep 0.5 & wait $!
echo "$n"`
	for i := range trials {
		ready := filepath.Join(t.TempDir(), "ready")
		bg := w.start(t.Context(), nil, "exec", "--", "bash", "-c", script, "bash", ready)
		child, _ := waitForPids(t, ready, bg)
		// The harness made the helper a process group leader, as a shell does for a job; the
		// command runs in that group (on Unix, in the helper's own process).
		pgid, err := syscall.Getpgid(child)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		var res harness.Result
		select {
		case res = <-bg:
		case <-time.After(waitLimit):
			t.Fatalf("trial %d: the helper did not exit within %v of SIGINT", i, waitLimit)
		}
		checkExit(t, res, 0)
		if got := strings.TrimSpace(res.Stdout); got != "1" {
			t.Fatalf("trial %d: one Ctrl-C reached the child %s times, want once", i, got)
		}
	}
}

// waitForPids waits for a child of exec to write its pid and its parent's (the helper's) to
// path, failing if the helper bg ends first or the wait exceeds waitLimit.
func waitForPids(t *testing.T, path string, bg <-chan harness.Result) (child, parent int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if b, err := os.ReadFile(path); err == nil {
			f := strings.Fields(string(b))
			if len(f) != 2 {
				t.Fatalf("the child wrote %q, want two pids", b)
			}
			child, err1 := strconv.Atoi(f[0])
			parent, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil {
				t.Fatalf("the child wrote %q, want two pids", b)
			}
			return child, parent
		}
		select {
		case res := <-bg:
			t.Fatalf("exec ended before its child was ready: exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child was not ready within %v", waitLimit)
		}
	}
}

// procFile reads /proc/<pid>/<name>, framed by NULs so whole entries can be matched.
func procFile(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), name))
	if err != nil {
		t.Fatal(err)
	}
	return "\x00" + string(b)
}
