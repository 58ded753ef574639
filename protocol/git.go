package protocol

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitRequest is what git sends a credential helper (git-credential(1)).
type GitRequest struct {
	Protocol, Host, Path, Username, Password string
	Capabilities                             []string // the capability[] values
	// Attrs holds every attribute as sent, the ones above included; the
	// values of key[] are stored under "key".
	Attrs map[string][]string
}

// ParseGitRequest reads key=value lines up to a blank line or EOF. It stops
// at the blank line rather than reading to EOF, as a caller may keep the pipe
// open. Errors name a line by number, never by content: it may be a password.
func ParseGitRequest(r io.Reader) (GitRequest, error) {
	req := GitRequest{Attrs: map[string][]string{}}
	br := bufio.NewReader(io.LimitReader(r, maxInput+1))
	read := 0
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if read += len(line); read > maxInput {
			return GitRequest{}, fmt.Errorf("git request longer than %d bytes", maxInput)
		}
		if err != nil && err != io.EOF {
			return GitRequest{}, fmt.Errorf("read git request: %w", err)
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			break
		}
		if strings.IndexByte(line, 0) >= 0 {
			return GitRequest{}, fmt.Errorf("git request line %d has a NUL byte", n)
		}
		key, value, ok := strings.Cut(line, "=")
		name, isList := strings.CutSuffix(key, "[]")
		if !ok || name == "" {
			return GitRequest{}, fmt.Errorf("git request line %d is not key=value", n)
		}
		switch {
		case !isList:
			req.Attrs[name] = []string{value}
		case value == "": // git's way to empty a list
			delete(req.Attrs, name)
		default:
			req.Attrs[name] = append(req.Attrs[name], value)
		}
		if err == io.EOF {
			break
		}
	}
	last := func(k string) string {
		if v := req.Attrs[k]; len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
	req.Protocol, req.Host, req.Path = last("protocol"), last("host"), last("path")
	req.Username, req.Password = last("username"), last("password")
	req.Capabilities = req.Attrs["capability"]
	return req, nil
}

// HasCapability reports whether git advertised the capability name.
func (r GitRequest) HasCapability(name string) bool {
	return slices.Contains(r.Capabilities, name)
}

// GitCredential is a credential helper's answer to git's `get`.
type GitCredential struct {
	Username, Password string
	PasswordExpiry     time.Time // written as password_expiry_utc when non-zero
	// AuthType and Credential answer with a ready-made Authorization header
	// instead of a password; only for a git that advertised "authtype".
	AuthType, Credential string
	Ephemeral            bool // git must not store the credential
	Quit                 bool // stop git from asking anyone else; written alone
}

// WriteGitCredential writes c for git. A value with a line break or NUL
// would end or forge an attribute, so it is refused and nothing is written.
func WriteGitCredential(w io.Writer, c GitCredential) error {
	if c.Quit {
		_, err := io.WriteString(w, "quit=1\n")
		return err
	}
	var authtype, ephemeral, expiry string
	if c.AuthType != "" || c.Credential != "" {
		authtype = "authtype"
	}
	if c.Ephemeral {
		ephemeral = "1"
	}
	if !c.PasswordExpiry.IsZero() {
		expiry = strconv.FormatInt(c.PasswordExpiry.Unix(), 10)
	}
	var b strings.Builder
	for _, a := range []struct{ k, v string }{
		{"capability[]", authtype}, {"authtype", c.AuthType}, {"credential", c.Credential},
		{"username", c.Username}, {"password", c.Password},
		{"ephemeral", ephemeral}, {"password_expiry_utc", expiry},
	} {
		if a.v == "" {
			continue
		}
		// git ends a value at '\n' and drops a '\r' before it.
		if strings.ContainsAny(a.v, "\n\r\x00") {
			return fmt.Errorf("git credential %s contains a line break or NUL", a.k)
		}
		b.WriteString(a.k + "=" + a.v + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteGitCapabilities answers `capability`: the protocol version and what
// this helper supports.
func WriteGitCapabilities(w io.Writer) error {
	_, err := io.WriteString(w, "version 0\ncapability authtype\n")
	return err
}
