package e2e

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// TestLoginThroughAProxy: behind a proxy that HTTPS_PROXY names, as many
// company networks are, the real binary reaches IAM through a CONNECT tunnel
// and verifies IAM's certificate end to end (issue #10: the IAM client's
// transport is no longer net/http, which did this before).
// httptest's certificate names example.com, and the proxy tunnels every
// CONNECT to the fake, so the helper is configured for https://example.com.
func TestLoginThroughAProxy(t *testing.T) {
	w := newWorld(t)
	srv := serveTLS(t, w)
	trust := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(trust, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := srv.Listener.Addr().String()
	proxy := harness.StartProxy(t, func(string) string { return fake }, 0)
	w.url = "https://example.com"
	w.configure()
	env := []string{passwordEnv, "SSL_CERT_FILE=" + trust, "HTTPS_PROXY=http://" + proxy.Addr}

	res := w.run(env, "login")
	checkExit(t, res, 0)
	if n := w.iam.Calls(fakeiam.Login); n != 1 {
		t.Errorf("the fake saw %d logins, want 1", n)
	}
	connects := proxy.Requests()
	if len(connects) == 0 {
		t.Error("the proxy was asked for nothing")
	}
	for _, c := range connects {
		if c != "CONNECT example.com:443" {
			t.Errorf("the proxy was asked for %q, want only CONNECT example.com:443", connects)
			break
		}
	}

	// Without SSL_CERT_FILE the certificate the tunnel leads to is not trusted.
	res = w.run([]string{passwordEnv, "HTTPS_PROXY=http://" + proxy.Addr}, "login")
	checkExit(t, res, 1)
	if !strings.Contains(res.Stderr, "is not trusted") {
		t.Errorf("stderr does not say the certificate is not trusted:\n%s", res.Stderr)
	}
}
