package e2e

import (
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-cmp/cmp"
)

// dockerProgram is one run of the docker persona as docker's client package drives it.
type dockerProgram struct{ cmd *exec.Cmd }

func (p dockerProgram) Output() ([]byte, error) { return p.cmd.Output() }
func (p dockerProgram) Input(in io.Reader)      { p.cmd.Stdin = in }

// dockerHelper links docker-credential-gcore into the sandbox and returns the ProgramFunc that
// runs it, as docker does, in the sandbox's environment: client.NewShellProgramFunc would hand
// it this test's own environment instead. Its stderr, where the helper says why it answered
// "not found", goes to the returned builder.
func (w *world) dockerHelper() (client.ProgramFunc, *strings.Builder) {
	bin := w.persona("docker-credential-gcore")
	stderr := &strings.Builder{}
	return func(args ...string) client.Program {
		cmd := exec.CommandContext(w.t.Context(), bin, args...)
		cmd.Env = w.sb.Env()
		cmd.Stderr = stderr
		// No controlling terminal, as for every child of the harness: nothing can prompt.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return dockerProgram{cmd}
	}, stderr
}

// TestDockerClientRoundTrip guards the reference's docker protocol (store, get, list, erase; the not-found sentinel)
// and commands (the docker-credential-gcore persona), issue #3 "docker": docker's own client package
// stores a registry login through the persona, reads it back, lists it and erases it, after
// which get is docker's "not found" again.
func TestDockerClientRoundTrip(t *testing.T) {
	w := newWorld(t)
	w.configure(allowHosts)
	program, stderr := w.dockerHelper()
	stored := &credentials.Credentials{
		ServerURL: "https://registry.example.com:5000",
		Username:  "robot",
		Secret:    "e2e-registry-secret-not-a-secret",
	}

	if err := client.Store(program, stored); err != nil {
		t.Fatalf("store: %v\nstderr:\n%s", err, stderr)
	}
	got, err := client.Get(program, stored.ServerURL)
	if err != nil {
		t.Fatalf("get: %v\nstderr:\n%s", err, stderr)
	}
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Errorf("get after store (-want +got):\n%s", diff)
	}
	list, err := client.List(program)
	if err != nil {
		t.Fatalf("list: %v\nstderr:\n%s", err, stderr)
	}
	if len(list) != 1 || (list[stored.ServerURL] != "robot" && list["registry.example.com:5000"] != "robot") {
		t.Errorf("list = %v, want the one stored registry (by URL or host) with user robot", list)
	}
	// docker reads every credential by asking get for each key that list gave.
	for key, user := range list {
		if got, err := client.Get(program, key); err != nil || got.Username != user || got.Secret != stored.Secret {
			t.Errorf("get of listed key %q: %+v, %v; want user %q and the stored secret", key, got, err, user)
		}
	}
	if err := client.Erase(program, stored.ServerURL); err != nil {
		t.Fatalf("erase: %v\nstderr:\n%s", err, stderr)
	}
	if _, err := client.Get(program, stored.ServerURL); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("get after erase: %v, want docker's credentials-not-found", err)
	}
	if list, err := client.List(program); err != nil || len(list) != 0 {
		t.Errorf("list after erase = %v, %v; want empty", list, err)
	}
	if got := w.iamCalls(); got != 0 {
		t.Errorf("%d IAM calls for stored credentials, want 0", got)
	}
}

// TestDockerClientGet guards the reference's docker protocol (get answers with the Gcore token for an allowed host,
// a stored credential first, never prompts) and security rules (nothing for other hosts), issue #3
// "docker": what docker's client package reads for each kind of host, with and without a
// session.
func TestDockerClientGet(t *testing.T) {
	const otherHost = "ghcr.io"
	w := newWorld(t)
	w.configure(allowHosts)
	program, stderr := w.dockerHelper()
	notFound := func(t *testing.T, serverURL string) {
		t.Helper()
		got, err := client.Get(program, serverURL)
		if !credentials.IsErrCredentialsNotFound(err) {
			t.Errorf("get %s = %+v, %v; want docker's credentials-not-found\nstderr:\n%s", serverURL, got, err, stderr)
		}
	}

	t.Run("no session", func(t *testing.T) {
		notFound(t, "https://"+allowedHost)
		notFound(t, otherHost)
		if got := w.iamCalls(); got != 0 {
			t.Errorf("%d IAM calls, want 0", got)
		}
	})

	w.ok([]string{passwordEnv}, "login")
	token := w.lastAccess()

	t.Run("allowed host", func(t *testing.T) {
		for _, url := range []string{allowedHost, "https://" + allowedHost, "https://" + allowedHost + "/v2/"} {
			got, err := client.Get(program, url)
			if err != nil {
				t.Fatalf("get %s: %v\nstderr:\n%s", url, err, stderr)
			}
			if got.Username != email || got.Secret != token {
				t.Errorf("get %s: username %q, secret is the session's token %t; want %q, true", url, got.Username, got.Secret == token, email)
			}
		}
	})

	t.Run("other host", func(t *testing.T) {
		notFound(t, otherHost)
		notFound(t, "https://"+otherHost+"/v2/")
	})

	t.Run("stored credential wins", func(t *testing.T) {
		mine := &credentials.Credentials{ServerURL: "https://" + allowedHost, Username: "deploy", Secret: "e2e-deploy-secret-not-a-secret"}
		if err := client.Store(program, mine); err != nil {
			t.Fatalf("store: %v\nstderr:\n%s", err, stderr)
		}
		got, err := client.Get(program, mine.ServerURL)
		if err != nil {
			t.Fatalf("get: %v\nstderr:\n%s", err, stderr)
		}
		if diff := cmp.Diff(mine, got); diff != "" {
			t.Errorf("get of a host with a stored credential (-want +got):\n%s", diff)
		}
		if err := client.Erase(program, mine.ServerURL); err != nil {
			t.Fatalf("erase: %v\nstderr:\n%s", err, stderr)
		}
		if got, err := client.Get(program, mine.ServerURL); err != nil || got.Secret != token {
			t.Errorf("get after erasing the stored credential: error %v, secret is the session's token %t; want it", err, err == nil && got.Secret == token)
		}
	})

	if strings.Contains(stderr.String(), token) {
		t.Error("the docker persona wrote the token on stderr")
	}
}
