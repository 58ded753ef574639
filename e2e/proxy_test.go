package e2e

import (
	"bufio"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// tunnelProxy is an http proxy that answers CONNECT by tunnelling to one
// fixed address, whatever host the client names, and records what it was
// asked for.
type tunnelProxy struct {
	addr     string
	mu       sync.Mutex
	connects []string
}

func startTunnelProxy(t *testing.T, to string) *tunnelProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &tunnelProxy{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c, to)
		}
	}()
	return p
}

func (p *tunnelProxy) serve(c net.Conn, to string) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.connects = append(p.connects, req.Method+" "+req.RequestURI)
	p.mu.Unlock()
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() { _, _ = io.Copy(up, br) }()
	_, _ = io.Copy(c, up)
}

func (p *tunnelProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}

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
	proxy := startTunnelProxy(t, srv.Listener.Addr().String())
	w.url = "https://example.com"
	w.configure()
	env := []string{passwordEnv, "SSL_CERT_FILE=" + trust, "HTTPS_PROXY=http://" + proxy.addr}

	res := w.run(env, "login")
	checkExit(t, res, 0)
	if n := w.iam.Calls(fakeiam.Login); n != 1 {
		t.Errorf("the fake saw %d logins, want 1", n)
	}
	connects := proxy.seen()
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
	res = w.run([]string{passwordEnv, "HTTPS_PROXY=http://" + proxy.addr}, "login")
	checkExit(t, res, 1)
	if !strings.Contains(res.Stderr, "is not trusted") {
		t.Errorf("stderr does not say the certificate is not trusted:\n%s", res.Stderr)
	}
}
