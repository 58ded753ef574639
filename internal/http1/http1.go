// Package http1 makes one HTTP/1.1 exchange, over TCP or TLS and through a
// proxy where the environment names one, and reads the whole answer: the
// transport of the IAM client.
//
// It replaces net/http in the helper's binary, and only for that reason: a
// program pays for net/http at every start, whether or not it sends a request
// (its package initialisation, and a megabyte more of code and tables the
// runtime sets up), and the helper starts once per kubectl, docker or git
// call, most of them cache hits that never touch the network. Measured on a
// get hit (the README's Performance section): 0.9 ms, 0.15× the baseline.
//
// What it does not do, because the IAM client needs none of it: keep
// connections alive (every request says Connection: close), follow redirects
// (a 3xx is returned as is, like any answer), negotiate HTTP/2 or compression,
// or stream: a request's body is a byte slice, and so is the answer's.
package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request is one request. The URL's path and query are sent as they are.
type Request struct {
	Method string
	URL    *url.URL
	// Header fields, sent in order after Host. Host, Content-Length,
	// Connection and Transfer-Encoding are the client's to send.
	Header []Field
	// Body, when not nil, is sent with its Content-Length (0 included).
	Body []byte
}

// Field is one header field.
type Field struct{ Name, Value string }

// Response is the final answer to a request (interim 1xx answers are
// skipped).
type Response struct {
	Status int
	Header textproto.MIMEHeader
	// Body holds at most the client's MaxBody bytes: a longer body is cut.
	Body []byte
}

// Client sends requests. The zero value uses the system's certificate roots,
// the environment's proxy settings and DefaultMaxBody.
type Client struct {
	// TLS configures https connections; nil means the system's roots.
	// ServerName is set for each request. A configuration that skips
	// verification is refused.
	TLS *tls.Config
	// Proxy returns the proxy for a request's URL, or nil for a direct
	// connection. Nil means ProxyFromEnvironment(os.Getenv).
	Proxy func(*url.URL) (*url.URL, error)
	// MaxBody bounds the body read; 0 means DefaultMaxBody.
	MaxBody int64
}

// DefaultMaxBody is the body bound of a client that sets none.
const DefaultMaxBody = 4 << 20

// maxHeaderBytes bounds the status line and header of an answer (and of a
// proxy's answer to CONNECT), as net/http's default does.
const maxHeaderBytes = 1 << 20

// ErrInsecureTLS is returned for a TLS configuration that skips verification.
var ErrInsecureTLS = errors.New("refusing a tls configuration with verification turned off")

// Do sends req and reads the answer. With an error, the Response is nil
// unless the answer's head arrived (see ReadResponse). When ctx ends first,
// the error is ctx.Err(); a failure to connect is a *net.OpError whose Op is
// "dial"; an untrusted certificate is a *tls.CertificateVerificationError.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	if c.TLS != nil && c.TLS.InsecureSkipVerify {
		return nil, ErrInsecureTLS
	}
	target, err := targetOf(req.URL)
	if err != nil {
		return nil, err
	}
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	proxy, err := c.proxyFor(req.URL)
	if err != nil {
		return nil, err
	}
	res, err := c.exchange(ctx, req, target, proxy)
	if err != nil && ctx.Err() != nil {
		// The connection was cut because ctx ended: say so, as a caller
		// branches on context.Canceled or context.DeadlineExceeded.
		return res, ctx.Err()
	}
	return res, err
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

func (c *Client) proxyFor(u *url.URL) (*url.URL, error) {
	if c.Proxy == nil {
		return ProxyFromEnvironment(nil)(u)
	}
	return c.Proxy(u)
}

