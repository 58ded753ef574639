package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// allowedHost is the one host the client tests put in allowed_hosts (the reference's security rules).
const allowedHost = "git.example.com"

// allowHosts is the profile line that allows allowedHost.
const allowHosts = `allowed_hosts = ["` + allowedHost + `"]`

// needTool returns the path of the real client name, or skips the test: these tests are about
// the clients installed on this machine and mean nothing without them.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed here (%v): this test drives the real %s", name, err, name)
	}
	return path
}

// persona links name to the helper binary in the sandbox's Bin, first in the children's PATH,
// as install.sh does next to the binary (the reference's commands "Personas"), and returns the link's path.
func (w *world) persona(name string) string {
	w.t.Helper()
	link := filepath.Join(w.sb.Bin, name)
	if err := os.Symlink(helperBin, link); err != nil && !os.IsExist(err) {
		w.t.Fatal(err)
	}
	return link
}

// client runs the real program bin (a path, or a name in the harness's PATH) in the sandbox's
// environment plus env, with stdin.
func (w *world) client(env []string, stdin, bin string, args ...string) harness.Result {
	c := harness.Cmd{
		Name:  filepath.Base(bin) + " " + strings.Join(args, " "),
		Bin:   bin,
		Args:  args,
		Env:   w.sb.Env(env...),
		Stdin: stdin,
	}
	return harness.Runner{}.Run(w.t.Context(), c)
}

// noRefreshToken fails the test if any refresh token the fake issued appears in out (the reference's export format,
// security rules): callers get access tokens, never what renews them.
func (w *world) noRefreshToken(what, out string) {
	w.t.Helper()
	for _, p := range w.tokens() {
		if strings.Contains(out, p.Refresh) {
			w.t.Errorf("%s contains a refresh token:\n%s", what, out)
		}
	}
}

// jwtExp reads the exp claim of a JWT without verifying it, as the helper does (the reference's Gcore IAM calls).
func jwtExp(t *testing.T, jwt string) time.Time {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c struct{ Exp int64 }
	if err := json.Unmarshal(payload, &c); err != nil || c.Exp == 0 {
		t.Fatalf("JWT payload %s: no exp (%v)", payload, err)
	}
	return time.Unix(c.Exp, 0)
}
