package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// memDocker is a DockerStore in memory that records what it was asked.
type memDocker struct {
	creds map[string]DockerCredentials
	calls []string
}

func (m *memDocker) Get(url string) (DockerCredentials, error) {
	m.calls = append(m.calls, "get "+url)
	c, ok := m.creds[url]
	if !ok {
		return DockerCredentials{}, fmt.Errorf("%s: %w", url, ErrDockerNotFound)
	}
	return c, nil
}

func (m *memDocker) Store(c DockerCredentials) error {
	m.calls = append(m.calls, "store "+c.ServerURL)
	m.creds[c.ServerURL] = c
	return nil
}

func (m *memDocker) Erase(url string) error {
	m.calls = append(m.calls, "erase "+url)
	delete(m.creds, url)
	return nil
}

func (m *memDocker) List() (map[string]string, error) {
	m.calls = append(m.calls, "list")
	out := map[string]string{}
	for url, c := range m.creds {
		out[url] = c.Username
	}
	return out, nil
}

// TestServeDocker: each verb reads docker's request, asks the store the one
// matching question and writes docker's answer; a bad request never reaches
// the store.
func TestServeDocker(t *testing.T) {
	tests := []struct {
		verb, in  string
		wantOut   string
		wantErr   string
		wantCalls []string
	}{
		{verb: "store", in: `{"ServerURL":"r.example","Username":"u","Secret":"s"}`, wantCalls: []string{"store r.example"}},
		{verb: "get", in: "r.example\n", wantOut: `{"ServerURL":"r.example","Username":"u","Secret":"s"}` + "\n", wantCalls: []string{"get r.example"}},
		{verb: "list", wantOut: `{"r.example":"u"}` + "\n", wantCalls: []string{"list"}},
		{verb: "erase", in: "r.example", wantCalls: []string{"erase r.example"}},
		{verb: "get", in: "r.example", wantErr: DockerNotFound, wantCalls: []string{"get r.example"}},
		{verb: "version", wantOut: "gcore 1.2.3\n"},
		{verb: "get", in: "", wantErr: "server URL"},
		{verb: "store", in: `{"ServerURL":`, wantErr: "credentials"},
		{verb: "push", wantErr: "unknown docker credential-helper verb"},
	}
	s := &memDocker{creds: map[string]DockerCredentials{}}
	for _, tt := range tests {
		s.calls = nil
		var out bytes.Buffer
		err := ServeDocker(s, tt.verb, "gcore 1.2.3", strings.NewReader(tt.in), &out)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s %q: error %v, want %q", tt.verb, tt.in, err, tt.wantErr)
		}
		if out.String() != tt.wantOut {
			t.Errorf("%s %q: wrote %q, want %q", tt.verb, tt.in, out.String(), tt.wantOut)
		}
		if diff := cmp.Diff(tt.wantCalls, s.calls); diff != "" {
			t.Errorf("%s %q: store calls (-want +got):\n%s", tt.verb, tt.in, diff)
		}
	}
}

// memGit answers every host but "other.example" with a token.
type memGit struct {
	answer GitAnswer
	asked  []string
	erased []string
}

func (m *memGit) Get(req GitRequest) (GitAnswer, error) {
	m.asked = append(m.asked, req.Host)
	if req.Host == "other.example" {
		return GitAnswer{}, ErrGitNoCredential
	}
	return m.answer, nil
}

func (m *memGit) Erase(req GitRequest) error {
	m.erased = append(m.erased, req.Host+" "+req.Password)
	return nil
}

