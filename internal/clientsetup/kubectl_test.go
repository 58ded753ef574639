package clientsetup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// existingKubeconfig has what setup must keep: another user, cluster and context, the current
// context, and a relative path that kubectl resolves against the file's own directory.
const existingKubeconfig = `# written by hand
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority: certs/ca.crt
contexts:
- name: prod
  context:
    cluster: prod
    user: admin
current-context: prod
users:
- name: admin
  user:
    token: not-a-real-token
`

// view is what kubectl reads from a kubeconfig; comparing views ignores formatting.
type view struct {
	Clusters       []map[string]any `json:"clusters"`
	Contexts       []map[string]any `json:"contexts"`
	CurrentContext string           `json:"current-context"`
	Users          []struct {
		Name string         `json:"name"`
		User map[string]any `json:"user"`
	} `json:"users"`
}

func kubectlView(t *testing.T, path string) view {
	t.Helper()
	out, err := exec.Command("kubectl", "--kubeconfig="+path, "config", "view", "--raw", "-o", "json").Output()
	if err != nil {
		t.Fatalf("kubectl config view %s: %v", path, err)
	}
	var v view
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v view) user(name string) map[string]any {
	for _, u := range v.Users {
		if u.Name == name {
			return u.User
		}
	}
	return nil
}

func wantExec(command string, args ...string) map[string]any {
	list := make([]any, len(args))
	for i, a := range args {
		list[i] = a
	}
	return map[string]any{"exec": map[string]any{
		"apiVersion":         DefaultAPIVersion,
		"command":            command,
		"args":               list,
		"env":                nil,
		"interactiveMode":    "IfAvailable",
		"provideClusterInfo": false,
	}}
}

