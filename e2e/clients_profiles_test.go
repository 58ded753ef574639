package e2e

import (
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
)

// Hosts that several profiles allow, for the tests of which profile answers.
const (
	sharedHost = "shared.example.com" // allowed by apitoken and default
	teamHost   = "team.example.com"   // allowed by team-a and team-b, not default
	onlyAHost  = "only-a.example.com" // allowed by team-a alone
)

// severalProfilesWorld has four profiles whose allowed_hosts overlap; the
// three password profiles are logged in, apitoken (first by name) is not.
// It returns each logged-in profile's access token.
func severalProfilesWorld(t *testing.T) (*world, map[string]string) {
	w := newWorld(t)
	w.writeConfig(
		"[profiles.apitoken]\nauth = \"api-token\"\nbase_url = \""+w.url+"\"\nbackend = \"file\"\nallowed_hosts = [\""+sharedHost+"\"]\n",
		w.profile("default", email, `allowed_hosts = ["`+sharedHost+`"]`),
		w.profile("team-a", email, `allowed_hosts = ["`+teamHost+`", "`+onlyAHost+`"]`),
		w.profile("team-b", email, `allowed_hosts = ["`+teamHost+`"]`),
	)
	tokens := map[string]string{}
	for _, p := range []string{"default", "team-a", "team-b"} {
		tokens[p] = w.token([]string{passwordEnv}, "--profile", p)
	}
	return w, tokens
}

// TestGitProfileForAHost guards issue #10: through the real `git credential
// fill`, a host is answered by `default` when it serves it (not by the first
// profile by name), else by the one profile that serves it; two that serve
// it are refused with the git config line that pins one, and that line works.
func TestGitProfileForAHost(t *testing.T) {
	gitBin := needTool(t, "git")
	w, tokens := severalProfilesWorld(t)
	w.persona("git-credential-gcore")
	w.gitConfig(gitGlobal)

	for host, profile := range map[string]string{sharedHost: "default", onlyAHost: "team-a"} {
		stdout, stderr, exit := w.git(gitBin, gitRequest("https", host), "credential", "fill")
		if exit != 0 || !strings.Contains(stdout, "password="+tokens[profile]+"\n") {
			t.Errorf("%s: git exited %d without profile %s's token\nstdout:\n%s\nstderr:\n%s", host, exit, profile, stdout, stderr)
		}
	}

	stdout, stderr, exit := w.git(gitBin, gitRequest("https", teamHost), "credential", "fill")
	if exit == 0 || strings.Contains(stdout, "password=") {
		t.Errorf("%s, served by two profiles: git exited %d with\n%s", teamHost, exit, stdout)
	}
	for _, want := range []string{
		"profiles team-a, team-b all serve " + teamHost,
		`git config --global credential.https://` + teamHost + `.helper "gcore --profile team-a"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", teamHost, want, stderr)
		}
	}

	// The pin the hint shows, for team-b.
	w.gitConfig(gitGlobal + "[credential \"https://" + teamHost + "\"]\n\thelper =\n\thelper = gcore --profile team-b\n")
	stdout, stderr, exit = w.git(gitBin, gitRequest("https", teamHost), "credential", "fill")
	if exit != 0 || !strings.Contains(stdout, "password="+tokens["team-b"]+"\n") {
		t.Errorf("pinned to team-b: git exited %d without its token\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
}

// TestDockerProfileForAHost is the same rule through docker's own client
// package: a host two profiles serve is refused with the hint to pin one,
// and the persona named after a profile pins it.
func TestDockerProfileForAHost(t *testing.T) {
	w, tokens := severalProfilesWorld(t)
	program, stderr := w.dockerHelper()

	got, err := client.Get(program, "https://"+sharedHost)
	if err != nil || got.Secret != tokens["default"] {
		t.Errorf("%s: docker got %v, %v; want profile default's token\nstderr:\n%s", sharedHost, got, err, stderr)
	}
	stderr.Reset()
	_, err = client.Get(program, "https://"+teamHost)
	if err == nil || !strings.Contains(err.Error(), "profiles team-a, team-b all serve "+teamHost) {
		t.Errorf("%s, served by two profiles: docker got error %v, want the refusal", teamHost, err)
	}
	if want := `"credHelpers": {"` + teamHost + `": "gcore-team-a"}`; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks the hint %q:\n%s", want, stderr)
	}

	pinned := w.persona("docker-credential-gcore-team-b")
	got, err = client.Get(func(args ...string) client.Program {
		p, _ := w.dockerHelper()
		prog := p(args...).(dockerProgram)
		prog.cmd.Path, prog.cmd.Args[0] = pinned, pinned
		return prog
	}, "https://"+teamHost)
	if err != nil || got.Secret != tokens["team-b"] {
		t.Errorf("docker-credential-gcore-team-b: docker got %v, %v; want team-b's token\nstderr:\n%s", got, err, stderr)
	}
}
