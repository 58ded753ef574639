package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/internal/clientsetup"
	"github.com/G-Core/gcore-credential-helper/internal/completion"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// runSetup prints, or with --write applies, the caller's configuration for
// the selected profile. Applying is idempotent and backs the file up first.
func runSetup(a *app, in *invocation) error {
	if len(in.args) != 1 {
		return usagef("setup needs one of kubectl, docker, git")
	}
	e, err := a.loadConfig()
	if err != nil {
		return err
	}
	p, err := config.Resolve(e.file, a.profileName(), a.getenv, config.Overrides{})
	if err != nil {
		return err
	}
	write := in.on("write")
	switch in.args[0] {
	case "kubectl":
		cluster, _, err := kubeCluster(in, protocol.ExecInfo{})
		if err != nil {
			return err
		}
		return a.setupKubectl(e, p, cluster, write)
	case "docker":
		return a.setupDocker(p, write)
	case "git":
		return a.setupGit(p, write)
	}
	return usagef("setup: unknown caller %q (want kubectl, docker or git)", in.args[0])
}

// setupKubectl writes the exec user, and for a Managed Kubernetes cluster
// also the cluster (server and CA from the Cloud API, which needs the
// session) and a context joining them.
func (a *app) setupKubectl(e *env, p config.Profile, cluster *helper.ClusterRef, write bool) error {
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
		if err := clusterDefaults(cluster, p); err != nil {
			return err
		}
		eng, _, err := a.engineFor(e, p, helper.Signals{})
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

func (a *app) setupDocker(p config.Profile, write bool) error {
	hosts := slices.Clone(p.AllowedHosts)
	for _, r := range p.Registries {
		hosts = append(hosts, r.Host)
	}
	if len(hosts) == 0 {
		return fmt.Errorf("profile %q has no allowed_hosts or registries: docker would never get a credential from it", p.Name)
	}
	d := clientsetup.Docker{ConfigFile: a.dockerConfig(), Hosts: slices.Compact(slices.Sorted(slices.Values(hosts)))}
	if !write {
		_, err := fmt.Fprint(a.stdout, d.Snippet())
		return err
	}
	a.warnMissingPersona("docker-credential-gcore")
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

// runCompletion prints a completion script built from the command table, so
// the three shells always agree with the grammar.
func runCompletion(a *app, in *invocation) error {
	if len(in.args) != 1 {
		return usagef("completion needs one of bash, zsh, fish")
	}
	spec := completionSpec(commands())
	switch in.args[0] {
	case "bash":
		return completion.Bash(a.stdout, spec)
	case "zsh":
		return completion.Zsh(a.stdout, spec)
	case "fish":
		return completion.Fish(a.stdout, spec)
	}
	return usagef("completion: unknown shell %q (want bash, zsh or fish)", in.args[0])
}

func completionSpec(cmds []*command) completion.Spec {
	spec := completion.Spec{Program: programName, FlagValues: map[string][]string{}}
	names := func(specs []flagSpec) []string {
		var out []string
		for _, f := range specs {
			out = append(out, "--"+f.long)
			if f.short != "" {
				out = append(out, "-"+f.short)
			}
			if f.placeholder != "" {
				values := spec.FlagValues["--"+f.long]
				spec.FlagValues["--"+f.long] = append(values, f.values...)
				if f.short != "" {
					spec.FlagValues["-"+f.short] = spec.FlagValues["--"+f.long]
				}
			}
		}
		return out
	}
	spec.GlobalFlags = names(globalFlags())
	for _, c := range cmds {
		spec.Commands = append(spec.Commands, completion.Command{Name: c.name, Flags: names(c.flags), Args: argWords(c.args)})
	}
	for flag, values := range spec.FlagValues {
		slices.Sort(values)
		spec.FlagValues[flag] = slices.Compact(values)
	}
	return spec
}

// argWords splits a usage like "<get|store|erase>" into the words it offers.
func argWords(usage string) []string {
	usage = strings.Trim(usage, "<>")
	if usage == "" || strings.ContainsAny(usage, " []") {
		return nil
	}
	return strings.Split(usage, "|")
}
