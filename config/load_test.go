package config

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "config.toml")
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load of a missing file: %v", err)
	}
	if f.Exists || f.Path != path || len(f.ProfileNames()) != 0 {
		t.Errorf("Load of a missing file = %+v, want an empty File", f)
	}
}

// Issue #10, #11: a file the user named is never silently replaced by defaults; the XDG
// default may be absent.
func TestLoadPathsNamedMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.toml")
	if _, err := LoadPaths(Paths{ConfigFile: path, ConfigNamed: true}); err == nil ||
		!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), ConfigVar) {
		t.Errorf("LoadPaths of a named missing file: error %v, want one naming the file and %s", err, ConfigVar)
	}
	f, err := LoadPaths(Paths{ConfigFile: path})
	if err != nil || f.Exists {
		t.Errorf("LoadPaths of a missing default file = %+v, %v; want an empty File", f, err)
	}
	named := writeConfig(t, "[profiles.x]\n", 0o600)
	if f, err := LoadPaths(Paths{ConfigFile: named, ConfigNamed: true}); err != nil || !f.HasProfile("x") {
		t.Errorf("LoadPaths of a named file = %+v, %v", f, err)
	}
}

func TestLoadEmpty(t *testing.T) {
	f := mustLoad(t, "# nothing yet\n")
	if !f.Exists || len(f.ProfileNames()) != 0 {
		t.Errorf("Load of a comment-only file = %+v", f)
	}
}

