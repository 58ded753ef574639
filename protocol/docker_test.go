package protocol

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadDockerServerURL(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "as docker sends it", in: "https://registry.example.com", want: "https://registry.example.com"},
		{name: "trailing newline", in: "registry.example.com:5000\n", want: "registry.example.com:5000"},
		{name: "surrounding space", in: " \t https://r.example.com/v2/ \r\n", want: "https://r.example.com/v2/"},
		{name: "empty", in: "", wantErr: true},
		{name: "blank", in: " \n", wantErr: true},
		{name: "largest", in: strings.Repeat("a", maxInput), want: strings.Repeat("a", maxInput)},
		{name: "oversize", in: strings.Repeat("a", maxInput+1), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadDockerServerURL(strings.NewReader(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReadDockerCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     DockerCredentials
		wantErr  string // a substring of the error; "" for none
	}{
		{name: "as docker sends it", in: `{"ServerURL":"https://r.example.com","Username":"u","Secret":"s3cr$t"}` + "\n",
			want: DockerCredentials{ServerURL: "https://r.example.com", Username: "u", Secret: "s3cr$t"}},
		{name: "unknown fields ignored", in: `{"ServerURL":"r","Secret":"s","Extra":[1]}`,
			want: DockerCredentials{ServerURL: "r", Secret: "s"}},
		{name: "null is empty", in: `{"ServerURL":"r","Username":null}`, want: DockerCredentials{ServerURL: "r"}},
		{name: "no server URL", in: `{"Username":"u","Secret":"s"}`, wantErr: "no credentials server URL"},
		{name: "empty server URL", in: `{"ServerURL":"","Secret":"s"}`, wantErr: "no credentials server URL"},
		// As docker's own helpers read it, with encoding/json.
		{name: "names fold case", in: `{"serverurl":"r","SECRET":"s"}`, want: DockerCredentials{ServerURL: "r", Secret: "s"}},
		{name: "the last repeated member wins", in: `{"ServerURL":"a","Secret":"s","ServerURL":"r"}`,
			want: DockerCredentials{ServerURL: "r", Secret: "s"}},
		{name: "secret not a string", in: `{"ServerURL":"r","Secret":42}`, wantErr: "Secret has the wrong type"},
		{name: "not an object", in: `["r"]`, wantErr: "not a JSON object"},
		{name: "null", in: `null`, wantErr: "read docker credentials: not a JSON object"},
		{name: "a syntax error inside the secret", in: `{"ServerURL":"r","Secret":hunter2}`,
			wantErr: "read docker credentials: invalid json at offset 26: unexpected character"},
		{name: "malformed", in: `{"ServerURL":"r","Secret":"hunter2`, wantErr: "invalid json"},
		{name: "trailing data", in: `{"ServerURL":"r"} {}`, wantErr: "invalid json"},
		{name: "empty", in: ``, wantErr: "invalid json"},
		{name: "oversize", in: `{"ServerURL":"r","Secret":"` + strings.Repeat("x", maxInput) + `"}`, wantErr: "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadDockerCredentials(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error shows the secret: %v", err)
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

func TestWriteDockerGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"docker-get.json", func(b *bytes.Buffer) error {
			return WriteDockerCredentials(b, DockerCredentials{ServerURL: "https://registry.example.com:5000/v2/",
				Username: "user@example.com", Secret: `eyJ.a"b\c<&>`})
		}},
		{"docker-list.json", func(b *bytes.Buffer) error {
			return WriteDockerList(b, map[string]string{"registry.example.com:5000": "Bearer",
				"https://a.example.com": "u\"ser", "b.example.com": ""})
		}},
		{"docker-list-empty.json", func(b *bytes.Buffer) error { return WriteDockerList(b, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
			if !json.Valid(buf.Bytes()) {
				t.Fatalf("invalid JSON: %s", buf.Bytes())
			}
		})
	}
}

func TestRegistryHost(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" for an error
	}{
		{"https://Registry.Example.com:5000/v2/", "registry.example.com:5000"},
		{"registry.example.com", "registry.example.com"},
		{"REGISTRY.example.com:443", "registry.example.com:443"},
		{"http://registry.example.com", "registry.example.com"},
		{"HTTPS://registry.example.com/", "registry.example.com"},
		{"https://index.docker.io/v1/", "index.docker.io"},
		{"registry.example.com/org/repo", "registry.example.com"},
		{"https://registry.example.com?x=1#f", "registry.example.com"},
		{"localhost:05000", "localhost:5000"},
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"https://[::1]:5000/v2/", "[::1]:5000"},
		{"[0:0::0001]", "[::1]"},
		{"[FE80::A]", "[fe80::a]"},
		{"my_registry-1.example", "my_registry-1.example"},
		{"", ""},
		{"https://", ""},
		{"https:///v2/", ""},
		{":5000", ""},
		{"https://user:pass@registry.example.com", ""},
		{"user@registry.example.com", ""},
		{"registry.example.com:", ""},
		{"registry.example.com:0", ""},
		{"registry.example.com:65536", ""},
		{"registry.example.com:+80", ""},
		{"registry.example.com:5000:1", ""},
		{"registry.example.com:http", ""},
		{"ftp://registry.example.com", ""},
		{"registry example.com", ""},
		{" registry.example.com", ""},
		{"registry.example.com%2f", ""},
		{"régistry.example.com", ""},
		{"::1", ""},
		{"[::1", ""},
		{"[1.2.3.4]", ""},
		{"[fe80::1%eth0]", ""},
		{"[::1]5000", ""},
		{"[::1]:99999", ""},
		{"registry\x00.example.com", ""},
		{"https://r\xff.example.com/v2/", ""},
		{"r.example.com:50\x00", ""},
		{"r.example.com\n", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := RegistryHost(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestRegistryHostErrorHidesUserInfo(t *testing.T) {
	if _, err := RegistryHost("https://user:hunter2@r.example.com"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v, want an error without the password", err)
	}
}

func FuzzReadDockerServerURL(f *testing.F) {
	for _, s := range []string{"https://registry.example.com", "r:5000\n", " ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadDockerServerURL(strings.NewReader(in))
		if err != nil {
			return
		}
		if got == "" || got != strings.TrimSpace(in) {
			t.Fatalf("ReadDockerServerURL(%q) = %q", in, got)
		}
	})
}

func FuzzReadDockerCredentials(f *testing.F) {
	for _, s := range []string{`{"ServerURL":"https://r","Username":"u","Secret":"s"}`, `{"ServerURL":"r","Secret":"\ud800\u00e9"}`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ReadDockerCredentials(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteDockerCredentials(&buf, c); err != nil {
			t.Fatal(err)
		}
		back, err := ReadDockerCredentials(&buf)
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.Bytes(), err)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

func FuzzRegistryHost(f *testing.F) {
	for _, s := range []string{"https://Registry.Example.com:5000/v2/", "registry.example.com", "[::1]:80", "u@h", "h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		host, err := RegistryHost(in)
		if err != nil {
			return
		}
		// The result is its own normal form, in every spelling docker uses.
		for _, spelling := range []string{host, "https://" + host + "/v2/", "http://" + strings.ToUpper(host)} {
			if again, err := RegistryHost(spelling); err != nil || again != host {
				t.Fatalf("RegistryHost(%q) = %q; RegistryHost(%q) = %q, %v", in, host, spelling, again, err)
			}
		}
		// And net/url reads it as that host, with nothing else.
		u, err := url.Parse("https://" + host)
		if err != nil || u.Host != host || u.User != nil || u.Path != "" {
			t.Fatalf("RegistryHost(%q) = %q, which net/url reads as %#v, %v", in, host, u, err)
		}
	})
}
