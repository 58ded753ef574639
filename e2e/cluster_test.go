//go:build linux

package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// TestManagedKubernetesWithRealKubectl guards the reference's service credentials (Managed Kubernetes), issue #4 "done
// when" 3: a kubeconfig written by `setup kubectl --cluster … --write` lets the real kubectl
// reach a fake kube-apiserver that requires the cluster's client certificate over TLS; after
// logout the same kubectl call fails with our exit 3 and hint.
func TestManagedKubernetesWithRealKubectl(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	w := newWorld(t)
	w.configure()
	const project, region = 600, 76
	w.iam.AddProject(firstAccount, project)
	w.iam.AddCluster(fakeiam.Cluster{Project: project, Region: region, Name: "prod"})
	api := w.iam.StartKubeAPIServer(t, project, region, "prod", nil)
	kubeconfig := filepath.Join(w.sb.Home, ".kube", "config")
	env := []string{"KUBECONFIG=" + kubeconfig}

	w.ok([]string{passwordEnv}, "login")
	w.ok(env, "setup", "kubectl", "--cluster", "prod", "--project-id", "600", "--region-id", "76", "--write")

	res := w.client(env, "", kubectl, "get", "--raw", "/version")
	if res.ExitCode != 0 {
		t.Fatalf("kubectl get --raw /version: exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
	if !slices.Contains(api.ClientNames(), "gcore-user") {
		t.Errorf("the apiserver saw client certificates %v, want the cluster's", api.ClientNames())
	}
	fetches := w.iam.Calls(fakeiam.ClusterConfig)
	if res := w.client(env, "", kubectl, "get", "--raw", "/version"); res.ExitCode != 0 {
		t.Fatalf("second kubectl call: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := w.iam.Calls(fakeiam.ClusterConfig); got != fetches {
		t.Errorf("a second kubectl call fetched the cluster config again (%d → %d)", fetches, got)
	}

	status := w.ok(nil, "status")
	if !strings.Contains(status, "cluster:   600/76/prod, certificate expires") || strings.Contains(status, "PRIVATE KEY") {
		t.Errorf("status does not show the cached cluster certificate (or shows its key):\n%s", status)
	}

	w.ok(nil, "logout", "--yes")
	res = w.client(env, "", kubectl, "get", "--raw", "/version")
	if res.ExitCode == 0 {
		t.Fatal("kubectl still reached the cluster after logout")
	}
	for _, want := range []string{`login required for profile "default"`, "hint: run 'gcore-credential-helper login --profile default' in a terminal", "exit code 3"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("kubectl's stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
}
