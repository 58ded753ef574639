//go:build linux

package e2e

import (
	"strings"
	"testing"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// TestCloudFailuresThroughTheCLI guards issue #4 "done when" 4: each new path fails with a clear
// message and an exit code of the reference's exit codes, and nothing is lost — the session survives, and the next
// call (fault gone) succeeds.
func TestCloudFailuresThroughTheCLI(t *testing.T) {
	const project, region = 700, 76
	tests := []struct {
		name       string
		at         fakeiam.Endpoint
		fault      fakeiam.Fault
		args       []string
		stdin      string
		wantExit   int
		wantStdout string // docker reports on stdout
		wantStderr string
	}{
		{name: "minting an API key is forbidden", at: fakeiam.CreateToken, fault: fakeiam.Fault{Status: 403, Times: 1},
			args: []string{"get", "--api-key"}, wantExit: 1, wantStderr: "mint API key for profile \"default\""},
		{name: "minting hits the 50-token cap", at: fakeiam.CreateToken,
			fault: fakeiam.Fault{Status: 400, Body: `{"errors":{"errors":["Too many tokens (50)"]}}`, Times: 1},
			args:  []string{"get", "--api-key"}, wantExit: 1, wantStderr: "too many tokens"},
		{name: "registry user create 5xx", at: fakeiam.CreateRegistryUser, fault: fakeiam.Fault{Status: 503, Times: 1},
			args: []string{"docker", "get"}, stdin: "REGISTRY", wantExit: 1,
			wantStdout: "credentials not found in native keychain", wantStderr: "registry login for"},
		{name: "registry list 429 beyond the deadline", at: fakeiam.ListRegistries,
			fault: fakeiam.Fault{Status: 429, RetryAfter: "3600", Times: 3},
			args:  []string{"docker", "get"}, stdin: "REGISTRY", wantExit: 1,
			wantStdout: "credentials not found in native keychain", wantStderr: "list registries"},
		{name: "cluster config 5xx", at: fakeiam.ClusterConfig, fault: fakeiam.Fault{Status: 502, Times: 3},
			args: []string{"kube", "--cluster", "prod", "--project-id", "700", "--region-id", "76"}, wantExit: 1,
			wantStderr: `fetch the config of cluster "prod"`},
		{name: "cluster not provisioned", args: []string{"kube", "--cluster", "young", "--project-id", "700", "--region-id", "76"},
			wantExit: 1, wantStderr: `cluster "young" is Provisioning`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.iam.AddProject(firstAccount, project)
			_, url := w.iam.AddRegistry(project, region, "my-registry")
			host := strings.SplitN(url, "/", 2)[0]
			w.iam.AddCluster(fakeiam.Cluster{Project: project, Region: region, Name: "prod", Host: "https://127.0.0.1:6443"})
			w.iam.AddCluster(fakeiam.Cluster{Project: project, Region: region, Name: "young", Status: "Provisioning"})
			w.configure(`min_ttl = "5m"`, `[[profiles.default.registries]]`, `host = "`+host+`"`,
				`project_id = 700`, `region_id = 76`, `registry = "my-registry"`)
			w.ok([]string{passwordEnv}, "login")
			if tt.at != "" {
				w.iam.Inject(tt.at, tt.fault)
			}
			cmd := w.cmd(nil, tt.args...)
			cmd.Stdin = strings.ReplaceAll(tt.stdin, "REGISTRY", host)
			res := harness.Runner{}.Run(t.Context(), cmd)
			checkExit(t, res, tt.wantExit)
			if !strings.Contains(res.Stdout, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", res.Stdout, tt.wantStdout)
			}
			if !strings.Contains(strings.ToLower(res.Stderr), strings.ToLower(tt.wantStderr)) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, res.Stderr)
			}
			// Nothing lost: the session still serves, and the path works once IAM does.
			w.iam.ClearFaults()
			w.ok(nil, "get", "--format", "token")
			if tt.name != "cluster not provisioned" {
				again := w.cmd(nil, tt.args...)
				again.Stdin = cmd.Stdin
				if res := (harness.Runner{}).Run(t.Context(), again); res.ExitCode != 0 {
					t.Errorf("after the fault cleared: exit %d\nstdout: %s\nstderr: %s", res.ExitCode, res.Stdout, res.Stderr)
				}
			}
		})
	}
}
