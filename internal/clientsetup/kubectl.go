package clientsetup

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Defaults for the zero values of Kubectl's fields.
const (
	DefaultKubeUser   = "gcore"
	DefaultAPIVersion = "client.authentication.k8s.io/v1"
)

// ErrNoKubectl is returned by Kubectl.Apply when kubectl is not on PATH: without it the
// kubeconfig cannot be edited safely, so the user has to add Kubectl.Snippet by hand.
var ErrNoKubectl = errors.New("kubectl not found in PATH; add the printed snippet to the kubeconfig by hand")

// Kubectl describes the kubeconfig user whose exec plugin runs the helper's kube command and,
// optionally, the Managed Kubernetes cluster and context that use it.
type Kubectl struct {
	// Kubeconfig is the file to edit: $KUBECONFIG's first entry or ~/.kube/config.
	Kubeconfig string
	// User is the kubeconfig user name; "" means DefaultKubeUser, followed by "-<profile>" for
	// a profile other than the default and "-<cluster name>" with a Cluster, so that profiles
	// and clusters set up one by one do not overwrite each other's exec arguments.
	User string
	// Command is the absolute path of the helper binary.
	Command string
	// Args are extra exec arguments after "kube" (and before --profile), e.g.
	// ["--cluster", "prod", "--project-id", "1", "--region-id", "76"].
	Args []string
	// Profile is passed as --profile; "" means the default profile.
	Profile string
	// APIVersion is the ExecCredential version; "" means DefaultAPIVersion.
	APIVersion string
	// Now names backups; nil means time.Now.
	Now func() time.Time
	// Cluster, when set, is also written: a kubeconfig cluster entry and a context that joins it
	// to the user, and (Use) made current.
	Cluster *KubeCluster
}

// KubeCluster is a kubeconfig cluster entry and the context of the same name.
type KubeCluster struct {
	Name   string // kubeconfig cluster and context name
	Server string // https URL
	CAPEM  []byte // the cluster CA, embedded as certificate-authority-data
	Use    bool   // also `kubectl config use-context`; not part of Kubectl.Snippet
}

func (k Kubectl) withDefaults() Kubectl {
	if k.User == "" {
		k.User = DefaultKubeUser
		if k.Profile != "" {
			k.User += "-" + k.Profile
		}
		if k.Cluster != nil {
			k.User += "-" + k.Cluster.Name
		}
	}
	if k.APIVersion == "" {
		k.APIVersion = DefaultAPIVersion
	}
	if k.Now == nil {
		k.Now = time.Now
	}
	return k
}

// UserName is the kubeconfig user Apply writes.
func (k Kubectl) UserName() string { return k.withDefaults().User }

// args are the exec plugin's arguments, shared by Snippet and Apply so they cannot drift.
func (k Kubectl) args() []string {
	args := append([]string{"kube"}, k.Args...)
	if k.Profile != "" {
		args = append(args, "--profile", k.Profile)
	}
	return args
}

// Snippet returns the kubeconfig entries to add by hand: the users: entry and, with a Cluster,
// the clusters: and contexts: entries too (current-context is left to the user).
func (k Kubectl) Snippet() string {
	k = k.withDefaults()
	var b strings.Builder
	if c := k.Cluster; c != nil {
		fmt.Fprintf(&b, "clusters:\n- name: %s\n  cluster:\n    certificate-authority-data: %s\n    server: %s\n",
			yamlScalar(c.Name), base64.StdEncoding.EncodeToString(c.CAPEM), yamlScalar(c.Server))
	}
	fmt.Fprintf(&b, "users:\n- name: %s\n  user:\n    exec:\n", yamlScalar(k.User))
	fmt.Fprintf(&b, "      apiVersion: %s\n      command: %s\n      args:\n",
		yamlScalar(k.APIVersion), yamlScalar(k.Command))
	for _, a := range k.args() {
		fmt.Fprintf(&b, "      - %s\n", yamlScalar(a))
	}
	b.WriteString("      interactiveMode: IfAvailable\n      provideClusterInfo: false\n")
	if c := k.Cluster; c != nil {
		fmt.Fprintf(&b, "contexts:\n- name: %s\n  context:\n    cluster: %s\n    user: %s\n",
			yamlScalar(c.Name), yamlScalar(c.Name), yamlScalar(k.User))
	}
	return b.String()
}

