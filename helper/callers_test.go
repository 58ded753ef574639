package helper

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/G-Core/gcore-credential-helper/config"
)

// TestProfileFor: the pinned profile; else default when it serves the
// host; else the one profile that does; several are refused with a hint
// that pins the first; none falls back to default (which answers nothing).
func TestProfileFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	const toml = `
[profiles.apitoken]
auth = "api-token"
allowed_hosts = ["shared.example"]
[profiles.default]
allowed_hosts = ["shared.example"]
[profiles.team-a]
allowed_hosts = ["team.example", "a.example"]
[profiles.team-b]
allowed_hosts = ["team.example"]
`
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, flag, env string
		want            string
		wantAmbiguous   []string
		wantErr         bool
	}{
		{host: "shared.example", want: "default"}, // not apitoken, first by name
		{host: "a.example", want: "team-a"},
		{host: "nowhere.example", want: "default"},
		{host: "team.example", wantAmbiguous: []string{"team-a", "team-b"}},
		{host: "team.example", flag: "team-b", want: "team-b"},
		{host: "team.example", env: "team-a", want: "team-a"},
		{host: "team.example", flag: "team-b", env: "team-a", want: "team-b"},
		{host: "shared.example", flag: "apitoken", want: "apitoken"},
		{host: "team.example", flag: "team-c", wantErr: true}, // unknown: never a new profile
	}
	for _, tt := range tests {
		ps := Profiles{File: file, Flag: tt.flag, Getenv: func(k string) string {
			if k == "GCORE_PROFILE" {
				return tt.env
			}
			return ""
		}}
		p, err := ps.ProfileFor(tt.host, "git", servesGit)
		var ambiguous *AmbiguousHostError
		switch {
		case tt.wantAmbiguous != nil:
			if !errors.As(err, &ambiguous) || len(ambiguous.Profiles) != 2 ||
				ambiguous.Profiles[0] != tt.wantAmbiguous[0] || ambiguous.Profiles[1] != tt.wantAmbiguous[1] {
				t.Errorf("ProfileFor(%s) = %q, %v; want profiles %v refused", tt.host, p.Name, err, tt.wantAmbiguous)
			} else if want := `for git: git config --global credential.https://team.example.helper "gcore --profile team-a"`; ambiguous.Hint() != want {
				t.Errorf("hint %q, want %q", ambiguous.Hint(), want)
			}
		case tt.wantErr:
			var unknown *config.UnknownProfileError
			if !errors.As(err, &unknown) {
				t.Errorf("ProfileFor(%s) pinned to %s = %q, %v; want an unknown profile", tt.host, tt.flag, p.Name, err)
			}
		case err != nil || p.Name != tt.want:
			t.Errorf("ProfileFor(%s) flag %q env %q = %q, %v; want %s", tt.host, tt.flag, tt.env, p.Name, err, tt.want)
		}
	}
}

// TestKubeProfileName: --profile, then the cluster's exec extension, then
// GCORE_PROFILE, then default.
func TestKubeProfileName(t *testing.T) {
	tests := []struct{ flag, extension, env, want string }{
		{"", "", "", "default"},
		{"", "", "env", "env"},
		{"", "ext", "env", "ext"},
		{"flag", "ext", "env", "flag"},
		{"flag", "", "", "flag"},
	}
	for _, tt := range tests {
		k := Kube{Profiles: Profiles{Flag: tt.flag, Getenv: func(k string) string {
			if k == "GCORE_PROFILE" {
				return tt.env
			}
			return ""
		}}}
		if got := k.profileName(tt.extension); got != tt.want {
			t.Errorf("flag %q, extension %q, GCORE_PROFILE %q: %q, want %q", tt.flag, tt.extension, tt.env, got, tt.want)
		}
	}
}