func TestLoadAPIKeyAndRegistries(t *testing.T) {
	f := mustLoad(t, `[profiles.default]
username = "me@example.com"
api_key_ttl = "6h"
api_key_role = "Engineers"

[[profiles.default.registries]]
host = "Registry.Luxembourg-2.cloud.gcore.dev"
project_id = 1
region_id = 76
registry = "my-registry"

[profiles.inline]
registries = [{host = "r.example:5000", project_id = 2, region_id = 3, registry_id = 4, read_only = false, user_ttl_days = 7}]
`)
	p, err := Resolve(f, "default", nil, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.APIKeyTTL != 6*time.Hour || p.APIKeyRole != "Engineers" {
		t.Errorf("api key settings = %s, %q", p.APIKeyTTL, p.APIKeyRole)
	}
	want := []Registry{{Host: "registry.luxembourg-2.cloud.gcore.dev", ProjectID: 1, RegionID: 76, RegistryName: "my-registry", ReadOnly: true, UserTTLDays: 1}}
	if diff := cmp.Diff(want, p.Registries); diff != "" {
		t.Errorf("registries (-want +got):\n%s", diff)
	}
	inline, err := Resolve(f, "inline", nil, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := inline.RegistryFor("r.example:5000"); !ok || r.RegistryID != 4 || r.ReadOnly || r.UserTTLDays != 7 {
		t.Errorf("inline registry = %+v, %v", r, ok)
	}
}

func TestLoadRegistryErrors(t *testing.T) {
	for _, tc := range []struct{ entry, want string }{
		{`{host = "r", project_id = 1, project_name = "p", region_id = 2, registry_id = 3}`, "by id or by name, not both"},
		{`{host = "r", project_id = 1, region_name = "", registry_id = 3}`, "must not be empty"},
		{`{host = "r", project_id = 1, region_id = 2}`, "exactly one of registry_id and registry"},
		{`{host = "r", project_id = 1, region_id = 2, registry_id = 3, registry = "x"}`, "exactly one of registry_id and registry"},
		{`{host = "https://r/x", project_id = 1, region_id = 2, registry_id = 3}`, "registries[0].host"},
		{`{host = "r", project_id = -1, region_id = 2, registry_id = 3}`, "must be positive"},
		{`{host = "r", project_id = 1, region_id = 2, registry_id = 3, colour = "red"}`, "registries[0].colour: unknown key"},
		{`{host = "r", project_id = 1, region_id = 2, registry_id = 3, read_only = "yes"}`, "want a boolean"},
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte("[profiles.p]\nregistries = ["+tc.entry+"]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.entry, err, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{
			name:    "unknown key",
			content: "# comment\n[profiles.default]\nusername = \"me@example.com\"\nusernme = \"x\"\n",
			want:    `line 4: unknown key "profiles.default.usernme"`,
		},
		{
			name:    "keys are case-sensitive",
			content: "[profiles.default]\nUsername = \"x\"\n",
			want:    `line 2: unknown key "profiles.default.Username"`,
		},
		{
			// toml knows no line for a table that [profile.default] only implies.
			name:    "unknown top-level table",
			content: "[profile.default]\nusername = \"x\"\n",
			want:    `: unknown key "profile"`,
		},
		{
			name:    "unknown top-level key",
			content: "foo = 1\n[profiles.default]\n",
			want:    `line 1: unknown key "foo"`,
		},
		{
			name:    "invalid UTF-8",
			content: "[profiles.default]\nusername = \"\xff\xfe\"\n",
			want:    "line 2: invalid UTF-8 byte",
		},
		{
			name:    "NUL byte",
			content: "[profiles.default]\nusername = \"a\x00b\"\n",
			want:    "line 2: ",
		},
		{
			name:    "syntax error",
			content: "[profiles.default]\nusername = \"me\n",
			want:    "line 2: ",
		},
		{
			name:    "duplicate key",
			content: "[profiles.default]\nusername = \"a\"\nusername = \"b\"\n",
			want:    "line 3: ",
		},
		{
			name:    "client_id string",
			content: "[profiles.default]\nclient_id = \"12345\"\n",
			want:    `line 2: key "profiles.default.client_id": want an integer, got a string`,
		},
		{
			name:    "client_id negative",
			content: "[profiles.default]\nclient_id = -3\n",
			want:    `line 2: key "profiles.default.client_id": client id must not be negative, got -3`,
		},
		{
			name:    "username integer in inline table",
			content: "[profiles]\ndefault = { username = 42 }\n",
			want:    `line 2: key "profiles.default.username": want a string, got an integer`,
		},
		{
			name:    "profiles not a table",
			content: "profiles = [1, 2]\n",
			want:    `line 1: key "profiles": want a table, got an array`,
		},
		{
			name:    "profile not a table",
			content: "[profiles]\ndefault = \"x\"\n",
			want:    `line 2: key "profiles.default": want a table, got a string`,
		},
		{
			name:    "bad profile name",
			content: "[profiles.\"my profile\"]\n",
			want:    `line 1: key "profiles.\"my profile\"": invalid profile name "my profile"`,
		},
		{
			name:    "min_ttl integer",
			content: "[profiles.default]\nmin_ttl = 300\n",
			want:    `line 2: key "profiles.default.min_ttl": want a duration string such as "5m" or "90s", got an integer`,
		},
		{
			name:    "min_ttl unparsable",
			content: "[profiles.default]\nmin_ttl = \"5 minutes\"\n",
			want:    `line 2: key "profiles.default.min_ttl": invalid duration "5 minutes"`,
		},
		{
			// Only the first 64 characters of a bad value are repeated.
			name:    "min_ttl of 500 KB",
			content: "[profiles.default]\nmin_ttl = \"" + strings.Repeat("9", 500<<10) + "\"\n",
			want:    `line 2: key "profiles.default.min_ttl": invalid duration "` + strings.Repeat("9", 64) + `": want a duration`,
		},
		{
			name:    "min_ttl negative",
			content: "[profiles.default]\nmin_ttl = \"-1m\"\n",
			want:    `line 2: key "profiles.default.min_ttl": min TTL must not be negative, got -1m0s`,
		},
		{
			name:    "http_timeout zero",
			content: "[profiles.default]\nhttp_timeout = \"0s\"\n",
			want:    `line 2: key "profiles.default.http_timeout": timeout must be positive, got 0s`,
		},
		{
			name:    "lock_timeout bool",
			content: "[profiles.default]\nlock_timeout = true\n",
			want:    `line 2: key "profiles.default.lock_timeout": want a duration string such as "5m" or "90s", got a boolean`,
		},
		{
			name:    "auth",
			content: "[profiles.default]\nauth = \"token\"\n",
			want:    `line 2: key "profiles.default.auth": want "password" or "api-token", got "token"`,
		},
		{
			name:    "backend",
			content: "[profiles.default]\nbackend = \"vault\"\n",
			want:    `line 2: key "profiles.default.backend": want one of auto, file,`,
		},
		{
			name:    "base_url without scheme",
			content: "[profiles.default]\nbase_url = \"api.gcore.com\"\n",
			want:    `line 2: key "profiles.default.base_url": base URL must be absolute`,
		},
		{
			name:    "base_url plain http to a public host",
			content: "[profiles.default]\nbase_url = \"http://api.example.com\"\n",
			want:    `line 2: key "profiles.default.base_url": base url http://api.example.com: insecure url: use https`,
		},
		{
			name:    "base_url ftp",
			content: "[profiles.default]\nbase_url = \"ftp://api.gcore.com\"\n",
			want:    `line 2: key "profiles.default.base_url": base url scheme "ftp": insecure url`,
		},
		{
			name:    "allowed_hosts with scheme",
			content: "[profiles.default]\nallowed_hosts = [\"git.example.com\", \"https://github.com\"]\n",
			want:    `line 2: key "profiles.default.allowed_hosts": entry "https://github.com": want a host name or host:port`,
		},
		{
			name:    "allowed_hosts with path",
			content: "[profiles.default]\nallowed_hosts = [\"git.example.com/org\"]\n",
			want:    `entry "git.example.com/org": want a host name or host:port`,
		},
		{
			name:    "allowed_hosts a string",
			content: "[profiles.default]\nallowed_hosts = \"git.example.com\"\n",
			want:    `line 2: key "profiles.default.allowed_hosts": want an array of strings, got a string`,
		},
		{
			name:    "allowed_hosts mixed",
			content: "[profiles.default]\nallowed_hosts = [\"a.example\", 3]\n",
			want:    `want an array of strings, got an array`,
		},
		{
			name:    "api_key_ttl of the wrong type",
			content: "[profiles.default]\napi_key_ttl = 12\n",
			want:    `line 2: key "profiles.default.api_key_ttl": want a duration string`,
		},
		{
			name:    "registries not tables",
			content: "[profiles.default]\nregistries = [\"r.example\"]\n",
			want:    `line 2: key "profiles.default.registries": want an array of tables, got an array`,
		},
		{
			name:    "registries a table",
			content: "[profiles.default.registries]\nhost = \"r.example\"\n",
			want:    `line 1: key "profiles.default.registries": want an array of tables, got a table`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.content, 0o600)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			if prefix := "config " + path + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestLoadBaseURLSchemes guards the reference's configuration: a base_url in the file is https, or plain http only to
// a loopback address (issue #5 item 4, hostile input).
func TestLoadBaseURLSchemes(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://api.gcore.com", true},
		{"HTTPS://API.gcore.com/", true},
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3", true},
		{"http://[::1]:8080/x", true},
		{"http://localhost:1", true},
		{"http://api.gcore.com", false},
		{"http://10.0.0.1", false},
		{"http://localhost.example.com", false},
		{"ws://127.0.0.1", false},
	} {
		t.Run(tt.url, func(t *testing.T) {
			_, err := Load(writeConfig(t, fmt.Sprintf("[profiles.default]\nbase_url = %q\n", tt.url), 0o600))
			if (err == nil) != tt.ok {
				t.Fatalf("Load with base_url %q: error %v, want ok=%v", tt.url, err, tt.ok)
			}
		})
	}
}

// TestLoadTooLarge guards issue #5 item 4: the config file is read with a bound, and a file past
// it is refused by name, not read into memory.
func TestLoadTooLarge(t *testing.T) {
	body := "[profiles.default]\n# " + strings.Repeat("x", maxFileSize) + "\n"
	path := writeConfig(t, body, 0o600)
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "config "+path+": larger than 1048576 bytes") {
		t.Fatalf("Load of a %d-byte file: error %v, want it refused as too large", len(body), err)
	}
	// A file just under the bound still loads.
	if _, err := Load(writeConfig(t, "# "+strings.Repeat("x", maxFileSize-3)+"\n", 0o600)); err != nil {
		t.Fatalf("Load of a %d-byte file: %v", maxFileSize, err)
	}
}

func TestLoadErrorKeepsSecretsOut(t *testing.T) {
	_, err := Load(writeConfig(t, "[profiles.default]\nbase_url = \"https://me:hunter2@api.gcore.com\"\n", 0o600))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Load error = %v, want an error that does not echo the password", err)
	}
}

func TestLoadPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX permission bits")
	}
	tests := []struct {
		mode   os.FileMode
		refuse bool
	}{
		{0o600, false},
		{0o644, false},
		{0o400, false},
		{0o620, true},
		{0o602, true},
		{0o666, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			_, err := Load(writeConfig(t, "[profiles.default]\n", tt.mode))
			if got := errors.Is(err, ErrInsecure); got != tt.refuse {
				t.Fatalf("Load of a %04o file: error %v, want refused=%v", tt.mode, err, tt.refuse)
			}
			if tt.refuse && !strings.Contains(err.Error(), "config.toml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestLoadForeignOwner guards the reference's security rules and issue #5 item 4 ("files owned by another user"): a
// config file another user owns could be rewritten by them to run any password_command, so it
// is refused by path, whatever its mode, and nothing in it is used.
func TestLoadForeignOwner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX owners")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	path := writeConfig(t, "[profiles.default]\npassword_command = \"evil\"\n", 0o644)
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := "config " + path + ": refusing a config file other users could change: it is owned by uid 65534, not by this user (uid 0) or root"
	if !errors.Is(err, ErrInsecure) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Load of a file owned by uid 65534 = %v, want %q", err, want)
	}
}