// exchange connects (through proxy, if any), sends req and reads the answer.
func (c *Client) exchange(ctx context.Context, req *Request, target string, proxy *url.URL) (*Response, error) {
	dialTo := target
	if proxy != nil {
		var err error
		if dialTo, err = targetOf(proxy); err != nil {
			return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
		}
	}
	var d net.Dialer
	tcp, err := d.DialContext(ctx, "tcp", dialTo)
	if err != nil {
		return nil, err
	}
	defer tcp.Close()
	// Every read and write below ends when ctx does (deadline or cancel), by a
	// deadline in the past on the TCP connection, under any TLS. Not by the
	// connection's own deadline set to ctx's: that can fire a moment before
	// ctx reports its error, and the caller would see an i/o timeout instead.
	stop := context.AfterFunc(ctx, func() { _ = tcp.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := tcp // the stream: TCP, or TLS over it

	requestTarget := req.URL.RequestURI()
	if proxy != nil {
		if proxy.Scheme == "https" {
			tc, err := c.handshake(ctx, conn, proxy.Hostname())
			if err != nil {
				return nil, fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
			}
			conn = tc
		}
		if req.URL.Scheme == "https" {
			if err := connect(conn, target, proxy); err != nil {
				return nil, err
			}
		} else {
			// A plain http request goes to the proxy in absolute form.
			requestTarget = req.URL.String()
		}
	}
	if req.URL.Scheme == "https" {
		tc, err := c.handshake(ctx, conn, req.URL.Hostname())
		if err != nil {
			return nil, err
		}
		conn = tc
	}
	if _, err := io.WriteString(conn, requestText(req, requestTarget, proxy)); err != nil {
		return nil, err
	}
	if len(req.Body) > 0 {
		if _, err := conn.Write(req.Body); err != nil {
			return nil, err
		}
	}
	return ReadResponse(bufio.NewReader(conn), c.maxBody())
}

// handshake starts TLS on conn for serverName.
func (c *Client) handshake(ctx context.Context, conn net.Conn, serverName string) (net.Conn, error) {
	cfg := &tls.Config{}
	if c.TLS != nil {
		cfg = c.TLS.Clone()
	}
	cfg.ServerName = serverName
	cfg.NextProtos = []string{"http/1.1"}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

// connect asks the proxy on conn for a tunnel to target (host:port).
func connect(conn net.Conn, target string, proxy *url.URL) error {
	var b strings.Builder
	b.WriteString("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n")
	if auth := proxyAuthorization(proxy); auth != "" {
		b.WriteString("Proxy-Authorization: " + auth + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
	}
	// Read byte by byte: what follows the proxy's answer is the server's, and
	// must not be taken into a buffer.
	tp := textproto.NewReader(bufio.NewReaderSize(&byteReader{r: io.LimitReader(conn, maxHeaderBytes)}, 16))
	status, _, err := readHead(tp)
	if err != nil {
		return fmt.Errorf("proxy %s: %w", proxy.Redacted(), err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("proxy %s refused the tunnel to %s: %d %s", proxy.Redacted(), target, status, statusWords(status))
	}
	return nil
}

// byteReader hands its reader's bytes out one at a time, so that a
// bufio.Reader over it never reads ahead.
type byteReader struct{ r io.Reader }

func (b *byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.r.Read(p)
}

// requestText is the request line and header of req.
func requestText(req *Request, requestTarget string, proxy *url.URL) string {
	var b strings.Builder
	b.WriteString(req.Method + " " + requestTarget + " HTTP/1.1\r\nHost: " + req.URL.Host + "\r\n")
	for _, f := range req.Header {
		b.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	if proxy != nil && req.URL.Scheme == "http" {
		if auth := proxyAuthorization(proxy); auth != "" {
			b.WriteString("Proxy-Authorization: " + auth + "\r\n")
		}
	}
	if req.Body != nil {
		b.WriteString("Content-Length: " + strconv.Itoa(len(req.Body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// targetOf is u's host:port, with the scheme's port when u names none.
func targetOf(u *url.URL) (string, error) {
	if u == nil {
		return "", errors.New("no url")
	}
	port := u.Port()
	switch u.Scheme {
	case "https":
		if port == "" {
			port = "443"
		}
	case "http":
		if port == "" {
			port = "80"
		}
	default:
		return "", fmt.Errorf("unsupported scheme %q (want http or https)", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", errors.New("no host in the url")
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// checkRequest refuses what would break the request's framing: a line
// break in the method, path, or a header field, and the fields the client
// writes itself.
func checkRequest(req *Request) error {
	if req.Method == "" || strings.ContainsAny(req.Method, " \r\n") {
		return fmt.Errorf("invalid method %q", req.Method)
	}
	if strings.ContainsAny(req.URL.RequestURI(), " \r\n") || strings.ContainsAny(req.URL.Host, " \r\n") {
		return errors.New("invalid url: it contains a space or a line break")
	}
	for _, f := range req.Header {
		if f.Name == "" || strings.ContainsAny(f.Name, " :\r\n") || strings.ContainsAny(f.Value, "\r\n") {
			return fmt.Errorf("invalid header field %q", f.Name)
		}
		switch textproto.CanonicalMIMEHeaderKey(f.Name) {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding", "Proxy-Authorization":
			return fmt.Errorf("header field %q is the client's to send", f.Name)
		}
	}
	return nil
}
