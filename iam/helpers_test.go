package iam

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Realistic Gcore tokens (the reference's Gcore IAM calls): the access token's rjti is the refresh token's jti.
const (
	accessPayload = `{"token_type":"access","exp":1767229200,"jti":"7a3c2f6e9b1d4e0f8a2b3c4d5e6f7a8b",` +
		`"rjti":"f1e2d3c4b5a6978877665544332211ff","user_id":281234,"user_type":"common",` +
		`"user_groups":[{"id":1,"name":"Administrators"}],"client_id":512345,"email":"dev@example.com",` +
		`"username":"dev@example.com","is_admin":false,"client_name":"Example Ltd","sso":false}`
	refreshPayload = `{"token_type":"refresh","exp":1767312000,"jti":"f1e2d3c4b5a6978877665544332211ff",` +
		`"user_id":281234,"user_groups":[{"id":1,"name":"Administrators"}],"client_id":512345,` +
		`"email":"dev@example.com","username":"dev@example.com","is_admin":false,"client_name":"Example Ltd"}`
)

var (
	accessJWT  = makeJWT(accessPayload)
	refreshJWT = makeJWT(refreshPayload)
	// tokensBody is a good 200 answer to every token call.
	tokensBody = fmt.Sprintf(`{"refresh":%q,"access":%q}`, refreshJWT, accessJWT)
)

// makeJWT builds header.payload.signature; the signature is junk, as nothing
// here verifies it.
func makeJWT(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("not-a-real-signature-0123456789"))
}

// serve starts a fake IAM on 127.0.0.1. The n-th request is answered by the
// n-th handler, the last one repeating; the counter counts requests.
func serve(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		handlers[min(i, len(handlers)-1)](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func reply(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hang never answers; it returns when the client gives up. Reading the body
// first lets the server notice the client hanging up.
func hang(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// raw reads the whole request, writes raw bytes and drops the connection:
// with "" it is a reset after sending, with a short body a truncated answer.
func raw(t *testing.T, answer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		buf.WriteString(answer)
		buf.Flush()
		conn.Close()
	}
}

const truncatedOK = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"refresh\":\"eyJhbGciOi"

// recorder stands in for Options.Sleep and Options.Debugf.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
	lines []string
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func (r *recorder) debugf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recorder) recorded() (waits []time.Duration, lines []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...), append([]string(nil), r.lines...)
}

// newTestClient returns a client whose waits and trace are recorded (waits
// return at once) and whose attempts time out after 5s unless opts say otherwise.
func newTestClient(t *testing.T, baseURL string, opts Options) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	opts.Sleep = rec.sleep
	opts.Debugf = rec.debugf
	c, err := NewClient(baseURL, opts)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", baseURL, err)
	}
	return c, rec
}

// testCtx bounds every call of a test so that a bug cannot hang it.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Secrets used by the calls below; no error or trace line may contain them.
const (
	testPassword = "pw-Hunter2-secret"
	testOTP      = "914152"
	testAPIKey   = "42_s3cr3tAPIkeyValue"
	// testMintedToken is what a create api token answer carries.
	testMintedToken = "77_m1ntedS3cretValue"
	// testRegistrySecret is a registry user's docker password.
	testRegistrySecret = "Rg7xQ2mVb9ZsecretPw"
)

// A cluster's certificates and key as Gcore sends them, base64 of PEM. Only
// the PEM block types are checked, so the DER inside is a stand-in.
var (
	clusterCAPEM   = pemOf("CERTIFICATE", "cluster ca certificate der")
	clusterCertPEM = pemOf("CERTIFICATE", "client certificate der of dev")
	clusterKeyPEM  = pemOf("RSA PRIVATE KEY", "client private key der 0123456789")
	clusterCAB64   = base64.StdEncoding.EncodeToString(clusterCAPEM)
	clusterCertB64 = base64.StdEncoding.EncodeToString(clusterCertPEM)
	clusterKeyB64  = base64.StdEncoding.EncodeToString(clusterKeyPEM)
)

func pemOf(blockType, der string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: []byte(der)})
}

// secrets must never show in an error or a trace line. Certificates are not
// secret, but nobody reads them there either.
var secrets = []string{
	testPassword, testOTP, accessJWT, refreshJWT, testAPIKey, testMintedToken, testRegistrySecret,
	string(clusterKeyPEM), clusterKeyB64, base64.StdEncoding.EncodeToString([]byte("client private key der 0123456789")),
	string(clusterCertPEM), clusterCertB64, string(clusterCAPEM), clusterCAB64,
}

// mintedBody is a good answer to CreateAPIToken, as Gcore shapes it.
const mintedBody = `{"id":77,"token":"` + testMintedToken + `","name":"ci","description":"","exp_date":null,"expired":false,` +
	`"created":"2026-01-02T15:04:05Z","client_user":{"role":{"name":"Administrators"},"user_id":281234,"client_id":512345}}`

type call func(ctx context.Context, c *Client) error

func callLogin(ctx context.Context, c *Client) error {
	_, err := c.Login(ctx, Credentials{Username: "dev@example.com", Password: testPassword, OTP: testOTP})
	return err
}

func callRefresh(ctx context.Context, c *Client) error {
	_, err := c.Refresh(ctx, refreshJWT)
	return err
}

func callSwitch(ctx context.Context, c *Client) error {
	_, err := c.SwitchAccount(ctx, accessJWT, 777)
	return err
}

func callMe(ctx context.Context, c *Client) error {
	_, err := c.Me(ctx, BearerAuthorization(accessJWT))
	return err
}

func callMeAPIKey(ctx context.Context, c *Client) error {
	_, err := c.Me(ctx, APIKeyAuthorization(testAPIKey))
	return err
}

func callCreateToken(ctx context.Context, c *Client) error {
	_, err := c.CreateAPIToken(ctx, accessJWT, 512345, APITokenRequest{Name: "ci", RoleName: "Administrators"})
	return err
}

func callDeleteToken(ctx context.Context, c *Client) error {
	return c.DeleteAPIToken(ctx, accessJWT, 512345, 77)
}