func TestKubectlApply(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	writeFile(t, os.Getenv("KUBECONFIG"), "# inherited, must stay untouched\n")
	dir := filepath.Join(home, ".kube")
	path := filepath.Join(dir, "config")
	writeFile(t, path, existingKubeconfig)
	before := kubectlView(t, path)
	k := Kubectl{Kubeconfig: path, Command: "/opt/gcore/gcore-credential-helper", Profile: "prod", Now: fixedNow}
	ctx := context.Background()

	changed, bak, err := k.Apply(ctx)
	if err != nil || !changed {
		t.Fatalf("Apply() = %v, %q, %v; want a change", changed, bak, err)
	}
	if want := path + ".bak-" + fixedStamp; bak != want {
		t.Errorf("backup %q, want %q", bak, want)
	}
	wantMode(t, bak, 0o600)
	wantMode(t, path, 0o600)
	if got := readString(t, bak); got != existingKubeconfig {
		t.Errorf("backup holds %q, want the original", got)
	}
	after := kubectlView(t, path)
	if diff := cmp.Diff(before.Clusters, after.Clusters); diff != "" {
		t.Errorf("clusters changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.Contexts, after.Contexts); diff != "" {
		t.Errorf("contexts changed (-before +after):\n%s", diff)
	}
	if after.CurrentContext != "prod" {
		t.Errorf("current-context %q, want prod", after.CurrentContext)
	}
	if diff := cmp.Diff(before.user("admin"), after.user("admin")); diff != "" {
		t.Errorf("user admin changed (-before +after):\n%s", diff)
	}
	// Each profile has its own user, so setting up a second profile never
	// repoints the first one's contexts.
	if diff := cmp.Diff(wantExec(k.Command, "kube", "--profile", "prod"), after.user("gcore-prod")); diff != "" {
		t.Errorf("user gcore-prod (-want +got):\n%s", diff)
	}
	if after.user("gcore") != nil {
		t.Error("a profile's setup wrote the default profile's user gcore")
	}
	out, err := exec.Command("kubectl", "--kubeconfig="+path, "config", "view", "--raw",
		"-o", `jsonpath={.users[?(@.name=="gcore-prod")].user.exec.command} {.users[?(@.name=="gcore-prod")].user.exec.args}`).Output()
	if got, want := string(out), `/opt/gcore/gcore-credential-helper ["kube","--profile","prod"]`; err != nil || got != want {
		t.Errorf("jsonpath view = %q, %v; want %q", got, err, want)
	}

	applied := readString(t, path)
	changed, bak2, err := k.Apply(ctx)
	if err != nil || changed || bak2 != "" {
		t.Errorf("second Apply() = %v, %q, %v; want no change", changed, bak2, err)
	}
	if readString(t, path) != applied {
		t.Error("second Apply rewrote the file")
	}
	if diff := cmp.Diff([]string{"config", filepath.Base(bak)}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}

	// Dropping the profile is a real change: a second backup, under a new name.
	k.Profile = ""
	changed, bak3, err := k.Apply(ctx)
	if err != nil || !changed || bak3 == "" || bak3 == bak {
		t.Fatalf("Apply() without profile = %v, %q, %v; want a change and a new backup", changed, bak3, err)
	}
	if got := readString(t, bak3); got != applied {
		t.Error("second backup does not hold the file as it was before the second change")
	}
	dropped := kubectlView(t, path)
	if diff := cmp.Diff(wantExec(k.Command, "kube"), dropped.user("gcore")); diff != "" {
		t.Errorf("user gcore (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantExec(k.Command, "kube", "--profile", "prod"), dropped.user("gcore-prod")); diff != "" {
		t.Errorf("the default profile's setup changed user gcore-prod (-want +got):\n%s", diff)
	}
	if got := readString(t, os.Getenv("KUBECONFIG")); got != "# inherited, must stay untouched\n" {
		t.Errorf("inherited $KUBECONFIG file changed: %q", got)
	}
}

func TestKubectlApplyCreatesFile(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	dir := filepath.Join(home, ".kube")
	path := filepath.Join(dir, "config")
	k := Kubectl{Kubeconfig: path, Command: "/opt/gcore/gcore-credential-helper", User: "gcore-prod"}
	changed, bak, err := k.Apply(context.Background())
	if err != nil || !changed || bak != "" {
		t.Fatalf("Apply() = %v, %q, %v; want a change and no backup", changed, bak, err)
	}
	wantMode(t, dir, 0o700)
	wantMode(t, path, 0o600)
	if diff := cmp.Diff(wantExec(k.Command, "kube"), kubectlView(t, path).user("gcore-prod")); diff != "" {
		t.Errorf("user gcore-prod (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

// A user who pasted the snippet by hand keeps their file, comments and all: kubectl would only
// reformat it.
func TestKubectlApplyAfterSnippetKeepsFile(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	path := filepath.Join(home, ".kube", "config")
	k := Kubectl{Kubeconfig: path, Command: "/opt/gcore/gcore-credential-helper", Profile: "prod"}
	content := existingKubeconfig + strings.TrimPrefix(k.Snippet(), "users:\n") + "# my trailing comment\n"
	writeFile(t, path, content)
	changed, bak, err := k.Apply(context.Background())
	if err != nil || changed || bak != "" {
		t.Errorf("Apply() = %v, %q, %v; want no change", changed, bak, err)
	}
	if got := readString(t, path); got != content {
		t.Errorf("file rewritten:\n%s", got)
	}
}

func TestKubectlApplyKeepsSymlink(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	target := filepath.Join(home, "dotfiles", "kubeconfig")
	writeFile(t, target, existingKubeconfig)
	link := filepath.Join(home, ".kube", "config")
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	k := Kubectl{Kubeconfig: link, Command: "/opt/gcore/gcore-credential-helper", Now: fixedNow}
	if _, _, err := k.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced by a regular file: %v", err)
	}
	if kubectlView(t, target).user("gcore") == nil {
		t.Error("link target not updated")
	}
}

func TestKubectlApplyInvalidFileUntouched(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	dir := filepath.Join(home, ".kube")
	path := filepath.Join(dir, "config")
	const broken = "users: [\n  - this is: not: yaml\n"
	writeFile(t, path, broken)
	changed, bak, err := Kubectl{Kubeconfig: path, Command: "/x"}.Apply(context.Background())
	if err == nil || changed || bak != "" {
		t.Errorf("Apply() = %v, %q, %v; want an error", changed, bak, err)
	}
	if got := readString(t, path); got != broken {
		t.Errorf("file changed to %q", got)
	}
	if diff := cmp.Diff([]string{"config"}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestKubectlApplyWithoutKubectl(t *testing.T) {
	home := isolate(t)
	t.Setenv("PATH", t.TempDir())
	path := filepath.Join(home, ".kube", "config")
	_, _, err := Kubectl{Kubeconfig: path, Command: "/x"}.Apply(context.Background())
	if !errors.Is(err, ErrNoKubectl) {
		t.Errorf("Apply() error = %v, want ErrNoKubectl", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kubeconfig directory created: %v", err)
	}
}

func TestKubectlSnippet(t *testing.T) {
	tests := []struct {
		name string
		k    Kubectl
		want string
	}{
		{"defaults", Kubectl{Command: "/usr/local/bin/gcore-credential-helper"}, `users:
- name: gcore
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /usr/local/bin/gcore-credential-helper
      args:
      - kube
      interactiveMode: IfAvailable
      provideClusterInfo: false
`},
		{"profile and quoting", Kubectl{User: "gcore-prod", Command: "/Users/me/My Tools/gch", Profile: "yes",
			APIVersion: "client.authentication.k8s.io/v1beta1"}, `users:
- name: gcore-prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: "/Users/me/My Tools/gch"
      args:
      - kube
      - --profile
      - "yes"
      interactiveMode: IfAvailable
      provideClusterInfo: false
`},
		{"cluster", Kubectl{Command: "/opt/gch", Args: []string{"--cluster", "k8s prod", "--project-id", "1"},
			Cluster: &KubeCluster{Name: "k8s prod", Server: "https://k8s.example:6443", CAPEM: []byte("CA"), Use: true}}, `clusters:
- name: "k8s prod"
  cluster:
    certificate-authority-data: Q0E=
    server: "https://k8s.example:6443"
users:
- name: "gcore-k8s prod"
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /opt/gch
      args:
      - kube
      - --cluster
      - "k8s prod"
      - --project-id
      - "1"
      interactiveMode: IfAvailable
      provideClusterInfo: false
contexts:
- name: "k8s prod"
  context:
    cluster: "k8s prod"
    user: "gcore-k8s prod"
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.k.Snippet()); diff != "" {
				t.Errorf("Snippet (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKubectlSnippetMatchesApply reads the snippet with kubectl's own YAML parser and checks it
// means exactly what Apply writes, for profile and user names YAML would misread unquoted.
func TestKubectlSnippetMatchesApply(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	for i, profile := range []string{"true", "No", "null", "~", "123", "1e3", "0x1F", ".inf", "a: b", "x #y",
		"-", "--", "---", "- x", "[a]", "{a}", "*ref", "&anchor", "!tag", "'q'", `"q"`, `back\slash`,
		"tab\there", "new\nline", "a,b", `a"b`, "cr\rx", `\.`, "ünï", " lead", "trail ", "%x", "@x", "`x`", "|", ">"} {
		t.Run(strconv.Quote(profile), func(t *testing.T) {
			k := Kubectl{Command: "/opt/my tools/gch: v2", Profile: profile, User: profile}
			snippetFile := filepath.Join(home, strconv.Itoa(i)+"-snippet")
			writeFile(t, snippetFile, "apiVersion: v1\nkind: Config\n"+k.Snippet())
			k.Kubeconfig = filepath.Join(home, strconv.Itoa(i)+"-applied")
			if _, _, err := k.Apply(context.Background()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(kubectlView(t, k.Kubeconfig).Users, kubectlView(t, snippetFile).Users); diff != "" {
				t.Errorf("snippet differs from Apply (-apply +snippet):\n%s", diff)
			}
		})
	}
}

func TestKubectlApplyRefusesMangledArgument(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	path := filepath.Join(home, "config")
	_, _, err := Kubectl{Kubeconfig: path, Command: "/x", Profile: "crlf\r\nx"}.Apply(context.Background())
	if err == nil {
		t.Error("Apply succeeded, want an error: kubectl would store the profile as crlf\\nx")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kubeconfig created: %v", err)
	}
}

// FuzzCSVField checks that every argument but "" and one holding "\r\n" reaches kubectl's CSV
// reader intact (csvField reads each one back).
func FuzzCSVField(f *testing.F) {
	for _, s := range []string{"kube", "--profile", "a,b", `"q"`, "a\nb", "a\rb", " x", `\.`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := csvField(s)
		if want := s == "" || strings.Contains(s, "\r\n"); (err != nil) != want {
			t.Fatalf("csvField(%q) error = %v, want error: %v", s, err, want)
		}
	})
}

// FuzzYAMLScalar checks that a scalar is left plain only when YAML cannot misread it, and that a
// quoted one decodes back to the input (Go's escapes being a subset of YAML's).
func FuzzYAMLScalar(f *testing.F) {
	for _, s := range []string{"", "kube", "--profile", "true", "Yes", "1", "a b", "a:b", "é", "\x00", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip("YAML text is UTF-8")
		}
		q := yamlScalar(s)
		if q == s {
			if !plainYAML(s) {
				t.Fatalf("%q left plain", s)
			}
			return
		}
		if u, err := strconv.Unquote(q); err != nil || u != s || !strings.HasPrefix(q, `"`) {
			t.Fatalf("yamlScalar(%q) = %s, unquotes to %q, %v", s, q, u, err)
		}
	})
}

// testCA stands in for a cluster CA: kubectl embeds the file's bytes without parsing them.
const testCA = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdCBjYQ==\n-----END CERTIFICATE-----\n"

func TestKubectlApplyCluster(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	dir := filepath.Join(home, ".kube")
	path := filepath.Join(dir, "config")
	writeFile(t, path, existingKubeconfig)
	before := kubectlView(t, path)
	k := Kubectl{Kubeconfig: path, Command: "/opt/gcore/gcore-credential-helper", Profile: "prod", Now: fixedNow,
		Args:    []string{"--cluster", "k8s-prod", "--project-id", "1", "--region-id", "76"},
		Cluster: &KubeCluster{Name: "k8s-prod", Server: "https://k8s.example:6443", CAPEM: []byte(testCA), Use: true}}
	ctx := context.Background()

	changed, bak, err := k.Apply(ctx)
	if err != nil || !changed || bak == "" {
		t.Fatalf("Apply() = %v, %q, %v; want a change and a backup", changed, bak, err)
	}
	out, err := exec.Command("kubectl", "--kubeconfig="+path, "config", "view", "--raw", "-o",
		`jsonpath={.clusters[?(@.name=="k8s-prod")].cluster.server} {.clusters[?(@.name=="k8s-prod")].cluster.certificate-authority-data}`).Output()
	if err != nil {
		t.Fatalf("kubectl config view: %v", err)
	}
	server, caData, _ := strings.Cut(string(out), " ")
	if ca, err := base64.StdEncoding.DecodeString(caData); server != k.Cluster.Server || err != nil || string(ca) != testCA {
		t.Errorf("cluster server %q, CA %q (%v); want %q and the CA embedded", server, ca, err, k.Cluster.Server)
	}
	after := kubectlView(t, path)
	if diff := cmp.Diff(wantExec(k.Command, "kube", "--cluster", "k8s-prod", "--project-id", "1", "--region-id", "76",
		"--profile", "prod"), after.user(k.UserName())); diff != "" {
		t.Errorf("user %s (-want +got):\n%s", k.UserName(), diff)
	}
	// kubectl sorts entries by name.
	byName := cmpopts.SortSlices(func(a, b map[string]any) bool { return a["name"].(string) < b["name"].(string) })
	wantClusters := append(before.Clusters, map[string]any{"name": "k8s-prod", "cluster": map[string]any{
		"server": "https://k8s.example:6443", "certificate-authority-data": base64.StdEncoding.EncodeToString([]byte(testCA))}})
	if diff := cmp.Diff(wantClusters, after.Clusters, byName); diff != "" {
		t.Errorf("clusters (-want +got):\n%s", diff)
	}
	wantContexts := append(before.Contexts, map[string]any{"name": "k8s-prod",
		"context": map[string]any{"cluster": "k8s-prod", "user": "gcore-prod-k8s-prod"}})
	if diff := cmp.Diff(wantContexts, after.Contexts, byName); diff != "" {
		t.Errorf("contexts (-want +got):\n%s", diff)
	}
	if after.CurrentContext != "k8s-prod" {
		t.Errorf("current-context %q, want k8s-prod", after.CurrentContext)
	}
	if diff := cmp.Diff(before.user("admin"), after.user("admin")); diff != "" {
		t.Errorf("user admin changed (-before +after):\n%s", diff)
	}

	applied := readString(t, path)
	changed, bak2, err := k.Apply(ctx)
	if err != nil || changed || bak2 != "" {
		t.Errorf("second Apply() = %v, %q, %v; want no change", changed, bak2, err)
	}
	if readString(t, path) != applied {
		t.Error("second Apply rewrote the file")
	}
	// Only the backup is new: the temporary copy and CA file are gone.
	if diff := cmp.Diff([]string{"config", filepath.Base(bak)}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

// TestKubectlClusterSnippetMatchesApply checks the cluster, user and context entries of the
// snippet mean what Apply writes, for names YAML would misread unquoted.
func TestKubectlClusterSnippetMatchesApply(t *testing.T) {
	requireTool(t, "kubectl")
	home := isolate(t)
	for i, name := range []string{"prod", "true", "123", "a: b", "-", "- x", "a,b", "new\nline", "ünï", " lead"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			k := Kubectl{Command: "/opt/gch", Args: []string{"--cluster", name},
				Cluster: &KubeCluster{Name: name, Server: "https://k8s.example:6443/x y", CAPEM: []byte(testCA)}}
			snippetFile := filepath.Join(home, strconv.Itoa(i)+"-snippet")
			writeFile(t, snippetFile, "apiVersion: v1\nkind: Config\n"+k.Snippet())
			k.Kubeconfig = filepath.Join(home, strconv.Itoa(i)+"-applied")
			if _, _, err := k.Apply(context.Background()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(kubectlView(t, k.Kubeconfig), kubectlView(t, snippetFile)); diff != "" {
				t.Errorf("snippet differs from Apply (-apply +snippet):\n%s", diff)
			}
		})
	}
}

func TestKubectlApplyClusterIncomplete(t *testing.T) {
	tests := []struct {
		name string
		c    KubeCluster
	}{
		{"no name", KubeCluster{Server: "https://k8s.example", CAPEM: []byte(testCA)}},
		{"no server", KubeCluster{Name: "prod", CAPEM: []byte(testCA)}},
		{"no CA", KubeCluster{Name: "prod", Server: "https://k8s.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			if _, _, err := (Kubectl{Kubeconfig: path, Command: "/x", Cluster: &tt.c}).Apply(context.Background()); err == nil {
				t.Error("Apply succeeded, want an error")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("kubeconfig created: %v", err)
			}
		})
	}
}
