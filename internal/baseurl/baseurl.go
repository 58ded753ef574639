// Package baseurl holds the one rule for where credentials may be sent: the
// IAM client applies it to every base URL, and the config file's parser to
// base_url, so that a bad value is reported with its file and line.
package baseurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrInsecure: a base URL's scheme would send credentials in the clear.
var ErrInsecure = errors.New("insecure url")

// Parse parses an IAM base URL and enforces the rule for it: https, or plain
// http only for loopback hosts (127.0.0.0/8, ::1, localhost); no user
// information, query or fragment; a host. A trailing slash is dropped. When the
// scheme is what is wrong, the error wraps ErrInsecure.
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// The url.Error would quote raw, which may hold a password in userinfo.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid base url: %w", err)
	}
	switch {
	case u.User != nil:
		return nil, errors.New("invalid base url: user information is not allowed")
	case strings.ContainsAny(raw, "?#"):
		return nil, errors.New("invalid base url: query and fragment are not allowed")
	case u.Hostname() == "":
		return nil, errors.New("invalid base url: no host")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("base url %s://%s: %w: use https (plain http is allowed only for loopback hosts)", u.Scheme, u.Host, ErrInsecure)
	default:
		return nil, fmt.Errorf("base url scheme %q: %w: use https", u.Scheme, ErrInsecure)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
