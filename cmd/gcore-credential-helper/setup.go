package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/internal/clientsetup"
)

// Run prints, or with --write applies, the caller's configuration for the
// selected profile. Applying is idempotent and backs the file up first.
func (c *setupCmd) Run(a *app) error {
	cfg, p, err := a.selectedProfile(config.Overrides{})
	if err != nil {
		return err
	}
	switch c.Caller {
	case "kubectl":
		var cl *helper.ClusterRef
		if ref := c.cluster.ref(); ref.Name != "" {
			cl = &ref
		} else if ref.Scope != (helper.Scope{}) {
			return usagef("--project-id, --region-id and their names go with --cluster")
		}
		return a.setupKubectl(cfg, p, cl, c.Write)
	case "docker":
		return a.setupDocker(cfg, p, c.Write)
	}
	return a.setupGit(p, c.Write)
}

// setupKubectl writes the exec user, and for a Managed Kubernetes cluster
// also the cluster (server and CA from the Cloud API, which needs the
// session) and a context joining them.
func (a *app) setupKubectl(cfg *loadedConfig, p config.Profile, cluster *helper.ClusterRef, write bool) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program's path: %w", err)
	}
	profile := ""
	if p.Name != "default" {
		profile = p.Name
	}
	k := clientsetup.Kubectl{Kubeconfig: a.kubeconfig(), Command: self, Profile: profile}
	if cluster != nil {
		if err := cluster.Defaults(p); err != nil {
			return err
		}
		eng, _, err := a.engineFor(cfg, p, helper.Signals{})
		if err != nil {
			return err
		}
		cred, err := eng.Cluster(a.ctx, *cluster, helper.GetOptions{MinTTL: p.MinTTL})
		if err != nil {
			return err
		}
		k.Args = clusterArgs(*cluster)
		k.Cluster = &clientsetup.KubeCluster{Name: cluster.Name, Server: cred.Host, CAPEM: cred.CACertPEM, Use: true}
	}
	if !write {
		_, err := fmt.Fprint(a.stdout, k.Snippet())
		return err
	}
	changed, backup, err := k.Apply(a.ctx)
	if err != nil {
		return fmt.Errorf("%w\nhint: add this to %s by hand:\n%s", err, k.Kubeconfig, k.Snippet())
	}
	a.reportSetup(k.Kubeconfig, changed, backup)
	if cluster == nil {
		// A user alone reaches no cluster: say how to use it.
		fmt.Fprintf(a.stderr, "%s: to use it, point a context at it: kubectl config set-context --current --user=%s\n"+
			"  (or for a Gcore Managed Kubernetes cluster: %s setup kubectl --cluster NAME --write)\n", programName, k.UserName(), programName)
	}
	return nil
}

// clusterArgs are the kube flags that name cluster c in an exec stanza, by id
// or by name as it was given.
func clusterArgs(c helper.ClusterRef) []string {
	args := []string{"--cluster", c.Name}
	if c.ProjectID != 0 {
		args = append(args, "--project-id", strconv.FormatInt(c.ProjectID, 10))
	} else {
		args = append(args, "--project-name", c.ProjectName)
	}
	if c.RegionID != 0 {
		return append(args, "--region-id", strconv.FormatInt(c.RegionID, 10))
	}
	return append(args, "--region-name", c.RegionName)
}

func (a *app) setupDocker(cfg *loadedConfig, p config.Profile, write bool) error {
	eng, _, err := a.engineFor(cfg, p, helper.Signals{})
	if err != nil {
		return err
	}
	hosts, err := eng.DockerHosts(a.ctx)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return fmt.Errorf("profile %q has no allowed_hosts or registries: docker would never get a credential from it", p.Name)
	}
	// Another profile than default gets a persona of its own, which pins
	// it: with several profiles serving a host, none is guessed.
	d := clientsetup.Docker{ConfigFile: a.dockerConfig(), Hosts: hosts}
	persona := "docker-credential-" + clientsetup.DockerHelper
	if p.Name != config.DefaultProfile {
		d.Helper = clientsetup.DockerHelper + "-" + p.Name
		persona = "docker-credential-" + d.Helper
	}
	if !write {
		_, err := fmt.Fprint(a.stdout, d.Snippet())
		return err
	}
	a.linkPersona(persona)
	changed, backup, err := d.Apply()
	if err != nil {
		return err
	}
	a.reportSetup(d.ConfigFile, changed, backup)
	return nil
}

func (a *app) setupGit(p config.Profile, write bool) error {
	if len(p.AllowedHosts) == 0 {
		return fmt.Errorf("profile %q has no allowed_hosts: git would never get a credential from it", p.Name)
	}
	g := clientsetup.Git{Hosts: p.AllowedHosts, Global: true}
	if p.Name != config.DefaultProfile {
		g.Helper = clientsetup.DefaultGitHelper + " --profile " + p.Name
	}
	if !write {
		_, err := fmt.Fprint(a.stdout, g.Snippet())
		return err
	}
	a.warnMissingPersona("git-credential-gcore")
	changed, err := g.Apply(a.ctx)
	if err != nil {
		return err
	}
	a.reportSetup("the global git config", changed, "")
	return nil
}

func (a *app) reportSetup(what string, changed bool, backup string) {
	switch {
	case !changed:
		fmt.Fprintf(a.stderr, "%s: %s is already set up\n", programName, what)
	case backup != "":
		fmt.Fprintf(a.stderr, "%s: updated %s (backup: %s)\n", programName, what, backup)
	default:
		fmt.Fprintf(a.stderr, "%s: updated %s\n", programName, what)
	}
}

// warnMissingPersona says when docker or git will not find the link they run.
func (a *app) warnMissingPersona(name string) {
	if _, err := exec.LookPath(name); err != nil {
		fmt.Fprintf(a.stderr, "%s: warning: %s is not on PATH; run install.sh or link it to this program\n", programName, name)
	}
}

// linkPersona makes sure docker finds name on PATH: a profile's persona
// (docker-credential-gcore-PROFILE) is linked beside docker-credential-gcore,
// where install.sh put that one; when that cannot be done it says how.
func (a *app) linkPersona(name string) {
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	base := "docker-credential-" + clientsetup.DockerHelper
	basePath, err := exec.LookPath(base)
	if name == base || err != nil {
		a.warnMissingPersona(name)
		return
	}
	self, err := os.Executable()
	if err == nil {
		link := filepath.Join(filepath.Dir(basePath), name)
		if err = os.Symlink(self, link); err == nil {
			fmt.Fprintf(a.stderr, "%s: linked %s to this program\n", programName, link)
			return
		}
	}
	fmt.Fprintf(a.stderr, "%s: warning: could not link %s (%v); run: ln -s \"$(command -v %s)\" \"$(dirname \"$(command -v %s)\")/%s\"\n",
		programName, name, err, programName, base, name)
}

// kubeconfig is the file kubectl would write: the first entry of KUBECONFIG,
// else ~/.kube/config.
func (a *app) kubeconfig() string {
	if list := filepath.SplitList(a.getenv("KUBECONFIG")); len(list) > 0 && list[0] != "" {
		return list[0]
	}
	return filepath.Join(a.getenv("HOME"), ".kube", "config")
}

// dockerConfig is docker's config.json: in DOCKER_CONFIG, else ~/.docker.
func (a *app) dockerConfig() string {
	dir := a.getenv("DOCKER_CONFIG")
	if dir == "" {
		dir = filepath.Join(a.getenv("HOME"), ".docker")
	}
	return filepath.Join(dir, "config.json")
}
