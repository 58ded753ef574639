package config

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestResolvePrecedence(t *testing.T) {
	const fileURL, envURL, flagURL = "https://file.example", "https://env.example", "https://flag.example"
	tests := []struct {
		name        string
		file        string
		env         map[string]string
		o           Overrides
		wantURL     string
		wantBackend string
		wantMinTTL  time.Duration
	}{
		{
			name:        "defaults",
			wantURL:     DefaultBaseURL,
			wantBackend: "auto",
			wantMinTTL:  DefaultMinTTL,
		},
		{
			name:        "file beats default",
			file:        `base_url = "` + fileURL + `"` + "\nbackend = \"file\"\nmin_ttl = \"90s\"\n",
			wantURL:     fileURL,
			wantBackend: "file",
			wantMinTTL:  90 * time.Second,
		},
		{
			name:        "env beats file",
			file:        `base_url = "` + fileURL + `"` + "\nbackend = \"file\"\nmin_ttl = \"90s\"\n",
			env:         map[string]string{"GCORE_BASE_URL": envURL, "GCORE_KEYRING_BACKEND": "pass"},
			wantURL:     envURL,
			wantBackend: "pass",
			wantMinTTL:  90 * time.Second,
		},
		{
			name:        "flag beats env and file",
			file:        `base_url = "` + fileURL + `"` + "\nbackend = \"file\"\nmin_ttl = \"90s\"\n",
			env:         map[string]string{"GCORE_BASE_URL": envURL, "GCORE_KEYRING_BACKEND": "pass"},
			o:           Overrides{BaseURL: flagURL, Backend: "keyctl", MinTTL: ptr(time.Duration(0))},
			wantURL:     flagURL,
			wantBackend: "keyctl",
			wantMinTTL:  0,
		},
		{
			name:        "flag beats default",
			o:           Overrides{BaseURL: flagURL, Backend: "keyctl", MinTTL: ptr(time.Minute)},
			wantURL:     flagURL,
			wantBackend: "keyctl",
			wantMinTTL:  time.Minute,
		},
		{
			name:        "env beats default",
			env:         map[string]string{"GCORE_BASE_URL": envURL, "GCORE_KEYRING_BACKEND": "pass"},
			wantURL:     envURL,
			wantBackend: "pass",
			wantMinTTL:  DefaultMinTTL,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustLoad(t, "[profiles.default]\n"+tt.file)
			p, err := Resolve(f, "default", mapEnv(tt.env), tt.o)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			got := [3]any{p.BaseURL, p.Backend, p.MinTTL}
			want := [3]any{tt.wantURL, tt.wantBackend, tt.wantMinTTL}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(base URL, backend, min TTL) (-want +got):\n%s", diff)
			}
		})
	}
}

// Issue #11: Gcore's SDKs and Terraform v2 read GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID;
// they default the profile's project and region (env over file), and a registry entry that
// names neither takes the profile's.
func TestResolveProjectAndRegion(t *testing.T) {
	f := mustLoad(t, `[profiles.default]
project_id = 10
region_id = 20
registries = [
  {host = "a.example", registry_id = 1},
  {host = "b.example", registry_id = 2, project_id = 11, region_id = 21},
]
`)
	for _, tc := range []struct {
		name                  string
		env                   map[string]string
		project, region       int64
		regAProject, regBProj int64
	}{
		{"file", nil, 10, 20, 10, 11},
		{"env beats file", map[string]string{"GCORE_CLOUD_PROJECT_ID": "30", "GCORE_CLOUD_REGION_ID": "40"}, 30, 40, 30, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Resolve(f, "default", mapEnv(tc.env), Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := p.RegistryFor("a.example")
			b, _ := p.RegistryFor("b.example")
			got := []int64{p.ProjectID, p.RegionID, a.ProjectID, a.RegionID, b.ProjectID, b.RegionID}
			want := []int64{tc.project, tc.region, tc.regAProject, tc.region, tc.regBProj, 21}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(project, region, a's, b's) (-want +got):\n%s", diff)
			}
		})
	}
	// The file's own registries are not changed by a resolution.
	if p, _ := Resolve(f, "default", nil, Overrides{}); p.Registries[0].ProjectID != 10 {
		t.Errorf("a later resolution sees project %d", p.Registries[0].ProjectID)
	}
	for _, bad := range []string{"0", "-3", "abc", "1e3"} {
		if _, err := Resolve(f, "default", mapEnv(map[string]string{"GCORE_CLOUD_REGION_ID": bad}), Overrides{}); err == nil ||
			!strings.Contains(err.Error(), "GCORE_CLOUD_REGION_ID") {
			t.Errorf("GCORE_CLOUD_REGION_ID=%s: err = %v", bad, err)
		}
	}
}

