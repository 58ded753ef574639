package e2e

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// TestKubectlExecPlugin guards the reference's kube format and token engine (the cache hit is the product), issue #3
// "kubectl": the real kubectl runs the helper as its exec credential plugin with either API
// version, the token it hands over is one the fake kube-apiserver accepts, a later kubectl is
// served from the cache without a call to IAM, and the ExecCredential echoes kubectl's
// apiVersion with expirationTimestamp = exp − min_ttl.
func TestKubectlExecPlugin(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	tests := []struct {
		name       string
		apiVersion string
		stanza     map[string]any // the exec stanza beyond apiVersion, command and args
	}{
		{name: "v1", apiVersion: "client.authentication.k8s.io/v1", stanza: map[string]any{"interactiveMode": "Never"}},
		{name: "v1beta1", apiVersion: "client.authentication.k8s.io/v1beta1"},
		{
			// kubectl then adds spec.cluster (server, CA) to KUBERNETES_EXEC_INFO.
			name:       "v1 with cluster info",
			apiVersion: "client.authentication.k8s.io/v1",
			stanza:     map[string]any{"interactiveMode": "IfAvailable", "provideClusterInfo": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.configure()
			api := newKubeAPI(t, w.iam.AccessTokenValid)
			env := []string{"KUBECONFIG=" + api.kubeconfig(t, t.TempDir(), helperStanza(tt.apiVersion, tt.stanza))}

			// No session yet: the plugin logs in from GCORE_PASSWORD, which needs no terminal (prompts).
			res := w.client(append(env, passwordEnv), "", kubectl, "get", "namespaces", "-o", "name")
			checkExit(t, res, 0)
			want := ""
			for _, ns := range api.namespaces {
				want += "namespace/" + ns + "\n"
			}
			if diff := cmp.Diff(want, res.Stdout); diff != "" {
				t.Errorf("kubectl get namespaces (-want +got):\n%s", diff)
			}
			if got := w.iam.Calls(fakeiam.Login); got != 1 {
				t.Errorf("%d login calls for the first kubectl, want 1", got)
			}
			calls := w.iamCalls()

			res = w.client(env, "", kubectl, "get", "--raw", "/version")
			checkExit(t, res, 0)
			if !strings.Contains(res.Stdout, "v1.32.0-gcore-e2e") {
				t.Errorf("kubectl get --raw /version printed %q, want the fake's version", res.Stdout)
			}
			if got := w.iamCalls() - calls; got != 0 {
				t.Errorf("the second kubectl made %d IAM calls, want 0 (a cache hit)", got)
			}
			if n := api.rejected.Load(); n != 0 {
				t.Errorf("the kube-apiserver rejected %d requests, want none", n)
			}
			if api.accepted.Load() == 0 {
				t.Error("the kube-apiserver accepted no request")
			}

			// The ExecCredential itself, asked for as kubectl asks.
			info := `{"kind":"ExecCredential","apiVersion":"` + tt.apiVersion + `","spec":{"interactive":false}}`
			res = w.run([]string{"KUBERNETES_EXEC_INFO=" + info}, "kube")
			checkExit(t, res, 0)
			var cred struct {
				Kind, APIVersion string
				Status           struct {
					Token               string
					ExpirationTimestamp time.Time
				}
			}
			if err := json.Unmarshal([]byte(res.Stdout), &cred); err != nil {
				t.Fatalf("kube printed %q: %v", res.Stdout, err)
			}
			access := w.lastAccess()
			if cred.Kind != "ExecCredential" || cred.APIVersion != tt.apiVersion || cred.Status.Token != access {
				t.Errorf("kube printed kind %q, apiVersion %q, token of the session %t; want ExecCredential, %q, true",
					cred.Kind, cred.APIVersion, cred.Status.Token == access, tt.apiVersion)
			}
			if want := jwtExp(t, access).Add(-5 * time.Minute); !cred.Status.ExpirationTimestamp.Equal(want) {
				t.Errorf("expirationTimestamp %v, want exp − min_ttl = %v", cred.Status.ExpirationTimestamp, want)
			}
		})
	}
}

// TestKubectlLoginRequired guards the reference's prompts (kubectl's interactive:false never prompts; the exact
// login-required lines) and exit codes (exit 3), issue #3 "kubectl": with interactiveMode Never and no
// session, kubectl fails, shows our two lines on its stderr and reports our exit code, and
// nothing reaches IAM or the kube-apiserver.
func TestKubectlLoginRequired(t *testing.T) {
	kubectl := needTool(t, "kubectl")
	w := newWorld(t)
	w.configure()
	api := newKubeAPI(t, w.iam.AccessTokenValid)
	kubeconfig := api.kubeconfig(t, t.TempDir(), helperStanza("client.authentication.k8s.io/v1", map[string]any{"interactiveMode": "Never"}))

	// CI is cleared so that interactiveMode Never is what forbids the prompt.
	res := w.client([]string{"KUBECONFIG=" + kubeconfig, "CI="}, "", kubectl, "get", "--raw", "/version")

	if res.ExitCode == 0 {
		t.Fatalf("kubectl succeeded without a session:\n%s", res.Stdout)
	}
	for _, want := range []string{
		`gcore-credential-helper: error: login required for profile "default"` + "\n",
		"hint: run 'gcore-credential-helper login --profile default' in a terminal\n",
		"exit code 3",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("kubectl's stderr does not contain %q:\n%s", want, res.Stderr)
		}
	}
	if res.Stdout != "" {
		t.Errorf("kubectl printed %q on stdout, want nothing", res.Stdout)
	}
	if got := w.iamCalls(); got != 0 {
		t.Errorf("%d IAM calls, want 0", got)
	}
	if n := api.accepted.Load(); n != 0 {
		t.Errorf("the kube-apiserver accepted %d requests without a token", n)
	}
}

// helperStanza is a kubeconfig exec stanza that runs the helper's kube command for apiVersion,
// with the other settings in extra.
func helperStanza(apiVersion string, extra map[string]any) map[string]any {
	stanza := map[string]any{"apiVersion": apiVersion, "command": helperBin, "args": []string{"kube"}}
	maps.Copy(stanza, extra)
	return stanza
}
