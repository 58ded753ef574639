package protocol

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseGitRequest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     GitRequest
		wantErr  string // a substring of the error; "" for none
	}{
		{name: "get", in: "protocol=https\nhost=git.example.com\npath=org/repo.git\nusername=bob\n\n",
			want: GitRequest{Protocol: "https", Host: "git.example.com", Path: "org/repo.git", Username: "bob",
				Attrs: map[string][]string{"protocol": {"https"}, "host": {"git.example.com"}, "path": {"org/repo.git"}, "username": {"bob"}}}},
		{name: "EOF without blank line or final newline", in: "protocol=https\nhost=h",
			want: GitRequest{Protocol: "https", Host: "h", Attrs: map[string][]string{"protocol": {"https"}, "host": {"h"}}}},
		{name: "CRLF", in: "protocol=https\r\nhost=h\r\n\r\nignored=1\n",
			want: GitRequest{Protocol: "https", Host: "h", Attrs: map[string][]string{"protocol": {"https"}, "host": {"h"}}}},
		{name: "stops at the blank line", in: "host=h\n\nhost=other\nno equals sign\n",
			want: GitRequest{Host: "h", Attrs: map[string][]string{"host": {"h"}}}},
		{name: "split on the first =", in: "password=a=b==\n",
			want: GitRequest{Password: "a=b==", Attrs: map[string][]string{"password": {"a=b=="}}}},
		{name: "capabilities repeat", in: "capability[]=authtype\ncapability[]=state\nwwwauth[]=Bearer realm=\"x\"\n",
			want: GitRequest{Capabilities: []string{"authtype", "state"},
				Attrs: map[string][]string{"capability": {"authtype", "state"}, "wwwauth": {`Bearer realm="x"`}}}},
		{name: "empty key[] resets", in: "capability[]=authtype\ncapability[]=\ncapability[]=state\nwwwauth[]=a\nwwwauth[]=\n",
			want: GitRequest{Capabilities: []string{"state"}, Attrs: map[string][]string{"capability": {"state"}}}},
		{name: "last plain value wins", in: "host=a\nhost=b\n",
			want: GitRequest{Host: "b", Attrs: map[string][]string{"host": {"b"}}}},
		{name: "empty value", in: "password=\n", want: GitRequest{Attrs: map[string][]string{"password": {""}}}},
		{name: "empty", in: "", want: GitRequest{Attrs: map[string][]string{}}},
		{name: "missing =", in: "protocol=https\nhost\n", wantErr: "line 2 is not key=value"},
		{name: "empty key", in: "=x\n", wantErr: "line 1 is not key=value"},
		{name: "empty list key", in: "host=h\n[]=x\n", wantErr: "line 2 is not key=value"},
		{name: "NUL", in: "password=a\x00b\n", wantErr: "line 1 has a NUL byte"},
		{name: "invalid UTF-8 kept byte for byte", in: "protocol=https\nhost=h\xff\npath=r\xe9po\n\n",
			want: GitRequest{Protocol: "https", Host: "h\xff", Path: "r\xe9po",
				Attrs: map[string][]string{"protocol": {"https"}, "host": {"h\xff"}, "path": {"r\xe9po"}}}},
		{name: "control characters kept", in: "host=h\x1b[2J\tx\n",
			want: GitRequest{Host: "h\x1b[2J\tx", Attrs: map[string][]string{"host": {"h\x1b[2J\tx"}}}},
		{name: "thousands of lines within the bound", in: strings.Repeat("wwwauth[]=Basic\n", 3000) + "host=h\n",
			want: GitRequest{Host: "h", Attrs: map[string][]string{"host": {"h"}, "wwwauth": slices.Repeat([]string{"Basic"}, 3000)}}},
		{name: "NUL in a key", in: "ho\x00st=h\n", wantErr: "line 1 has a NUL byte"},
		{name: "NUL late", in: "protocol=https\nhost=h\npath=\x00\n", wantErr: "line 3 has a NUL byte"},
		{name: "oversize", in: "password=" + strings.Repeat("x", maxInput) + "\n", wantErr: "longer than"},
		{name: "oversize over many lines", in: strings.Repeat("a=b\n", maxInput/4+1), wantErr: "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGitRequest(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseGitRequestErrorsHideInput guards issue #5 item 4 and the reference's security rules: a refused request is
// named by line number, never by its content, which may be a password.
func TestParseGitRequestErrorsHideInput(t *testing.T) {
	for _, in := range []string{"password=hunter2\x00\n", "hunter2\n", "password=hunter2" + strings.Repeat("x", maxInput)} {
		if _, err := ParseGitRequest(strings.NewReader(in)); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseGitRequest(%.40q…) error = %v, want one that does not repeat the input", in, err)
		}
	}
}

// TestParseGitRequestStopsAtBlankLine checks that a request is answered
// while git still holds the pipe open: nothing after the blank line is read.
func TestParseGitRequestStopsAtBlankLine(t *testing.T) {
	r := io.MultiReader(strings.NewReader("host=h\n\n"), iotest.ErrReader(errors.New("read past the blank line")))
	if req, err := ParseGitRequest(r); err != nil || req.Host != "h" {
		t.Fatalf("got %+v, %v", req, err)
	}
}

func TestHasCapability(t *testing.T) {
	req := GitRequest{Capabilities: []string{"state", "authtype"}}
	if !req.HasCapability("authtype") || req.HasCapability("auth") || (GitRequest{}).HasCapability("authtype") {
		t.Fatal("HasCapability is wrong")
	}
}

func TestWriteGitGolden(t *testing.T) {
	exp := time.Unix(1767366245, 999e6)
	for _, tc := range []struct {
		name string
		c    GitCredential
	}{
		{"git-password.txt", GitCredential{Username: "bob", Password: `eyJ.a=b"c\d$e`, PasswordExpiry: exp}},
		{"git-authtype.txt", GitCredential{AuthType: "Bearer", Credential: "eyJ.x.y", Ephemeral: true, PasswordExpiry: exp}},
		{"git-no-expiry.txt", GitCredential{Username: "APIKey", Password: "42_key"}},
		{"git-quit.txt", GitCredential{Quit: true, Username: "ignored", Password: "ignored"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteGitCredential(&buf, tc.c); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
	t.Run("git-capability.txt", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteGitCapabilities(&buf); err != nil {
			t.Fatal(err)
		}
		golden(t, "git-capability.txt", buf.Bytes())
	})
}

func TestWriteGitCredentialRefuses(t *testing.T) {
	for _, c := range []GitCredential{
		{Username: "bob", Password: "a\nquit=1"},
		{Username: "bob\r", Password: "p"},
		{Username: "bob", Password: "p\x00"},
		{AuthType: "Bearer", Credential: "x\ny"},
	} {
		var buf bytes.Buffer
		err := WriteGitCredential(&buf, c)
		if err == nil || buf.Len() != 0 {
			t.Errorf("%+v: got error %v and output %q, want an error and no output", c, err, buf.Bytes())
		}
		if err != nil && (strings.Contains(err.Error(), "quit=1") || strings.Contains(err.Error(), "x\ny")) {
			t.Errorf("error shows the value: %v", err)
		}
	}
}

func FuzzParseGitRequest(f *testing.F) {
	for _, s := range []string{"protocol=https\nhost=h\nusername=u\npassword=p\n\n", "capability[]=authtype\r\ncapability[]=\r\n", "a", "=\n", "x=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ParseGitRequest(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteGitCredential(&buf, GitCredential{Username: req.Username, Password: req.Password}); err != nil {
			return // a value git itself could not take back
		}
		back, err := ParseGitRequest(&buf)
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.Bytes(), err)
		}
		if back.Username != req.Username || back.Password != req.Password {
			t.Fatalf("round trip: got %q/%q, want %q/%q", back.Username, back.Password, req.Username, req.Password)
		}
	})
}