// Apply adds or updates the user entry (and the Cluster's entries) through the real kubectl,
// since re-encoding a kubeconfig ourselves would need a YAML library and could lose what kubectl
// understands. kubectl edits a copy beside the file; the file is replaced (after a backup) only
// when the copy means something different, so a run that changes nothing leaves the file byte
// for byte as it was.
func (k Kubectl) Apply(ctx context.Context) (changed bool, backupPath string, err error) {
	k = k.withDefaults()
	if k.Kubeconfig == "" || k.Command == "" {
		return false, "", errors.New("set up kubectl: kubeconfig path and helper command are required")
	}
	if c := k.Cluster; c != nil && (c.Name == "" || c.Server == "" || len(c.CAPEM) == 0) {
		return false, "", errors.New("set up kubectl: cluster name, server and CA are required")
	}
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		return false, "", fmt.Errorf("set up kubectl in %s: %w", k.Kubeconfig, ErrNoKubectl)
	}
	path, err := resolve(k.Kubeconfig)
	if err != nil {
		return false, "", err
	}
	old, exists, err := readFile(path)
	if err != nil {
		return false, "", err
	}
	tmp, err := writeTemp(path, old)
	if err != nil {
		return false, "", err
	}
	defer os.Remove(tmp)

	var cmds [][]string
	if c := k.Cluster; c != nil {
		// kubectl embeds a CA only from a file; the temporary one sits beside the kubeconfig.
		ca, err := writeTemp(path, c.CAPEM)
		if err != nil {
			return false, "", err
		}
		defer os.Remove(ca)
		cmds = append(cmds, []string{"config", "set-cluster", "--server=" + c.Server,
			"--certificate-authority=" + ca, "--embed-certs=true", "--", c.Name})
	}
	set := []string{"config", "set-credentials",
		"--exec-command=" + k.Command,
		"--exec-api-version=" + k.APIVersion,
		"--exec-interactive-mode=IfAvailable",
		"--exec-provide-cluster-info=false",
	}
	for _, a := range k.args() {
		field, err := csvField(a)
		if err != nil {
			return false, "", fmt.Errorf("set up kubectl: %w", err)
		}
		set = append(set, "--exec-arg="+field)
	}
	set = append(set, "--", k.User) // a name may start with "-"
	cmds = append(cmds, set)
	if c := k.Cluster; c != nil {
		cmds = append(cmds, []string{"config", "set-context", "--cluster=" + c.Name, "--user=" + k.User, "--", c.Name})
		if c.Use {
			cmds = append(cmds, []string{"config", "use-context", "--", c.Name})
		}
	}
	for _, args := range cmds {
		if _, err := runKubectl(ctx, bin, tmp, args...); err != nil {
			return false, "", err
		}
	}
	updated, err := os.ReadFile(tmp)
	if err != nil {
		return false, "", fmt.Errorf("read kubectl's result: %w", err)
	}
	if bytes.Equal(updated, old) {
		return false, "", nil
	}
	if exists {
		// kubectl rewrites the whole file (dropping comments, reordering keys); when only that
		// happened, keep the user's file as it is.
		same, err := sameKubeconfig(ctx, bin, path, tmp)
		if err != nil || same {
			return false, "", err
		}
		if backupPath, err = backup(path, old, k.Now()); err != nil {
			return false, "", err
		}
	}
	if err := writeAtomic(path, updated); err != nil {
		return false, backupPath, err
	}
	return true, backupPath, nil
}

// csvField protects one --exec-arg value: kubectl reads that flag as CSV, so a profile name
// with a comma, a quote or a newline would otherwise become other arguments. It reads the field
// back as kubectl will and refuses what CSV cannot carry: "" (no field at all) and "\r\n"
// (which CSV reads as "\n").
func csvField(s string) (string, error) {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{s}) // a strings.Builder cannot fail
	w.Flush()
	field := strings.TrimSuffix(b.String(), "\n")
	back, err := csv.NewReader(strings.NewReader(field)).Read()
	if err != nil || len(back) != 1 || back[0] != s {
		return "", fmt.Errorf("exec argument %q cannot be passed to kubectl intact", s)
	}
	return field, nil
}

// sameKubeconfig compares two kubeconfig files as kubectl reads them.
func sameKubeconfig(ctx context.Context, bin, a, b string) (bool, error) {
	view := []string{"config", "view", "--raw", "-o", "json"}
	va, err := runKubectl(ctx, bin, a, view...)
	if err != nil {
		return false, err
	}
	vb, err := runKubectl(ctx, bin, b, view...)
	if err != nil {
		return false, err
	}
	return bytes.Equal(va, vb), nil
}

// runKubectl runs kubectl on one explicit file: --kubeconfig wins over an inherited $KUBECONFIG,
// so no other kubeconfig is read or written.
func runKubectl(ctx context.Context, bin, kubeconfig string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl %s %s: %w: %s", args[0], args[1], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// plainYAML reports whether YAML reads s as the same string when left unquoted:
// ^(--)?[A-Za-z/][A-Za-z0-9_./-]*$, written out for the reason shellSafe gives.
func plainYAML(s string) bool {
	s = strings.TrimPrefix(s, "--")
	if s == "" || !isASCIILetter(s[0]) && s[0] != '/' {
		return false
	}
	return onlyBytesOf(s[1:], "_./-")
}

// onlyBytesOf reports whether every byte of s is an ASCII letter, a digit or one of extra.
func onlyBytesOf(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !isASCIILetter(b) && !('0' <= b && b <= '9') && strings.IndexByte(extra, b) < 0 {
			return false
		}
	}
	return true
}

func isASCIILetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// yamlScalar quotes s unless it is safe as a plain YAML string. Go's double-quoted escapes are a
// subset of YAML's, so strconv.Quote gives a YAML string with the same value.
func yamlScalar(s string) string {
	if plainYAML(s) {
		switch strings.ToLower(s) {
		case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		default:
			return s
		}
	}
	return strconv.Quote(s)
}
