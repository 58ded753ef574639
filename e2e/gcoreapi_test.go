//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// execInfoV1 is what kubectl passes a plugin that may not prompt.
const execInfoV1 = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`

// The tests of issue #11: the helper next to Gcore's own tools and against a fake that
// behaves as Gcore's documentation and clients say the real API does.

// apiTokenWorld has an api-token profile "tf" logged in with GCORE_API_KEY (the name Gcore's
// tools read), plus the default password profile's lines, and returns the token.
func apiTokenWorld(t *testing.T, extra ...string) (*world, string) {
	t.Helper()
	w := newWorld(t)
	token := w.iam.AddAPIToken(firstAccount, "terraform", nil)
	w.writeConfig(w.profile("default", email), w.profile("tf", "", append([]string{`auth = "api-token"`}, extra...)...))
	w.ok([]string{"GCORE_API_KEY=" + token}, "login", "--profile", "tf")
	return w, token
}

// TestAPITokenProfileOnCloud guards issue #11 items 1 and 3 and the reference's service credentials: an api-token profile
// logs in from GCORE_API_KEY, and its Cloud calls (registry users, cluster certificates) send
// its token as "APIKey", which the fake, like Gcore, requires: an API token sent as Bearer is
// refused.
func TestAPITokenProfileOnCloud(t *testing.T) {
	const project, region = 500, 76
	w, token := apiTokenWorld(t, fmt.Sprintf("project_id = %d\nregion_id = %d", project, region))
	w.iam.AddProject(firstAccount, project)
	_, url := w.iam.AddRegistry(project, region, "my-registry")
	host, _, _ := strings.Cut(url, "/")
	w.iam.AddCluster(fakeiam.Cluster{Project: project, Region: region, Name: "prod", Host: "https://127.0.0.1:6443"})
	// The registry entry names neither project nor region: the profile's apply.
	w.writeConfig(w.profile("default", email), w.profile("tf", "", `auth = "api-token"`,
		fmt.Sprintf("project_id = %d\nregion_id = %d", project, region),
		fmt.Sprintf("[[profiles.tf.registries]]\nhost = %q\nregistry = \"my-registry\"", host)))

	if got := w.token(nil, "--profile", "tf"); got != token {
		t.Fatal("get --profile tf does not print the API token")
	}
	// The docker persona answers for the profile whose registries have the host.
	program, stderr := w.dockerHelper()
	c, err := client.Get(program, host)
	if err != nil {
		t.Fatalf("docker get: %v\nstderr:\n%s", err, stderr)
	}
	if !w.iam.RegistryLoginValid(host, c.Username, c.Secret) {
		t.Errorf("the registry does not accept %q", c.Username)
	}
	if n := w.iam.Calls(fakeiam.CreateRegistryUser); n != 1 {
		t.Errorf("%d registry users created, want 1", n)
	}

	out := w.ok([]string{"KUBERNETES_EXEC_INFO=" + execInfoV1}, "kube", "--profile", "tf", "--cluster", "prod")
	var cred struct {
		Status struct {
			ClientCertificateData string `json:"clientCertificateData"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &cred); err != nil || !strings.Contains(cred.Status.ClientCertificateData, "CERTIFICATE") {
		t.Errorf("kube --cluster prod printed %q (%v), want a client certificate", out, err)
	}
}

// TestProjectAndRegionVariables guards issue #11 item 3: GCORE_CLOUD_PROJECT_ID and
// GCORE_CLOUD_REGION_ID default the cluster's project and region, and export passes the
// profile's on under the names Gcore's SDKs and Terraform v2 read.
func TestProjectAndRegionVariables(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.iam.AddProject(firstAccount, 600)
	w.iam.AddCluster(fakeiam.Cluster{Project: 600, Region: 76, Name: "prod", Host: "https://127.0.0.1:6443"})
	w.ok([]string{passwordEnv}, "login")
	env := []string{"GCORE_CLOUD_PROJECT_ID=600", "GCORE_CLOUD_REGION_ID=76", "KUBERNETES_EXEC_INFO=" + execInfoV1}
	if out := w.ok(env, "kube", "--cluster", "prod"); !strings.Contains(out, "clientCertificateData") {
		t.Errorf("kube --cluster prod with the variables printed %q", out)
	}
	if res := w.run(env[2:], "kube", "--cluster", "prod"); res.ExitCode != 2 || !strings.Contains(res.Stderr, "GCORE_CLOUD_PROJECT_ID") {
		t.Errorf("kube --cluster without a project: exit %d, stderr %q; want 2 naming the variables", res.ExitCode, res.Stderr)
	}

	var vars map[string]string
	if err := json.Unmarshal([]byte(w.ok(env[:2], "export", "--format", "json")), &vars); err != nil {
		t.Fatal(err)
	}
	if vars["GCORE_CLOUD_PROJECT_ID"] != "600" || vars["GCORE_CLOUD_REGION_ID"] != "76" {
		t.Errorf("export = %v, want the project and region passed on", vars)
	}
	w.ok(nil, "exec", "--", "sh", "-c", `test "$GCORE_CLOUD_PROJECT_ID" = ""`)
}

