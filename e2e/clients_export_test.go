package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// hostileAPIToken is an api token as unkind to shells as a token can be (the reference's export format names `$`,
// `'`, `"` and `\`), plus a command substitution that must stay text. The fake IAM mints only
// "<id>_<hex>" tokens, so a middleware presents it to the fake as a real one.
const hostileAPIToken = `42$e2e'single"double\back` + "`echo backtick`" + `$(echo pwned)${HOME}\'`

// shell is one real shell that can take the helper's export output.
type shell struct {
	name string
	// args run the helper's export in the shell, then envDumper, which records the
	// environment the shell's children inherit.
	args []string
}

const envDumper = "gcore-e2e-dump-env"

func shells() []shell {
	evalSh := `eval "$(gcore-credential-helper export)" && ` + envDumper
	return []shell{
		{name: "sh", args: []string{"-c", evalSh}},
		{name: "bash", args: []string{"-c", evalSh}},
		{name: "fish", args: []string{"-c", "gcore-credential-helper export --format fish | source; and " + envDumper}},
		{name: "pwsh", args: []string{"-NoProfile", "-NonInteractive", "-Command",
			"$ErrorActionPreference = 'Stop'; gcore-credential-helper export --format pwsh | Out-String | Invoke-Expression; " + envDumper}},
	}
}

// evalExport runs the helper's export for sh in the real shell sh and returns the environment
// that the shell's children see: what a Gcore tool started from it would read.
func (w *world) evalExport(sh shell, bin string) map[string]string {
	w.t.Helper()
	w.persona("gcore-credential-helper")
	dump := filepath.Join(w.t.TempDir(), "env")
	script := "#!/bin/sh\nexec env -0 > \"$GCORE_E2E_DUMP\"\n"
	if err := os.WriteFile(filepath.Join(w.sb.Bin, envDumper), []byte(script), 0o700); err != nil {
		w.t.Fatal(err)
	}
	res := w.client([]string{"GCORE_E2E_DUMP=" + dump}, "", bin, sh.args...)
	checkExit(w.t, res, 0)
	w.noRefreshToken(sh.name+" output", res.Stdout+res.Stderr)
	raw, err := os.ReadFile(dump)
	if err != nil {
		w.t.Fatalf("%s did not run %s: %v", sh.name, envDumper, err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// exportWorld is a world whose default profile is logged in, either with a JWT session or as an
// api-token profile holding hostileAPIToken, and the GCORE_* variables export must give for it.
func exportWorld(t *testing.T, apiToken bool) (*world, map[string]string) {
	var real atomic.Pointer[string]
	present := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if tok := real.Load(); tok != nil && r.Header.Get("Authorization") == "APIKey "+hostileAPIToken {
				r.Header.Set("Authorization", "APIKey "+*tok)
			}
			next.ServeHTTP(rw, r)
		})
	}
	w := newWorld(t, present)
	if !apiToken {
		w.configure()
		w.ok([]string{passwordEnv}, "login")
		access := w.lastAccess()
		return w, map[string]string{
			"GCORE_ACCESS_TOKEN":     access,
			"GCORE_CUSTOM_HEADERS":   "Authorization: Bearer " + access,
			"GCORE_TOKEN_EXPIRES_AT": jwtExp(t, access).UTC().Format(time.RFC3339),
			"GCORE_BASE_URL":         w.url,
		}
	}
	tok := w.iam.AddAPIToken(firstAccount, "e2e", nil)
	real.Store(&tok)
	w.configure(`auth = "api-token"`)
	w.ok([]string{"GCORE_API_TOKEN=" + hostileAPIToken}, "login")
	return w, map[string]string{
		"GCORE_API_KEY":         hostileAPIToken,
		"GCORE_PERMANENT_TOKEN": hostileAPIToken,
		"GCORE_BASE_URL":        w.url,
	}
}

// TestExportThroughShells guards the reference's export format (the variables for each profile kind, quoting for
// each shell, never the refresh token), issue #3 "export": eval'd by the real shell, the
// helper's export leaves exactly the credential's values in the environment of the shell's
// children, for a JWT session and for an api token full of shell metacharacters.
func TestExportThroughShells(t *testing.T) {
	for _, sh := range shells() {
		t.Run(sh.name, func(t *testing.T) {
			bin := needTool(t, sh.name)
			for _, kind := range []struct {
				name     string
				apiToken bool
			}{{"jwt", false}, {"api-token", true}} {
				t.Run(kind.name, func(t *testing.T) {
					w, want := exportWorld(t, kind.apiToken)
					env := w.evalExport(sh, bin)
					got := map[string]string{}
					for k := range want {
						if v, ok := env[k]; ok {
							got[k] = v
						}
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("environment after eval in %s (-want +got):\n%s", sh.name, diff)
					}
				})
			}
		})
	}
}

// TestExportFormats guards the reference's export format "never the refresh token" and the json format, issue #3
// "export": every format names every variable of the profile's kind, none carries a refresh
// token, and json holds exactly the values.
func TestExportFormats(t *testing.T) {
	for _, kind := range []struct {
		name     string
		apiToken bool
	}{{"jwt", false}, {"api-token", true}} {
		t.Run(kind.name, func(t *testing.T) {
			w, want := exportWorld(t, kind.apiToken)
			for _, format := range []string{"sh", "fish", "pwsh", "dotenv", "json"} {
				out := w.ok(nil, "export", "--format", format)
				w.noRefreshToken("export --format "+format, out)
				for name := range want {
					if !strings.Contains(out, name) {
						t.Errorf("export --format %s has no %s:\n%s", format, name, out)
					}
				}
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(w.ok(nil, "export", "--format", "json")), &got); err != nil {
				t.Fatalf("export --format json: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("export --format json (-want +got):\n%s", diff)
			}
		})
	}
}