func TestResolveUsernameAndClientID(t *testing.T) {
	f := mustLoad(t, "[profiles.default]\nusername = \"file@example.com\"\nclient_id = 7\n")
	p, err := Resolve(f, "default", nil, Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Username != "file@example.com" || p.ClientID != 7 {
		t.Errorf("from file: username %q client id %d", p.Username, p.ClientID)
	}
	p, err = Resolve(f, "default", nil, Overrides{Username: "flag@example.com", ClientID: ptr(int64(0))})
	if err != nil {
		t.Fatal(err)
	}
	if p.Username != "flag@example.com" || p.ClientID != 0 {
		t.Errorf("from flags: username %q client id %d", p.Username, p.ClientID)
	}
}

func TestResolveTwoProfiles(t *testing.T) {
	f := mustLoad(t, `# two accounts
[profiles.default]
username = "me@example.com"
client_id = 12345
allowed_hosts = ["Git.Example.com", "registry.example.com:5000"]

[profiles."ci.bot"]
base_url = "http://127.0.0.1:8080/"
auth = "api-token"
backend = "file"
min_ttl = "1m"
lock_timeout = "5s"
http_timeout = "3s"
password_command = "pass show gcore"
otp_command = "oathtool --totp -b KEY"
`)
	if diff := cmp.Diff([]string{"ci.bot", "default"}, f.ProfileNames()); diff != "" {
		t.Errorf("ProfileNames (-want +got):\n%s", diff)
	}
	want := map[string]Profile{
		"default": {
			Name:         "default",
			BaseURL:      DefaultBaseURL,
			Username:     "me@example.com",
			ClientID:     12345,
			Auth:         AuthPassword,
			Backend:      "auto",
			MinTTL:       DefaultMinTTL,
			AllowedHosts: []string{"git.example.com", "registry.example.com:5000"},
			LockTimeout:  30 * time.Second,
			HTTPTimeout:  20 * time.Second,
			APIKeyTTL:    DefaultAPIKeyTTL,
		},
		"ci.bot": {
			Name:            "ci.bot",
			BaseURL:         "http://127.0.0.1:8080",
			Auth:            AuthAPIToken,
			Backend:         "file",
			MinTTL:          time.Minute,
			PasswordCommand: "pass show gcore",
			OTPCommand:      "oathtool --totp -b KEY",
			LockTimeout:     5 * time.Second,
			HTTPTimeout:     3 * time.Second,
			APIKeyTTL:       DefaultAPIKeyTTL,
		},
		"absent": defaults("absent"),
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			got, err := Resolve(f, name, nil, Overrides{Create: name == "absent"})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("Resolve(%q) (-want +got):\n%s", name, diff)
			}
		})
	}

	// A caller appending to its profile's hosts must not change what the next Resolve sees.
	p, _ := Resolve(f, "default", nil, Overrides{})
	p.AllowedHosts[0] = "github.com"
	again, _ := Resolve(f, "default", nil, Overrides{})
	if again.AllowedHosts[0] != "git.example.com" {
		t.Errorf("Resolve shares AllowedHosts with the File: got %q", again.AllowedHosts[0])
	}
}

