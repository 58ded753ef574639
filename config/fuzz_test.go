package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/baseurl"
)

func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"[profiles.default]\nusername = \"me@example.com\"\nclient_id = 12345\nmin_ttl = \"5m\"\n",
		"[profiles.a]\nallowed_hosts = [\"Git.Example.com\", \"[::1]:5000\"]\n[profiles.\"b.c\"]\nauth = \"api-token\"\n",
		"[profiles]\nx = { base_url = \"http://127.0.0.1:1/\", backend = \"file\" }\n",
		"[profiles.y]\nbase_url = \"http://api.example.com\"\n",
		"[profiles.\"\xff\"]\nusername = \"\xfe\"\n",
		"[profiles.d]\n[[profiles.d.registries]]\nhost = \"r\"\n",
		"profiles = 1",
		"[profiles.default]\nusername = \"unterminated\n",
		"a.b.c = 1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := Load(path)
		if err != nil {
			return
		}
		// Load validated every value, so every profile it found must resolve.
		for _, name := range file.ProfileNames() {
			p, err := Resolve(file, name, nil, Overrides{})
			if err != nil {
				t.Fatalf("profile %q loaded but does not resolve: %v", name, err)
			}
			if p.MinTTL < 0 || p.LockTimeout <= 0 || p.HTTPTimeout <= 0 || p.ClientID < 0 {
				t.Fatalf("profile %q resolved out of range: %+v", name, p)
			}
			// A loaded base_url is one the IAM client will talk to (the reference's configuration).
			if _, err := baseurl.Parse(p.BaseURL); err != nil {
				t.Fatalf("profile %q loaded base_url %q that the IAM client refuses: %v", name, p.BaseURL, err)
			}
			for _, h := range p.AllowedHosts {
				if n, err := normalizeHost(h); err != nil || n != h {
					t.Fatalf("allowed host %q is not normal: %q, %v", h, n, err)
				}
			}
		}
	})
}

// FuzzDuration checks that a duration key loads exactly when Go parses it and it is in range.
func FuzzDuration(f *testing.F) {
	for _, seed := range []string{"5m", "90s", "0", "0s", "-1m", "1h30m", "5 minutes", "", "1e3s", "9223372036854775807ns", `a"b\c`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := quote(s)
		if err != nil {
			return
		}
		file, loadErr := parse("fuzz.toml", []byte("[profiles.default]\nmin_ttl = "+q+"\nhttp_timeout = "+q+"\n"))
		d, parseErr := time.ParseDuration(s)
		if wantOK := parseErr == nil && d > 0; (loadErr == nil) != wantOK {
			t.Fatalf("min_ttl/http_timeout %q: Load error %v, ParseDuration %v, %v", s, loadErr, d, parseErr)
		}
		if loadErr != nil {
			return
		}
		p, err := Resolve(file, "default", nil, Overrides{})
		if err != nil || p.MinTTL != d || p.HTTPTimeout != d {
			t.Fatalf("%q resolved to %v, %v (%v); want %v", s, p.MinTTL, p.HTTPTimeout, err, d)
		}
	})
}

// FuzzAddProfile checks the TOML quoting: whatever AddProfile accepts reads back unchanged.
func FuzzAddProfile(f *testing.F) {
	f.Add("default", "me@example.com", "https://api.gcore.com", int64(0), false)
	f.Add("ci.bot", `we"ird\user`, "http://127.0.0.1:8080/x/", int64(42), true)
	f.Add("x", "ünïcode 😀", "HTTPS://Example.COM:443", int64(-1), false)
	f.Fuzz(func(t *testing.T, name, username, baseURL string, clientID int64, apiToken bool) {
		p := defaults(name)
		p.Username, p.BaseURL, p.ClientID = username, baseURL, clientID
		if apiToken {
			p.Auth = AuthAPIToken
		}
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte("# existing\n[profiles.other]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		added, err := AddProfile(path, p)
		if err != nil {
			return
		}
		if !added && name != "other" {
			t.Fatalf("AddProfile(%q) = false for a new profile", name)
		}
		file, err := Load(path)
		if err != nil {
			t.Fatalf("file written by AddProfile does not load: %v", err)
		}
		if !added {
			return
		}
		got, err := Resolve(file, name, nil, Overrides{})
		if err != nil {
			t.Fatalf("Resolve after AddProfile: %v", err)
		}
		want := p
		if want.BaseURL == "" {
			want.BaseURL = DefaultBaseURL
		}
		want.BaseURL = normalizeBaseURL(want.BaseURL)
		if got.Name != want.Name || got.Username != want.Username || got.BaseURL != want.BaseURL ||
			got.ClientID != want.ClientID || got.Auth != want.Auth {
			t.Fatalf("read back %+v, want %+v", got, want)
		}
	})
}

// FuzzCheckName guards issue #5 item 4 (GCORE_PROFILE and --profile are hostile input): an
// accepted profile name is safe as one path component, and a refusal never repeats more than
// the longest name it could accept.
func FuzzCheckName(f *testing.F) {
	for _, seed := range []string{"default", "ci.bot-2_x", ".", "..", "../x", "a/b", "a\nb", "\xff", "", strings.Repeat("a", 65)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := checkName(name)
		if err != nil {
			// %q of 64 bytes is at most 4×64 escaped bytes, plus the explanation.
			if len(err.Error()) > 4*maxNameLen+100 {
				t.Fatalf("checkName error is %d bytes long: %.80q…", len(err.Error()), err)
			}
			return
		}
		if name == "" || len(name) > maxNameLen || name == "." || name == ".." ||
			strings.ContainsAny(name, "/\\\x00\n") || filepath.Base(name) != name {
			t.Fatalf("checkName accepted %q", name)
		}
	})
}
