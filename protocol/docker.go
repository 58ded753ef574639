package protocol

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DockerNotFound is the message by which docker recognises "no credential
// here"; it must be printed exactly.
const DockerNotFound = "credentials not found in native keychain"

// maxInput bounds what any caller may send on stdin.
const maxInput = 64 << 10

// DockerCredentials is one credential in docker's helper protocol.
type DockerCredentials struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// readInput reads all of r, refusing more than maxInput bytes.
func readInput(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("stdin longer than %d bytes", maxInput)
	}
	return b, nil
}

// ReadDockerServerURL reads the server URL docker sends to `get` and
// `erase`, without the white space around it.
func ReadDockerServerURL(r io.Reader) (string, error) {
	b, err := readInput(r)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("no server URL on stdin")
	}
	return s, nil
}

// ReadDockerCredentials reads the JSON docker sends to `store`. Its errors
// never show the input, which holds the secret.
func ReadDockerCredentials(r io.Reader) (DockerCredentials, error) {
	b, err := readInput(r)
	if err != nil {
		return DockerCredentials{}, err
	}
	c, err := decodeObject[DockerCredentials](b)
	if err != nil {
		return DockerCredentials{}, fmt.Errorf("read docker credentials: %w", err)
	}
	if c.ServerURL == "" {
		// docker's own helpers' message, which docker recognises.
		return DockerCredentials{}, errors.New("no credentials server URL")
	}
	return *c, nil
}

// WriteDockerCredentials writes c as `get`'s answer.
func WriteDockerCredentials(w io.Writer, c DockerCredentials) error {
	o := newObject().str("ServerURL", c.ServerURL).str("Username", c.Username).str("Secret", c.Secret)
	_, err := w.Write(append(o.bytes(), '\n'))
	return err
}

// WriteDockerList writes `list`'s answer: server URL to username, sorted so
// that the output is stable.
func WriteDockerList(w io.Writer, servers map[string]string) error {
	o := newObject()
	for _, k := range slices.Sorted(maps.Keys(servers)) {
		o.str(k, servers[k])
	}
	_, err := w.Write(append(o.bytes(), '\n'))
	return err
}

// RegistryHost normalises a docker server URL to the lower-case host, plus
// the port when one is given: "https://Registry.Example.com:5000/v2/" is
// "registry.example.com:5000". Hosts are compared against an allow-list, so
// anything ambiguous (user info, odd characters, a bad port) is refused
// rather than guessed at. Errors do not repeat the URL: user info may hold a
// password.
func RegistryHost(serverURL string) (string, error) {
	bad := func(why string) error { return errors.New("bad registry URL: " + why) }
	rest := serverURL
	if scheme, after, ok := strings.Cut(rest, "://"); ok {
		if s := strings.ToLower(scheme); s != "https" && s != "http" {
			return "", bad("scheme is not http or https")
		}
		rest = after
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.Contains(rest, "@") {
		return "", bad("user info is not allowed")
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", bad("unterminated IPv6 address")
		}
		a, err := netip.ParseAddr(rest[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", bad("invalid IPv6 address")
		}
		host, port = "["+a.String()+"]", rest[end+1:] // one spelling per address
	} else {
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i:]
		}
		if host == "" || strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
			return "", bad("invalid host name")
		}
	}
	if port != "" {
		digits := strings.TrimPrefix(port, ":")
		n, err := strconv.Atoi(digits)
		if digits == port || digits == "" || strings.Trim(digits, "0123456789") != "" || err != nil || n < 1 || n > 65535 {
			return "", bad("invalid port")
		}
		port = ":" + strconv.Itoa(n)
	}
	return strings.ToLower(host) + port, nil
}