func TestLoadNotRegular(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a directory: error %v, want \"not a regular file\"", err)
	}
}

// TestLoadFIFO: a FIFO with no writer at the config's path is refused at
// once; opening it blocking would hang every call.
func TestLoadFIFO(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if out, err := exec.Command("mkfifo", "-m", "600", path).CombinedOutput(); err != nil {
		t.Skipf("no FIFOs: %v %s", err, out)
	}
	err := harness.Within(t, 30*time.Second, "Load of a FIFO with no writer", func() error { _, err := Load(path); return err })
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a FIFO: error %v, want \"not a regular file\"", err)
	}
}

func TestLoadFollowsSymlink(t *testing.T) {
	target := writeConfig(t, "[profiles.linked]\n", 0o600)
	link := filepath.Join(t.TempDir(), "config.toml")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	f, err := Load(link)
	if err != nil || !f.HasProfile("linked") {
		t.Errorf("Load through a symlink = %v, %v", f, err)
	}
}

func BenchmarkLoadResolve(b *testing.B) {
	path := writeConfig(b, `[profiles.default]
username = "me@example.com"
client_id = 12345
min_ttl = "5m"
allowed_hosts = ["git.example.com", "registry.example.com:5000"]

[profiles.work]
base_url = "https://api.gcore.com"
auth = "api-token"
backend = "file"
`, 0o600)
	for b.Loop() {
		f, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Resolve(f, "default", nil, Overrides{}); err != nil {
			b.Fatal(err)
		}
	}
}
