package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAddProfileCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gcore-credential-helper")
	path := filepath.Join(dir, "config.toml")
	p := defaults("default")
	p.Username = `me+"quoted"\@example.com`
	p.ClientID = 12345
	p.Backend = "file"         // not a login setting: never written
	p.MinTTL = time.Minute     // likewise
	p.PasswordCommand = "pass" // likewise

	added, err := AddProfile(path, p)
	if err != nil || !added {
		t.Fatalf("AddProfile = %v, %v; want true, nil", added, err)
	}
	want := "[profiles.default]\nusername = \"me+\\\"quoted\\\"\\\\@example.com\"\nclient_id = 12345\n"
	if diff := cmp.Diff(want, readFile(t, path)); diff != "" {
		t.Errorf("new file (-want +got):\n%s", diff)
	}
	if runtime.GOOS != "windows" {
		for name, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s mode %04o, want %04o", name, got, want)
			}
		}
	}
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load after AddProfile: %v", err)
	}
	got, err := Resolve(f, "default", nil, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	wantP := defaults("default")
	wantP.Username, wantP.ClientID = p.Username, p.ClientID
	if diff := cmp.Diff(wantP, got); diff != "" {
		t.Errorf("re-loaded profile (-want +got):\n%s", diff)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only config.toml (no temp files left)", len(entries))
	}
}

func TestAddProfileAppends(t *testing.T) {
	tests := []struct {
		name, old string
	}{
		{"with trailing newline", "# my settings\n[profiles.default] # mine\nusername = \"me@example.com\" # keep\n\tmin_ttl   =   \"10m\"\n"},
		{"without trailing newline", "# my settings\n[profiles.default]\nusername = \"me@example.com\""},
		{"comment only", "# nothing here yet"},
		{"empty", ""},
		{"crlf", "[profiles.default]\r\nusername = \"me@example.com\"\r\n"},
		{"dotted keys", "profiles.default.username = \"me@example.com\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.old, 0o600)
			p := defaults("ci.bot")
			p.BaseURL = "http://127.0.0.1:8080/"
			p.Auth = AuthAPIToken
			added, err := AddProfile(path, p)
			if err != nil || !added {
				t.Fatalf("AddProfile = %v, %v; want true, nil", added, err)
			}
			got := readFile(t, path)
			if !strings.HasPrefix(got, tt.old) {
				t.Fatalf("existing bytes changed:\nold %q\nnew %q", tt.old, got)
			}
			sep := "\n\n"
			switch {
			case tt.old == "":
				sep = ""
			case strings.HasSuffix(tt.old, "\n"):
				sep = "\n"
			}
			wantTail := sep + "[profiles.\"ci.bot\"]\nbase_url = \"http://127.0.0.1:8080\"\nauth = \"api-token\"\n"
			if diff := cmp.Diff(wantTail, got[len(tt.old):]); diff != "" {
				t.Errorf("appended text (-want +got):\n%s", diff)
			}

			f, err := Load(path)
			if err != nil {
				t.Fatalf("Load after AddProfile: %v", err)
			}
			r, err := Resolve(f, "ci.bot", nil, Overrides{})
			if err != nil || r.Auth != AuthAPIToken || r.BaseURL != "http://127.0.0.1:8080" {
				t.Errorf("re-loaded profile = %+v, %v", r, err)
			}

			// Idempotent: a second call finds the profile and writes nothing.
			added, err = AddProfile(path, p)
			if err != nil || added {
				t.Errorf("second AddProfile = %v, %v; want false, nil", added, err)
			}
			if again := readFile(t, path); again != got {
				t.Errorf("second AddProfile changed the file:\n%q\n%q", got, again)
			}
		})
	}
}

func TestAddProfileExisting(t *testing.T) {
	const old = "[profiles.default]\nusername = \"me@example.com\"\n"
	path := writeConfig(t, old, 0o600)
	p := defaults("default")
	p.Username = "someone-else@example.com"
	added, err := AddProfile(path, p)
	if err != nil || added {
		t.Fatalf("AddProfile of an existing profile = %v, %v; want false, nil", added, err)
	}
	if got := readFile(t, path); got != old {
		t.Errorf("file changed: %q", got)
	}
}

func TestAddProfileKeepsModeAndSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permission bits")
	}
	target := writeConfig(t, "# dotfiles\n", 0o644)
	link := filepath.Join(t.TempDir(), "config.toml")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	if added, err := AddProfile(link, defaults("work")); err != nil || !added {
		t.Fatalf("AddProfile = %v, %v", added, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v, %v", fi, err)
	}
	if got, want := readFile(t, target), "# dotfiles\n\n[profiles.work]\n"; got != want {
		t.Errorf("target = %q, want %q", got, want)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %04o, want the original 0644", fi.Mode().Perm())
	}
}

func TestAddProfileRefuses(t *testing.T) {
	withUser := func(u string) Profile { p := defaults("default"); p.Username = u; return p }
	tests := []struct {
		name, old string
		mode      os.FileMode
		p         Profile
		want      string
	}{
		{
			name: "broken file",
			old:  "[profiles.default]\nusernme = \"x\"\n",
			p:    defaults("work"),
			want: `unknown key "profiles.default.usernme"`,
		},
		{
			name: "bad name",
			p:    defaults("a/b"),
			want: `invalid profile name "a/b"`,
		},
		{
			name: "control character",
			p:    withUser("me@example.com\n[profiles.evil]"),
			want: "username must be valid UTF-8 without control characters",
		},
		{
			name: "invalid UTF-8",
			p:    withUser("me\xff@example.com"),
			want: "username must be valid UTF-8",
		},
		{
			name: "bad auth",
			p:    Profile{Name: "x", Auth: "token"},
			want: `auth: want "password" or "api-token", got "token"`,
		},
		{
			name: "bad base URL",
			p:    Profile{Name: "x", BaseURL: "api.example.com"},
			want: "base URL must be absolute",
		},
		{
			name: "negative client id",
			p:    Profile{Name: "x", ClientID: -1},
			want: "client id must not be negative",
		},
		{
			name: "insecure file",
			old:  "# shared\n",
			mode: 0o666,
			p:    defaults("work"),
			want: ErrInsecure.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode != 0 && runtime.GOOS == "windows" {
				t.Skip("no POSIX permission bits")
			}
			mode := tt.mode
			if mode == 0 {
				mode = 0o600
			}
			path := writeConfig(t, tt.old, mode)
			added, err := AddProfile(path, tt.p)
			if err == nil || added || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("AddProfile = %v, %v; want false and an error containing %q", added, err, tt.want)
			}
			if got := readFile(t, path); got != tt.old {
				t.Errorf("file changed to %q", got)
			}
		})
	}
}

func TestUpdateProfile(t *testing.T) {
	const before = "# my profiles\n[profiles.default]\nusername = \"me@example.com\" # me\nclient_id = 1001\n\n[profiles.other]\nclient_id = 7\n"
	for _, tc := range []struct {
		name        string
		p           Profile
		want        string
		wantChanged bool
	}{
		{"replace client_id", Profile{Name: "default", ClientID: 1002},
			"# my profiles\n[profiles.default]\nusername = \"me@example.com\" # me\nclient_id = 1002\n\n[profiles.other]\nclient_id = 7\n", true},
		{"insert username", Profile{Name: "other", Username: "ops@example.com"},
			"# my profiles\n[profiles.default]\nusername = \"me@example.com\" # me\nclient_id = 1001\n\n[profiles.other]\nusername = \"ops@example.com\"\nclient_id = 7\n", true},
		{"same values", Profile{Name: "default", Username: "me@example.com", ClientID: 1001}, before, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
				t.Fatal(err)
			}
			changed, err := UpdateProfile(path, tc.p)
			if err != nil || changed != tc.wantChanged {
				t.Fatalf("UpdateProfile = %v, %v; want %v, nil", changed, err, tc.wantChanged)
			}
			got, _ := os.ReadFile(path)
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Fatalf("file (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateProfileRefusesWhatItCannotEdit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	const before = "profiles.default.client_id = 1001\n"
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := UpdateProfile(path, Profile{Name: "default", ClientID: 5}); err == nil || !strings.Contains(err.Error(), "by hand") {
		t.Fatalf("err = %v, want an edit-by-hand error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != before {
		t.Fatalf("file changed: %q", got)
	}
}