// TestUnknownProfile guards the reference's configuration and issue #10: a profile that is neither in the file nor
// "default" is an error naming it and the profiles there are, with a suggestion for a typo;
// only a login (Overrides.Create) makes one.
func TestUnknownProfile(t *testing.T) {
	f := mustLoad(t, "[profiles.default]\nusername = \"me@example.com\"\n[profiles.staging]\n[profiles.apitoken]\nauth = \"api-token\"\n")
	for _, tc := range []struct{ name, msg, suggestion string }{
		{"defualt", `unknown profile "defualt": the profiles are default, apitoken, staging`, "default"},
		{"stagign", `unknown profile "stagign": the profiles are default, apitoken, staging`, "staging"},
		{"nosuch", `unknown profile "nosuch": the profiles are default, apitoken, staging`, ""},
	} {
		_, err := Resolve(f, tc.name, nil, Overrides{})
		var u *UnknownProfileError
		if !errors.As(err, &u) || err.Error() != tc.msg || u.Suggestion() != tc.suggestion {
			t.Errorf("Resolve(%q) = %v (suggestion %q), want %q and %q", tc.name, err, u.Suggestion(), tc.msg, tc.suggestion)
		}
	}
	if _, err := Resolve(nil, "default", nil, Overrides{}); err != nil {
		t.Errorf("default without a file: %v", err)
	}
}

func TestResolveWithoutFile(t *testing.T) {
	for _, f := range []*File{nil, mustLoad(t, "")} {
		got, err := Resolve(f, "work", nil, Overrides{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(defaults("work"), got); diff != "" {
			t.Errorf("Resolve without profile (-want +got):\n%s", diff)
		}
		if f.HasProfile("work") {
			t.Errorf("HasProfile(work) = true for a file without it")
		}
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		env     map[string]string
		o       Overrides
		wantErr string
	}{
		{name: "empty name", profile: "", wantErr: `invalid profile name ""`},
		{name: "name with space", profile: "a b", wantErr: `invalid profile name "a b"`},
		{name: "name with slash", profile: "a/b", wantErr: `invalid profile name "a/b"`},
		{name: "dot dot", profile: "..", wantErr: `invalid profile name ".."`},
		{name: "name too long", profile: strings.Repeat("a", 65), wantErr: "invalid profile name: 65 bytes long, want at most 64"},
		{name: "name with newline", profile: "a\nb", wantErr: `invalid profile name "a\nb"`},
		{name: "name with invalid UTF-8", profile: "a\xffb", wantErr: `invalid profile name "a\xffb"`},
		{name: "name a path", profile: "../../etc", wantErr: `invalid profile name "../../etc"`},
		{name: "env backend", profile: "default", env: map[string]string{"GCORE_KEYRING_BACKEND": "vault"},
			wantErr: `GCORE_KEYRING_BACKEND: want one of auto, file, secret-service, kwallet, keychain, wincred, pass, keyctl, got "vault"`},
		{name: "env base URL", profile: "default", env: map[string]string{"GCORE_BASE_URL": "api.gcore.com"},
			wantErr: "GCORE_BASE_URL: base URL must be absolute"},
		{name: "flag base URL with credentials", profile: "default", o: Overrides{BaseURL: "https://u:s3cr3tpw@api.gcore.com"},
			wantErr: "base URL flag: base URL must not contain credentials"},
		{name: "flag base URL with query", profile: "default", o: Overrides{BaseURL: "https://api.gcore.com/?a=b"},
			wantErr: "base URL must not have a query or fragment"},
		{name: "flag backend", profile: "default", o: Overrides{Backend: "Auto"}, wantErr: `backend flag: want one of`},
		{name: "flag min TTL", profile: "default", o: Overrides{MinTTL: ptr(-time.Second)},
			wantErr: "min-ttl flag: min TTL must not be negative, got -1s"},
		{name: "flag client id", profile: "default", o: Overrides{ClientID: ptr(int64(-1))},
			wantErr: "client id flag: client id must not be negative, got -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(nil, tt.profile, mapEnv(tt.env), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resolve error = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3tpw") {
				t.Errorf("error echoes a secret: %v", err)
			}
		})
	}
}

func TestResolveNormalisesBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://API.Gcore.COM/":          "https://api.gcore.com",
		"https://api.gcore.com:443":       "https://api.gcore.com",
		"http://127.0.0.1:80/":            "http://127.0.0.1",
		"http://[::1]:8080/iam//":         "http://[::1]:8080/iam",
		"https://api.gcore.com/Some/Path": "https://api.gcore.com/Some/Path",
	} {
		p, err := Resolve(nil, "default", nil, Overrides{BaseURL: in})
		if err != nil {
			t.Fatalf("Resolve(%q): %v", in, err)
		}
		if p.BaseURL != want {
			t.Errorf("base URL %q resolved to %q, want %q", in, p.BaseURL, want)
		}
	}
}

