package harness

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

// Proxy is an http proxy on 127.0.0.1 for tests: it tunnels CONNECT requests
// and forwards absolute-form ones, and records the head of each request.
type Proxy struct {
	// Addr is the proxy's host:port.
	Addr   string
	route  func(hostport string) string
	refuse int
	mu     sync.Mutex
	heads  []string
}

// StartProxy starts a proxy that lives as long as t. route maps the
// host:port a client asks for to the address dialled (nil: that host:port
// itself); refuse, when not 0, is the status every request gets instead.
func StartProxy(t testing.TB, route func(hostport string) string, refuse int) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if route == nil {
		route = func(hostport string) string { return hostport }
	}
	p := &Proxy{Addr: l.Addr().String(), route: route, refuse: refuse}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

// Requests are the heads of the requests the proxy got, in order:
// "METHOD URI", with " auth=VALUE" when Proxy-Authorization was sent.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.heads...)
}

func (p *Proxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	head := req.Method + " " + req.RequestURI
	if auth := req.Header.Get("Proxy-Authorization"); auth != "" {
		head += " auth=" + auth
	}
	p.mu.Lock()
	p.heads = append(p.heads, head)
	p.mu.Unlock()
	if p.refuse != 0 {
		_, _ = io.WriteString(c, "HTTP/1.1 "+strconv.Itoa(p.refuse)+" "+http.StatusText(p.refuse)+"\r\nContent-Length: 0\r\n\r\n")
		return
	}
	hostport := req.Host
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(hostport, "80")
	}
	up, err := net.Dial("tcp", p.route(hostport))
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	if req.Method == http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	} else {
		req.Header.Del("Proxy-Authorization")
		_ = req.Write(up)
	}
	go func() { _, _ = io.Copy(up, br) }()
	_, _ = io.Copy(c, up)
}