// TestServeGit: only https requests with a host reach the source; the answer
// is git's username/password, or authtype/credential when git offers that
// capability; a host the source does not serve, and `store`, get silence.
func TestServeGit(t *testing.T) {
	expiry := time.Unix(1767225600, 0)
	tests := []struct {
		name, action, in string
		answer           GitAnswer
		wantOut          string
		wantAsked        []string
		wantErased       []string
	}{
		{name: "password", action: "get", in: "protocol=https\nhost=git.example\n\n",
			answer:    GitAnswer{Username: "u@example.com", Kind: "Bearer", Token: "tok", Expiry: expiry},
			wantOut:   "username=u@example.com\npassword=tok\npassword_expiry_utc=1767225600\n",
			wantAsked: []string{"git.example"}},
		{name: "git's username kept", action: "get", in: "protocol=https\nhost=git.example\nusername=git\n\n",
			answer:    GitAnswer{Username: "u@example.com", Kind: "Bearer", Token: "tok"},
			wantOut:   "username=git\npassword=tok\n",
			wantAsked: []string{"git.example"}},
		{name: "authtype", action: "get", in: "capability[]=authtype\nprotocol=https\nhost=git.example\n\n",
			answer:    GitAnswer{Username: "u@example.com", Kind: "Bearer", Token: "tok"},
			wantOut:   "capability[]=authtype\nauthtype=Bearer\ncredential=tok\nephemeral=1\n",
			wantAsked: []string{"git.example"}},
		{name: "quit", action: "get", in: "protocol=https\nhost=git.example\n\n",
			answer: GitAnswer{Quit: true}, wantOut: "quit=1\n", wantAsked: []string{"git.example"}},
		{name: "not served", action: "get", in: "protocol=https\nhost=other.example\n\n", wantAsked: []string{"other.example"}},
		{name: "http", action: "get", in: "protocol=http\nhost=git.example\n\n"},
		{name: "no host", action: "get", in: "protocol=https\n\n"},
		{name: "erase", action: "erase", in: "protocol=https\nhost=git.example\npassword=old\n\n", wantErased: []string{"git.example old"}},
		{name: "store", action: "store", in: "protocol=https\nhost=git.example\npassword=p\n\n"},
		{name: "unknown action", action: "approve", in: "protocol=https\nhost=git.example\n\n"},
		{name: "capability", action: "capability", wantOut: "version 0\ncapability authtype\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &memGit{answer: tt.answer}
			var out bytes.Buffer
			if err := ServeGit(s, tt.action, strings.NewReader(tt.in), &out); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantOut, out.String()); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAsked, s.asked); diff != "" {
				t.Errorf("hosts asked (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErased, s.erased); diff != "" {
				t.Errorf("erased (-want +got):\n%s", diff)
			}
		})
	}
}

type kubeFunc func(ExecInfo) (ExecCredentialStatus, error)

func (f kubeFunc) Credential(info ExecInfo) (ExecCredentialStatus, error) { return f(info) }

// TestServeKube: the answer speaks the apiVersion kubectl asked in, a bad
// KUBERNETES_EXEC_INFO never reaches the source, and the source's error
// writes nothing.
func TestServeKube(t *testing.T) {
	var got []ExecInfo
	source := kubeFunc(func(info ExecInfo) (ExecCredentialStatus, error) {
		got = append(got, info)
		if info.Cluster != nil && info.Cluster.Server == "https://fail.example" {
			return ExecCredentialStatus{}, errors.New("no credential")
		}
		return ExecCredentialStatus{Token: "tok"}, nil
	})
	var out bytes.Buffer
	if err := ServeKube(source, "", &out); err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"tok"}}` + "\n"; out.String() != want {
		t.Errorf("answer %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := ServeKube(source, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"apiVersion":"client.authentication.k8s.io/v1"`) {
		t.Errorf("answer %q is not in v1", out.String())
	}
	out.Reset()
	if err := ServeKube(source, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,"cluster":{"server":"https://fail.example"}}}`, &out); err == nil || out.Len() != 0 {
		t.Errorf("failing source: error %v, wrote %q; want the error and nothing", err, out.String())
	}
	if err := ServeKube(source, `{"apiVersion":`, &out); err == nil || !strings.Contains(err.Error(), "KUBERNETES_EXEC_INFO") {
		t.Errorf("bad KUBERNETES_EXEC_INFO: error %v", err)
	}
	if len(got) != 3 {
		t.Errorf("the source was asked %d times, want 3 (never for the bad request)", len(got))
	}
}
