package http1

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// direct is a Proxy that never proxies, so the tests do not depend on the
// environment they run in.
func direct(*url.URL) (*url.URL, error) { return nil, nil }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func trusting(srv *httptest.Server) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return &tls.Config{RootCAs: roots}
}

// seen is what a test server saw of a request.
type seen struct {
	method, uri, host, body string
	header                  http.Header
	contentLength           int64
	close                   bool
}

func recordingServer(t *testing.T, tlsServer bool, answer func(w http.ResponseWriter)) (*httptest.Server, func() seen) {
	var (
		mu  sync.Mutex
		got seen
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = seen{method: r.Method, uri: r.RequestURI, host: r.Host, body: string(body), header: r.Header, contentLength: r.ContentLength, close: r.Close}
		mu.Unlock()
		answer(w)
	})
	srv := httptest.NewUnstartedServer(h)
	if tlsServer {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, func() seen { mu.Lock(); defer mu.Unlock(); return got }
}

func TestDoSendsTheRequestAndReadsTheAnswer(t *testing.T) {
	for _, tlsServer := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[tlsServer]
		t.Run(name, func(t *testing.T) {
			srv, got := recordingServer(t, tlsServer, func(w http.ResponseWriter) {
				w.Header().Set("X-Request-Id", "req-1")
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, `{"ok":true}`)
			})
			c := &Client{Proxy: direct}
			if tlsServer {
				c.TLS = trusting(srv)
			}
			res, err := c.Do(context.Background(), &Request{
				Method: "POST",
				URL:    mustURL(t, srv.URL+"/iam/auth/jwt/login?x=1"),
				Header: []Field{{"Accept", "application/json"}, {"Authorization", "Bearer t"}},
				Body:   []byte(`{"username":"u"}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != 201 || string(res.Body) != `{"ok":true}` || res.Header.Get("X-Request-Id") != "req-1" {
				t.Errorf("answer %d %q %v", res.Status, res.Body, res.Header)
			}
			s := got()
			want := seen{method: "POST", uri: "/iam/auth/jwt/login?x=1", host: strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://"),
				body: `{"username":"u"}`, contentLength: 16, close: true}
			if s.method != want.method || s.uri != want.uri || s.host != want.host || s.body != want.body || s.contentLength != want.contentLength || !s.close {
				t.Errorf("server saw %+v, want %+v", s, want)
			}
			if s.header.Get("Authorization") != "Bearer t" || s.header.Get("Accept") != "application/json" {
				t.Errorf("server saw header %v", s.header)
			}
		})
	}
}

func TestDoWithoutBodySendsNoLength(t *testing.T) {
	srv, got := recordingServer(t, false, func(w http.ResponseWriter) { w.WriteHeader(204) })
	res, err := (&Client{Proxy: direct}).Do(context.Background(), &Request{Method: "GET", URL: mustURL(t, srv.URL+"/me")})
	if err != nil || res.Status != 204 {
		t.Fatalf("%v %v", res, err)
	}
	if s := got(); s.method != "GET" || s.contentLength != 0 || s.header.Get("Content-Length") != "" {
		t.Errorf("server saw %+v", s)
	}
}

func TestDoTLSVerification(t *testing.T) {
	srv, _ := recordingServer(t, true, func(w http.ResponseWriter) {})
	u := mustURL(t, srv.URL)
	_, err := (&Client{Proxy: direct}).Do(context.Background(), &Request{Method: "GET", URL: u})
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) {
		t.Errorf("untrusted certificate: error %v, want a *tls.CertificateVerificationError", err)
	}
	insecure := &Client{Proxy: direct, TLS: &tls.Config{InsecureSkipVerify: true}}
	if _, err := insecure.Do(context.Background(), &Request{Method: "GET", URL: u}); !errors.Is(err, ErrInsecureTLS) {
		t.Errorf("InsecureSkipVerify: error %v, want ErrInsecureTLS", err)
	}
}

func TestDoDialFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = (&Client{Proxy: direct}).Do(context.Background(), &Request{Method: "GET", URL: mustURL(t, "http://"+addr+"/")})
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("error %v, want a *net.OpError from dial", err)
	}
}

// silentServer accepts connections and never answers, until the test ends.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	return l.Addr().String()
}

// TestDoEndsWithTheContext: waiting for an answer (http) or for a TLS
// handshake (https), Do returns ctx's error when ctx ends.
func TestDoEndsWithTheContext(t *testing.T) {
	addr := silentServer(t)
	c := &Client{Proxy: direct}
	for _, scheme := range []string{"http", "https"} {
		req := &Request{Method: "GET", URL: mustURL(t, scheme+"://"+addr+"/")}

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		if _, err := c.Do(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s, deadline: error %v, want context.DeadlineExceeded", scheme, err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s, deadline of 200ms: Do returned after %s", scheme, d)
		}
		cancel()

		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		if _, err := c.Do(ctx, req); !errors.Is(err, context.Canceled) {
			t.Errorf("%s, cancel: error %v, want context.Canceled", scheme, err)
		}
	}
}

func TestDoRefusesWhatBreaksFraming(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:1/")
	for name, req := range map[string]*Request{
		"line break in a value":  {Method: "GET", URL: u, Header: []Field{{"Authorization", "Bearer a\r\nX-Evil: 1"}}},
		"colon in a name":        {Method: "GET", URL: u, Header: []Field{{"X:Y", "v"}}},
		"Host set by the caller": {Method: "GET", URL: u, Header: []Field{{"host", "elsewhere"}}},
		"space in the method":    {Method: "GET /x", URL: u},
		"ftp":                    {Method: "GET", URL: mustURL(t, "ftp://example.com/")},
	} {
		if _, err := (&Client{Proxy: direct}).Do(context.Background(), req); err == nil || strings.Contains(err.Error(), "dial") {
			t.Errorf("%s: error %v, want a refusal before connecting", name, err)
		}
	}
}

func TestDoThroughAProxy(t *testing.T) {
	srv, got := recordingServer(t, true, func(w http.ResponseWriter) { _, _ = io.WriteString(w, "tunnelled") })
	proxy := harness.StartProxy(t, nil, 0)
	proxyURL := mustURL(t, "http://user:s3cret@"+proxy.Addr)
	c := &Client{TLS: trusting(srv), Proxy: func(*url.URL) (*url.URL, error) { return proxyURL, nil }}
	res, err := c.Do(context.Background(), &Request{Method: "GET", URL: mustURL(t, srv.URL+"/me")})
	if err != nil || string(res.Body) != "tunnelled" {
		t.Fatalf("through the proxy: %v %v", res, err)
	}
	target := strings.TrimPrefix(srv.URL, "https://")
	wantHead := "CONNECT " + target + " auth=Basic dXNlcjpzM2NyZXQ=" // user:s3cret
	if heads := proxy.Requests(); len(heads) != 1 || heads[0] != wantHead {
		t.Errorf("the proxy saw %q, want [%q]", heads, wantHead)
	}
	if s := got(); s.uri != "/me" || s.header.Get("Proxy-Authorization") != "" {
		t.Errorf("the server saw %+v", s)
	}
}

func TestDoPlainHTTPThroughAProxy(t *testing.T) {
	srv, got := recordingServer(t, false, func(w http.ResponseWriter) { _, _ = io.WriteString(w, "forwarded") })
	proxy := harness.StartProxy(t, nil, 0)
	proxyURL := mustURL(t, "http://"+proxy.Addr)
	c := &Client{Proxy: func(*url.URL) (*url.URL, error) { return proxyURL, nil }}
	res, err := c.Do(context.Background(), &Request{Method: "GET", URL: mustURL(t, srv.URL+"/me?a=1")})
	if err != nil || string(res.Body) != "forwarded" {
		t.Fatalf("%v %v", res, err)
	}
	if heads := proxy.Requests(); len(heads) != 1 || heads[0] != "GET "+srv.URL+"/me?a=1" {
		t.Errorf("the proxy saw %q, want the absolute form", heads)
	}
	if s := got(); s.uri != "/me?a=1" {
		t.Errorf("the server saw %+v", s)
	}
}

func TestDoProxyRefusal(t *testing.T) {
	proxy := harness.StartProxy(t, nil, 407)
	proxyURL := mustURL(t, "http://user:s3cret@"+proxy.Addr)
	c := &Client{Proxy: func(*url.URL) (*url.URL, error) { return proxyURL, nil }}
	_, err := c.Do(context.Background(), &Request{Method: "GET", URL: mustURL(t, "https://api.example.com/")})
	if err == nil || !strings.Contains(err.Error(), "407 Proxy Authentication Required") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v, want the 407 without the proxy's password", err)
	}
}

func TestProxyFromEnvironment(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		url  string
		want string // "" for a direct connection
	}{
		{"no proxy set", nil, "https://api.gcore.com/", ""},
		{"HTTPS_PROXY", map[string]string{"HTTPS_PROXY": "http://proxy:3128"}, "https://api.gcore.com/", "http://proxy:3128"},
		{"https_proxy", map[string]string{"https_proxy": "proxy:3128"}, "https://api.gcore.com/", "http://proxy:3128"},
		{"upper case first", map[string]string{"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}, "https://api.gcore.com/", "http://upper:1"},
		{"HTTP_PROXY is not for https", map[string]string{"HTTP_PROXY": "http://proxy:3128"}, "https://api.gcore.com/", ""},
		{"HTTP_PROXY for http", map[string]string{"HTTP_PROXY": "http://proxy:3128"}, "http://example.com/", "http://proxy:3128"},
		{"HTTP_PROXY ignored under CGI", map[string]string{"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"}, "http://example.com/", ""},
		{"loopback never", map[string]string{"HTTPS_PROXY": "http://proxy:3128"}, "https://127.0.0.1:8443/", ""},
		{"localhost never", map[string]string{"HTTP_PROXY": "http://proxy:3128"}, "http://localhost:8080/", ""},
		{"NO_PROXY *", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "*"}, "https://api.gcore.com/", ""},
		{"NO_PROXY domain", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "example.org, gcore.com"}, "https://api.gcore.com/", ""},
		{"NO_PROXY domain itself", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "no_proxy": "gcore.com"}, "https://gcore.com/", ""},
		{"NO_PROXY leading dot: subdomains only", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".gcore.com"}, "https://gcore.com/", "http://proxy:3128"},
		{"NO_PROXY *.domain", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "*.gcore.com"}, "https://api.gcore.com/", ""},
		{"NO_PROXY not a suffix match", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "core.com"}, "https://api.gcore.com/", "http://proxy:3128"},
		{"NO_PROXY port", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "api.gcore.com:443"}, "https://api.gcore.com/", ""},
		{"NO_PROXY other port", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "api.gcore.com:8443"}, "https://api.gcore.com/", "http://proxy:3128"},
		{"NO_PROXY CIDR", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "10.0.0.0/8"}, "https://10.1.2.3/", ""},
		{"NO_PROXY IP", map[string]string{"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "192.0.2.1"}, "https://192.0.2.1/", ""},
		{"https proxy", map[string]string{"HTTPS_PROXY": "https://proxy:443"}, "https://api.gcore.com/", "https://proxy:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProxyFromEnvironment(func(k string) string { return tt.env[k] })(mustURL(t, tt.url))
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == "") || (got != nil && got.String() != tt.want) {
				t.Errorf("proxy %v, want %q", got, tt.want)
			}
		})
	}
}

func TestProxyFromEnvironmentRefusals(t *testing.T) {
	for value, want := range map[string]string{
		"socks5://user:s3cret@proxy:1080": "SOCKS proxies are not supported",
		"ftp://user:s3cret@proxy:21":      "unsupported proxy scheme",
		"http://user:s3cret@[::1":         "not a proxy address",
	} {
		_, err := ProxyFromEnvironment(func(k string) string {
			if k == "HTTPS_PROXY" {
				return value
			}
			return ""
		})(mustURL(t, "https://api.gcore.com/"))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "HTTPS_PROXY: ") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("HTTPS_PROXY=%s: error %v, want %q without the password", value, err, want)
		}
	}
}
