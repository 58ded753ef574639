package helper

import (
	"net"
	"strings"
)

// HostAllowed reports whether the git and docker personas may answer for
// host (the reference's security rules): it must be in the profile's allowed_hosts. An entry
// without a port allows the host on its default port only (no port, or 443);
// an entry with a port allows exactly that port. Matching ignores case and a
// trailing dot; there are no wildcards.
func HostAllowed(allowed []string, host string) bool {
	name, port := splitHostPort(host)
	if name == "" {
		return false
	}
	for _, entry := range allowed {
		en, ep := splitHostPort(entry)
		if en != name {
			continue
		}
		if ep == port || (ep == "" && port == "443") {
			return true
		}
	}
	return false
}

// splitHostPort lower-cases and splits "host[:port]", tolerating a bare IPv6
// address in brackets and a trailing dot on the name.
func splitHostPort(s string) (host, port string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	return strings.TrimSuffix(host, "."), port
}
