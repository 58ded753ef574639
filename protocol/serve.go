package protocol

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// The serve cores: one call answers one request of a caller's protocol from a
// small interface, as docker-credential-helpers' HandleCommand does. They own
// the protocol's rules (what to read, what to write, what silence means);
// what the credential is and whether to give it is the source's business.

// ErrDockerNotFound is what a DockerStore returns when it has no credential
// for a server: docker reads its message as "nothing here".
var ErrDockerNotFound = errors.New(DockerNotFound)

// DockerStore is what ServeDocker answers docker from.
type DockerStore interface {
	// Get returns the credential for serverURL, or an error wrapping
	// ErrDockerNotFound.
	Get(serverURL string) (DockerCredentials, error)
	// Store keeps c for its server.
	Store(c DockerCredentials) error
	// Erase forgets the credential for serverURL.
	Erase(serverURL string) error
	// List returns every stored server with its username.
	List() (map[string]string, error)
}

// DockerVerbs are the verbs of docker's credential-helper protocol.
var DockerVerbs = []string{"get", "store", "erase", "list", "version"}

// ServeDocker answers verb with s, reading the request from in and writing
// the answer to out; version is the line `version` prints. A returned error
// is docker's to see: the caller writes it to stdout and exits 1.
func ServeDocker(s DockerStore, verb, version string, in io.Reader, out io.Writer) error {
	switch verb {
	case "get":
		url, err := ReadDockerServerURL(in)
		if err != nil {
			return err
		}
		c, err := s.Get(url)
		if err != nil {
			return err
		}
		return WriteDockerCredentials(out, c)
	case "store":
		c, err := ReadDockerCredentials(in)
		if err != nil {
			return err
		}
		return s.Store(c)
	case "erase":
		url, err := ReadDockerServerURL(in)
		if err != nil {
			return err
		}
		return s.Erase(url)
	case "list":
		servers, err := s.List()
		if err != nil {
			return err
		}
		return WriteDockerList(out, servers)
	case "version":
		_, err := fmt.Fprintln(out, version)
		return err
	}
	return fmt.Errorf("unknown docker credential-helper verb %.32q", verb)
}

// GitAnswer is a GitSource's answer to git's `get`.
type GitAnswer struct {
	Username string    // the login to pair with the token when git sent none
	Kind     string    // the token's kind, as in an Authorization header ("Bearer")
	Token    string    // the credential
	Expiry   time.Time // when git should ask again; zero: never
	// Quit stops git from asking other helpers or prompting itself: a login
	// is needed that nobody may do now. The source has said why.
	Quit bool
}

// ErrGitNoCredential is what a GitSource returns for a request it does not
// answer (a host it does not serve): git then hears nothing, and asks others.
var ErrGitNoCredential = errors.New("no credential for this request")

// GitSource is what ServeGit answers git from.
type GitSource interface {
	// Get answers a request for a credential, or returns an error wrapping
	// ErrGitNoCredential.
	Get(req GitRequest) (GitAnswer, error)
	// Erase hears that git found the request's credential refused.
	Erase(req GitRequest) error
}

// ServeGit answers git's action with s. Only https requests for a host reach
// s: a credential is never sent in the clear. `store` is a no-op (the
// credential is the helper's, not git's to keep) and unknown actions are
// ignored, as git expects of a helper.
func ServeGit(s GitSource, action string, in io.Reader, out io.Writer) error {
	switch action {
	case "capability":
		return WriteGitCapabilities(out)
	case "get", "erase":
	default:
		return nil
	}
	req, err := ParseGitRequest(in)
	if err != nil {
		return err
	}
	if req.Protocol != "https" || req.Host == "" {
		return nil
	}
	if action == "erase" {
		return s.Erase(req)
	}
	ans, err := s.Get(req)
	if errors.Is(err, ErrGitNoCredential) {
		return nil
	}
	if err != nil {
		return err
	}
	if ans.Quit {
		return WriteGitCredential(out, GitCredential{Quit: true})
	}
	c := GitCredential{PasswordExpiry: ans.Expiry}
	if req.HasCapability("authtype") {
		c.AuthType, c.Credential, c.Ephemeral = ans.Kind, ans.Token, true
	} else {
		c.Username, c.Password = req.Username, ans.Token
		if c.Username == "" {
			c.Username = ans.Username
		}
	}
	return WriteGitCredential(out, c)
}

// KubeSource is what ServeKube answers kubectl from.
type KubeSource interface {
	// Credential returns the credential for the request kubectl described.
	Credential(info ExecInfo) (ExecCredentialStatus, error)
}

// ServeKube answers kubectl's exec credential request: execInfo is
// KUBERNETES_EXEC_INFO, and the answer speaks kubectl's apiVersion.
func ServeKube(s KubeSource, execInfo string, out io.Writer) error {
	info, err := ParseExecInfo(execInfo)
	if err != nil {
		return fmt.Errorf("KUBERNETES_EXEC_INFO: %w", err)
	}
	st, err := s.Credential(info)
	if err != nil {
		return err
	}
	return WriteExecCredential(out, info.APIVersion, st)
}