func TestProfileName(t *testing.T) {
	tests := []struct {
		flag string
		env  map[string]string
		want string
	}{
		{want: "default"},
		{env: map[string]string{"GCORE_PROFILE": "work"}, want: "work"},
		{flag: "ci", env: map[string]string{"GCORE_PROFILE": "work"}, want: "ci"},
		{flag: "ci", want: "ci"},
	}
	for _, tt := range tests {
		if got := ProfileName(tt.flag, mapEnv(tt.env)); got != tt.want {
			t.Errorf("ProfileName(%q, %v) = %q, want %q", tt.flag, tt.env, got, tt.want)
		}
	}
}

func TestCacheKey(t *testing.T) {
	base := defaults("default")
	base.Username = "me@example.com"
	base.ClientID = 12345
	const user = "me@example.com"
	key := CacheKey(base, user)

	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) {
		t.Fatalf("CacheKey = %q, want 64 lower-case hex digits", key)
	}
	if CacheKey(base, user) != key {
		t.Errorf("CacheKey is not stable")
	}
	// Pinned so that a change of encoding, which would orphan every cached session, is deliberate.
	const pinned = "3f565a782dd90ef20905bf1d5b8cf49f39e885503baa7aa29c094861f636de25"
	if key != pinned {
		t.Errorf("CacheKey = %s, want %s", key, pinned)
	}

	same := base
	same.BaseURL = "HTTPS://API.GCORE.COM:443/"
	if CacheKey(same, user) != key {
		t.Errorf("CacheKey differs for an equivalent base URL")
	}

	variants := map[string]func(p *Profile) string{
		"profile":   func(p *Profile) string { p.Name = "work"; return user },
		"base URL":  func(p *Profile) string { p.BaseURL = "https://api.example.com"; return user },
		"user":      func(p *Profile) string { return "you@example.com" },
		"client id": func(p *Profile) string { p.ClientID = 1; return user },
		"no client": func(p *Profile) string { p.ClientID = 0; return user },
		"auth":      func(p *Profile) string { p.Auth = AuthAPIToken; return user },
		"shifted":   func(p *Profile) string { p.Name = "defaul"; return user + "t" },
	}
	seen := map[string]string{key: "base"}
	for name, change := range variants {
		p := base
		principal := change(&p)
		k := CacheKey(p, principal)
		if prev, dup := seen[k]; dup {
			t.Errorf("CacheKey for %q equals the one for %q", name, prev)
		}
		seen[k] = name
	}
}

func TestValidBackend(t *testing.T) {
	for _, b := range Backends() {
		if !ValidBackend(b) {
			t.Errorf("ValidBackend(%q) = false", b)
		}
	}
	for _, b := range []string{"", "Auto", "vault", "file "} {
		if ValidBackend(b) {
			t.Errorf("ValidBackend(%q) = true", b)
		}
	}
	// Backends hands out a fresh slice: a caller cannot change the set.
	Backends()[0] = "vault"
	if ValidBackend("vault") {
		t.Errorf("Backends shares its slice")
	}
}

func TestAllowedHosts(t *testing.T) {
	good := map[string]string{
		"git.example.com":           "git.example.com",
		"Registry.Example.COM":      "registry.example.com",
		"registry.example.com:5000": "registry.example.com:5000",
		"127.0.0.1:8443":            "127.0.0.1:8443",
		"[::1]":                     "[::1]",
		"[::1]:5000":                "[::1]:5000",
		"my_host":                   "my_host",
	}
	for in, want := range good {
		got, err := normalizeHost(in)
		if err != nil || got != want {
			t.Errorf("normalizeHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "https://git.example.com", "git.example.com/path", "user@git.example.com", "git.example.com:",
		"git.example.com:0", "git.example.com:65536", "git.example.com:http", "git.example.com:08",
		"*.example.com", "git example.com", "::1", "[]", "[zz]", ":5000",
	} {
		if got, err := normalizeHost(in); err == nil {
			t.Errorf("normalizeHost(%q) = %q, want an error", in, got)
		}
	}
}