// TestRegistryNamedByNames guards issue #11 item 6: a registry entry with a project name, a
// region display name and a registry name, and no host, serves docker at the host its url
// names; the names are looked up once.
func TestRegistryNamedByNames(t *testing.T) {
	w := newWorld(t)
	w.iam.AddProjectNamed(firstAccount, 700, "staging")
	_, url := w.iam.AddRegistry(700, 76, "images")
	host, _, _ := strings.Cut(url, "/")
	w.configure("[[profiles.default.registries]]\nproject_name = \"staging\"\nregion_name = \"Luxembourg-2\"\nregistry = \"images\"")
	w.ok([]string{passwordEnv}, "login")
	program, stderr := w.dockerHelper()
	for range 2 {
		c, err := client.Get(program, host)
		if err != nil {
			t.Fatalf("docker get %s: %v\nstderr:\n%s", host, err, stderr)
		}
		if !w.iam.RegistryLoginValid(host, c.Username, c.Secret) {
			t.Errorf("the registry does not accept %q", c.Username)
		}
	}
	for e, want := range map[fakeiam.Endpoint]int{fakeiam.ListProjects: 1, fakeiam.ListRegions: 1, fakeiam.CreateRegistryUser: 1} {
		if got := w.iam.Calls(e); got != want {
			t.Errorf("%s: %d calls, want %d", e, got, want)
		}
	}
	if _, err := client.Get(program, "registry.elsewhere.example"); err == nil {
		t.Error("another host got a credential")
	}
}

// TestExecPerTool guards issue #11 item 4 and the reference's security rules: Terraform takes only API keys, so exec
// refuses to hand it a password profile's JWT and says how to mint a key; with --api-key it
// gets GCORE_API_KEY and GCORE_PERMANENT_TOKEN, and never the helper's own secrets.
func TestExecPerTool(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	bin := filepath.Join(w.sb.Bin, "terraform")
	script := "#!/bin/sh\nenv | grep '^GCORE_' | sort > \"$0.env\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	res := w.run([]string{passwordEnv}, "exec", "--", "terraform", "plan")
	if res.ExitCode != 2 || !strings.Contains(res.Stderr, "exec --api-key -- terraform") {
		t.Errorf("exec terraform with a JWT: exit %d, stderr %q; want 2 and the --api-key hint", res.ExitCode, res.Stderr)
	}
	w.ok([]string{passwordEnv, "GCORE_OTP=1", "GCORE_ASKPASS=/bin/false"}, "exec", "--api-key", "--", "terraform", "plan")
	env, err := os.ReadFile(bin + ".env")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GCORE_API_KEY=", "GCORE_PERMANENT_TOKEN=", "GCORE_CREDENTIAL_HELPER_PROFILE=default"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("terraform's environment lacks %s:\n%s", want, env)
		}
	}
	for _, banned := range []string{"GCORE_PASSWORD", "GCORE_OTP", "GCORE_ASKPASS", "GCORE_KEYRING_PASSPHRASE", "GCORE_CUSTOM_HEADERS", password} {
		if strings.Contains(string(env), banned) {
			t.Errorf("terraform's environment has %s:\n%s", banned, env)
		}
	}
}

// TestConfigVariable guards the reference's configuration and issues #10 and #11: the config file is named by
// GCORE_CREDENTIAL_HELPER_CONFIG, not gcore-cli's GCORE_CONFIG, and a named file that does not
// exist is an error rather than silent defaults.
func TestConfigVariable(t *testing.T) {
	w := newWorld(t)
	w.configure()
	w.ok([]string{passwordEnv}, "login")
	elsewhere := filepath.Join(t.TempDir(), "other.toml")
	if err := os.WriteFile(elsewhere, []byte(w.profile("default", email, `min_ttl = "7m"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	res := w.run([]string{"GCORE_CONFIG=/nonexistent/gcore-cli.yaml"}, "get", "--format", "token")
	checkExit(t, res, 0)
	res = w.run([]string{"GCORE_CREDENTIAL_HELPER_CONFIG=" + elsewhere + ".typo"}, "get")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, ".typo") || !strings.Contains(res.Stderr, "GCORE_CREDENTIAL_HELPER_CONFIG") {
		t.Errorf("a named missing config: exit %d, stderr %q; want an error naming it", res.ExitCode, res.Stderr)
	}
	if out := w.ok([]string{"GCORE_CREDENTIAL_HELPER_CONFIG=" + elsewhere}, "status"); !strings.Contains(out, "profile default") {
		t.Errorf("status with the named config:\n%s", out)
	}
}
