package http1

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// ProxyFromEnvironment returns the proxy choice net/http's default transport
// makes, over getenv (nil means os.Getenv), so that a proxy set up for other
// tools works here too: HTTPS_PROXY (or https_proxy) for an https URL,
// HTTP_PROXY (or http_proxy) for an http one, the upper-case HTTP_PROXY
// ignored where REQUEST_METHOD says the process is a CGI script (whose
// client could set it); no proxy for localhost, a loopback address, or a
// host NO_PROXY (or no_proxy) names. A proxy without a scheme is http://.
// Proxies are http:// and https://; SOCKS is refused with an error, not
// bypassed.
func ProxyFromEnvironment(getenv func(string) string) func(*url.URL) (*url.URL, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return func(u *url.URL) (*url.URL, error) {
		name, raw := "", ""
		switch u.Scheme {
		case "https":
			name, raw = firstSet(getenv, "HTTPS_PROXY", "https_proxy")
		case "http":
			if getenv("REQUEST_METHOD") == "" {
				name, raw = firstSet(getenv, "HTTP_PROXY", "http_proxy")
			} else {
				name, raw = firstSet(getenv, "http_proxy")
			}
		}
		if raw == "" {
			return nil, nil
		}
		_, noProxy := firstSet(getenv, "NO_PROXY", "no_proxy")
		if !useProxy(u, noProxy) {
			return nil, nil
		}
		proxy, err := parseProxy(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return proxy, nil
	}
}

// firstSet returns the first of names that getenv has a value for.
func firstSet(getenv func(string) string, names ...string) (name, value string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return n, v
		}
	}
	return "", ""
}

// parseProxy reads a proxy address. Its errors never quote it: it may hold a
// password.
func parseProxy(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a proxy address")
	}
	switch u.Scheme {
	case "http", "https":
	case "socks5", "socks5h":
		return nil, errors.New("SOCKS proxies are not supported: use an http:// or https:// proxy")
	default:
		return nil, fmt.Errorf("unsupported proxy scheme %.16q: use http:// or https://", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("not a proxy address: no host")
	}
	return u, nil
}

// useProxy reports whether a request to u goes through the proxy, given the
// NO_PROXY list: comma-separated entries, each "*" (no proxy at all), an IP
// address, a CIDR block, or a domain that matches itself and its subdomains
// (".example.com" and "*.example.com" only its subdomains), any of the last
// three optionally with ":port".
func useProxy(u *url.URL, noProxy string) bool {
	host := strings.ToLower(u.Hostname())
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return false
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	for _, entry := range strings.Split(noProxy, ",") {
		entry = strings.ToLower(strings.TrimSpace(entry))
		switch {
		case entry == "":
			continue
		case entry == "*":
			return false
		}
		if _, block, err := net.ParseCIDR(entry); err == nil {
			if ip != nil && block.Contains(ip) {
				return false
			}
			continue
		}
		entryHost, entryPort := entry, ""
		if h, p, err := net.SplitHostPort(entry); err == nil {
			entryHost, entryPort = h, p
		}
		if entryPort != "" && entryPort != port {
			continue
		}
		if entryIP := net.ParseIP(entryHost); entryIP != nil {
			if ip != nil && entryIP.Equal(ip) {
				return false
			}
			continue
		}
		if sub, ok := strings.CutPrefix(entryHost, "*"); ok && strings.HasPrefix(sub, ".") {
			entryHost = sub
		}
		if strings.HasPrefix(entryHost, ".") {
			if strings.HasSuffix(host, entryHost) {
				return false
			}
			continue
		}
		if host == entryHost || strings.HasSuffix(host, "."+entryHost) {
			return false
		}
	}
	return true
}

// proxyAuthorization is the Proxy-Authorization value for a proxy URL with
// a user, else "".
func proxyAuthorization(proxy *url.URL) string {
	if proxy.User == nil {
		return ""
	}
	password, _ := proxy.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(proxy.User.Username()+":"+password))
}
