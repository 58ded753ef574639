package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// liveAPIKeys asks the fake how many permanent API tokens are alive.
func (w *world) liveAPIKeys() int {
	w.t.Helper()
	resp, err := http.Get(w.url + "/_fake/stats")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st fakeiam.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		w.t.Fatal(err)
	}
	return st.LiveAPITokens
}

// TestAPIKeyStorm guards the reference's service credentials (minting is single-flight like refresh, at most one live key
// per profile and host, logout deletes it), issue #4 "done when" 1: 20 processes at once mint
// exactly one key; a renewal mints one and deletes the previous; logout deletes the last.
func TestAPIKeyStorm(t *testing.T) {
	const n = 20
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")

	results := harness.Runner{}.RunParallel(t.Context(), n, func(int) harness.Cmd {
		return w.cmd(nil, "export", "--api-key", "--format", "json")
	})
	keys := map[string]bool{}
	for i, res := range results {
		if err := res.Check(); err != nil {
			t.Fatalf("process %d: %v\nstderr:\n%s", i, err, res.Stderr)
		}
		var vars map[string]string
		if err := json.Unmarshal([]byte(res.Stdout), &vars); err != nil {
			t.Fatalf("process %d printed %q: %v", i, res.Stdout, err)
		}
		keys[vars["GCORE_API_KEY"]] = true
	}
	if len(keys) != 1 {
		t.Errorf("%d processes printed %d distinct keys, want 1", n, len(keys))
	}
	if got := w.iam.Calls(fakeiam.CreateToken); got != 1 {
		t.Errorf("%d processes minted %d keys, want exactly 1", n, got)
	}
	if got := w.liveAPIKeys(); got != 1 {
		t.Errorf("%d live keys, want 1", got)
	}

	// Issue #11 item 5: a key revoked outside the helper (deleted in the portal) is thrown
	// away by --refresh and a new one minted; deleting the dead one is no error.
	var old string
	for k := range keys {
		old = k
	}
	if !w.iam.DeleteAPIToken(old) {
		t.Fatal("the fake had no such key to delete")
	}
	if again := strings.TrimSpace(w.ok(nil, "get", "--api-key", "--format", "token")); again != old {
		t.Fatal("the key was replaced before anyone said it was refused")
	}
	renewed := strings.TrimSpace(w.ok(nil, "get", "--api-key", "--refresh", "--format", "token"))
	if renewed == old {
		t.Error("get --api-key --refresh handed out the revoked key again")
	}
	if got := w.iam.Calls(fakeiam.CreateToken); got != 2 {
		t.Errorf("%d mints after the refresh, want 2", got)
	}
	if got := w.liveAPIKeys(); got != 1 {
		t.Errorf("%d live keys after the refresh, want 1", got)
	}
	// And a forced renewal of a live key deletes the previous one.
	w.ok(nil, "get", "--api-key", "--refresh", "--format", "token")
	if got := w.liveAPIKeys(); got != 1 {
		t.Errorf("%d live keys after the renewal, want 1 (the previous one deleted)", got)
	}

	// The key works as an APIKey at IAM, and logout deletes it there.
	w.ok(nil, "exec", "--api-key", "--", "sh", "-c", `test -n "$GCORE_API_KEY"`)
	w.ok(nil, "logout", "--yes")
	if got := w.liveAPIKeys(); got != 0 {
		t.Errorf("%d live keys after logout, want 0", got)
	}
}
