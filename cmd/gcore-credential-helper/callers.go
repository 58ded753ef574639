package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// exitStatus ends a command with a code whose message the command has
// already written in its caller's protocol.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// runKube is kubectl's exec credential plugin (SPEC §8.2): the access token,
// or for a Gcore Managed Kubernetes cluster (SPEC §12) its client certificate.
func runKube(a *app, in *invocation) error {
	info, err := protocol.ParseExecInfo(a.getenv("KUBERNETES_EXEC_INFO"))
	if err != nil {
		return fmt.Errorf("KUBERNETES_EXEC_INFO: %w", err)
	}
	cluster, profile, err := kubeCluster(in, info)
	if err != nil {
		return err
	}
	if a.profile == "" {
		a.profile = profile // --profile still wins over the kubeconfig extension
	}
	minTTL, err := in.duration("min-ttl")
	if err != nil {
		return err
	}
	eng, _, _, err := a.engine(overrides{Overrides: config.Overrides{MinTTL: minTTL}, signals: helper.Signals{KubeInteractive: info.Interactive}})
	if err != nil {
		return err
	}
	opts := helper.GetOptions{MinTTL: eng.Profile.MinTTL}
	var st protocol.ExecCredentialStatus
	if cluster != nil {
		if err := clusterDefaults(cluster, eng.Profile); err != nil {
			return err
		}
		cred, err := eng.Cluster(a.ctx, *cluster, opts)
		if err != nil {
			return err
		}
		st = protocol.ExecCredentialStatus{ClientCertificateData: string(cred.ClientCertPEM),
			ClientKeyData: string(cred.ClientKeyPEM), ExpirationTimestamp: cred.RenewAt}
	} else {
		tok, err := eng.Token(a.ctx, opts)
		if err != nil {
			return err
		}
		// kubectl re-asks once RenewAt passes, while the token still has min_ttl left.
		st.Token, st.ExpirationTimestamp = tok.Value, tok.RenewAt
	}
	return protocol.WriteExecCredential(a.stdout, info.APIVersion, st)
}

// kubeCluster reads the Managed Kubernetes cluster to answer for from the
// flags, else from the kubeconfig cluster's exec extension that kubectl
// passes with provideClusterInfo (keys cluster, project_id or project_name,
// region_id or region_name, and profile, which it also returns); a nil
// cluster means "the access token". A project or region given neither way
// is the profile's (see clusterDefaults).
func kubeCluster(in *invocation, info protocol.ExecInfo) (cluster *helper.ClusterRef, profile string, err error) {
	ref := helper.ClusterRef{Name: in.str("cluster"),
		Scope: helper.Scope{ProjectName: in.str("project-name"), RegionName: in.str("region-name")}}
	for _, f := range []struct {
		flag string
		dst  *int64
	}{{"project-id", &ref.ProjectID}, {"region-id", &ref.RegionID}} {
		n, err := in.int64(f.flag)
		if err != nil {
			return nil, "", err
		}
		if n != nil {
			*f.dst = *n
		}
	}
	if ext := info.Cluster; ext != nil && ext.Config != nil {
		str := func(k string) string { s, _ := ext.Config[k].(string); return s }
		num := func(k string) int64 {
			switch v := ext.Config[k].(type) {
			case float64:
				return int64(v)
			case string:
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					return n
				}
			}
			return 0
		}
		if ref.Name == "" {
			ref.Name = str("cluster")
		}
		if ref.ProjectID == 0 && ref.ProjectName == "" {
			ref.ProjectID, ref.ProjectName = num("project_id"), str("project_name")
		}
		if ref.RegionID == 0 && ref.RegionName == "" {
			ref.RegionID, ref.RegionName = num("region_id"), str("region_name")
		}
		profile = str("profile")
	}
	if ref.Name == "" {
		if ref.Scope != (helper.Scope{}) {
			return nil, "", usagef("--project-id, --region-id and their names go with --cluster")
		}
		return nil, profile, nil
	}
	return &ref, profile, nil
}

// clusterDefaults gives c the profile's project and region (project_id,
// region_id, GCORE_CLOUD_PROJECT_ID, GCORE_CLOUD_REGION_ID) where it names
// none, and checks that it names both.
func clusterDefaults(c *helper.ClusterRef, p config.Profile) error {
	if c.ProjectID == 0 && c.ProjectName == "" {
		c.ProjectID = p.ProjectID
	}
	if c.RegionID == 0 && c.RegionName == "" {
		c.RegionID = p.RegionID
	}
	if !c.Complete() {
		return usagef("cluster %q needs a project and a region: --project-id (or --project-name) and --region-id (or --region-name), "+
			"the same keys in the kubeconfig exec extension, or GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID", c.Name)
	}
	return nil
}

func isDockerVerb(v string) bool {
	switch v {
	case "get", "store", "erase", "list", "version":
		return true
	}
	return false
}

func runDockerCommand(a *app, in *invocation) error {
	if len(in.args) != 1 || !isDockerVerb(in.args[0]) {
		return usagef("docker needs one of get, store, erase, list, version")
	}
	if code := a.docker(in.args[0]); code != exitOK {
		return exitStatus(code)
	}
	return nil
}

// docker answers one docker credential-helper verb (SPEC §8.3). Its errors go
// to stdout, as docker reads them there, with exit 1.
func (a *app) docker(verb string) int {
	err := a.dockerVerb(verb)
	if err == nil {
		return exitOK
	}
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	fmt.Fprintln(a.stdout, err)
	a.debugf("docker %s: %v", verb, err)
	return exitError
}

// errDockerNotFound is docker's not-found sentinel.
var errDockerNotFound = errors.New(protocol.DockerNotFound)

func (a *app) dockerVerb(verb string) error {
	switch verb {
	case "version":
		_, err := fmt.Fprintf(a.stdout, "docker-credential-gcore (%s) %s\n", programName, version)
		return err
	case "get":
		url, err := protocol.ReadDockerServerURL(a.stdin)
		if err != nil {
			return err
		}
		return a.dockerGet(url)
	case "store":
		c, err := protocol.ReadDockerCredentials(a.stdin)
		if err != nil {
			return err
		}
		host, err := protocol.RegistryHost(c.ServerURL)
		if err != nil {
			return err
		}
		reg, err := a.registry(host)
		if err != nil {
			return err
		}
		return reg.Put(a.ctx, helper.RegistryCredential{Host: host, Username: c.Username, Secret: c.Secret})
	case "erase":
		url, err := protocol.ReadDockerServerURL(a.stdin)
		if err != nil {
			return err
		}
		host, err := protocol.RegistryHost(url)
		if err != nil {
			return err
		}
		reg, err := a.registry(host)
		if err != nil {
			return err
		}
		return reg.Delete(a.ctx, host)
	default: // list
		reg, err := a.registry("")
		if err != nil {
			return err
		}
		hosts, err := reg.List()
		if err != nil {
			return err
		}
		return protocol.WriteDockerList(a.stdout, hosts)
	}
}

// dockerGet answers with a credential the user stored for the host, else
// with the profile's token for an allowed host, else docker's not-found.
// It never prompts.
func (a *app) dockerGet(serverURL string) error {
	host, err := protocol.RegistryHost(serverURL)
	if err != nil {
		return errDockerNotFound
	}
	eng, err := a.hostEngine(host, helper.Signals{DockerGet: true})
	if err != nil {
		return err
	}
	if c, ok, err := a.registryFor(eng).Get(host); err != nil {
		return err
	} else if ok {
		return protocol.WriteDockerCredentials(a.stdout, protocol.DockerCredentials{ServerURL: serverURL, Username: c.Username, Secret: c.Secret})
	}
	opts := helper.GetOptions{MinTTL: eng.Profile.MinTTL}
	if reg, ok, err := eng.Registry(a.ctx, host); err != nil {
		a.fail(err)
		return errDockerNotFound
	} else if ok {
		login, err := eng.RegistryLogin(a.ctx, reg, opts)
		if err != nil {
			// docker reads only the sentinel; the reason goes to the terminal.
			a.fail(err)
			return errDockerNotFound
		}
		return protocol.WriteDockerCredentials(a.stdout, protocol.DockerCredentials{ServerURL: serverURL, Username: login.Username, Secret: login.Secret})
	}
	if !helper.HostAllowed(eng.Profile.AllowedHosts, host) {
		a.debugf("docker get: %s is not in allowed_hosts of profile %q", host, eng.Profile.Name)
		return errDockerNotFound
	}
	tok, err := eng.Token(a.ctx, opts)
	if err != nil {
		a.fail(err)
		return errDockerNotFound
	}
	return protocol.WriteDockerCredentials(a.stdout, protocol.DockerCredentials{ServerURL: serverURL, Username: tokenUser(eng.Profile, tok), Secret: tok.Value})
}

// servesDockerHost reports whether the docker persona answers for host with
// profile p: an allowed host, or a configured Gcore Container Registry.
func servesDockerHost(p config.Profile, host string) bool {
	_, registry := p.RegistryFor(host)
	return registry || helper.HostAllowed(p.AllowedHosts, host)
}

// tokenUser is the username that goes with a token in the docker and git
// protocols: the profile's login, or the token's kind for api-token profiles.
func tokenUser(p config.Profile, tok helper.Token) string {
	if tok.Kind == helper.KindAPIKey || p.Username == "" {
		return tok.Kind
	}
	return p.Username
}

func (a *app) registry(host string) (helper.RegistryCredentials, error) {
	eng, err := a.hostEngine(host, helper.Signals{DockerGet: true})
	if err != nil {
		return helper.RegistryCredentials{}, err
	}
	return a.registryFor(eng), nil
}

func (a *app) registryFor(eng *helper.Engine) helper.RegistryCredentials {
	return helper.RegistryCredentials{Store: eng.Store, Locker: eng.Locker, LockTimeout: eng.Profile.LockTimeout}
}

// hostEngine wires the engine for the profile that serves host: the one named
// by --profile or GCORE_PROFILE, else the first profile (by name) whose
// allowed_hosts or registries have host, else the default profile. (A git
// request for a registry host still gets nothing: git checks allowed_hosts.)
func (a *app) hostEngine(host string, signals helper.Signals) (*helper.Engine, error) {
	e, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	name := a.profileName()
	if a.profile == "" && a.getenv("GCORE_PROFILE") == "" && host != "" {
		for _, n := range e.file.ProfileNames() {
			p, err := config.Resolve(e.file, n, a.getenv, config.Overrides{})
			if err == nil && servesDockerHost(p, host) {
				name = n
				break
			}
		}
	}
	profile, err := config.Resolve(e.file, name, a.getenv, config.Overrides{})
	if err != nil {
		return nil, err
	}
	eng, _, err := a.engineFor(e, profile, signals)
	return eng, err
}

func runGitCommand(a *app, in *invocation) error {
	if len(in.args) != 1 {
		return usagef("git needs one action: get, store, erase or capability")
	}
	if code := a.git(in.args[0]); code != exitOK {
		return exitStatus(code)
	}
	return nil
}

// git answers one git credential-helper action (SPEC §8.4). Foreign hosts and
// plain http get silence; unknown actions are ignored, as git expects.
func (a *app) git(action string) int {
	switch action {
	case "capability":
		if err := protocol.WriteGitCapabilities(a.stdout); err != nil {
			return a.fail(err)
		}
		return exitOK
	case "get", "erase":
	default: // store is a no-op: the token is ours, not git's to keep
		return exitOK
	}
	req, err := protocol.ParseGitRequest(a.stdin)
	if err != nil {
		return a.fail(err)
	}
	if req.Protocol != "https" || req.Host == "" {
		return exitOK
	}
	eng, err := a.hostEngine(req.Host, helper.Signals{
		GitTerminalPrompt:        a.getenv("GIT_TERMINAL_PROMPT"),
		GitCredentialInteractive: a.gitConfig("credential.interactive"),
	})
	if err != nil {
		return a.fail(err)
	}
	if !helper.HostAllowed(eng.Profile.AllowedHosts, req.Host) {
		a.debugf("git %s: %s is not in allowed_hosts of profile %q", action, req.Host, eng.Profile.Name)
		return exitOK
	}
	if action == "erase" {
		token := req.Password
		if token == "" {
			token = firstOf(req.Attrs["credential"])
		}
		if err := eng.Reject(a.ctx, token); err != nil {
			return a.fail(err)
		}
		return exitOK
	}
	tok, err := eng.Token(a.ctx, helper.GetOptions{MinTTL: eng.Profile.MinTTL})
	var login *helper.LoginRequiredError
	if errors.As(err, &login) {
		// quit=1 stops git from trying other helpers or prompting itself.
		a.fail(err)
		if werr := protocol.WriteGitCredential(a.stdout, protocol.GitCredential{Quit: true}); werr != nil {
			return a.fail(werr)
		}
		return exitOK
	}
	if err != nil {
		return a.fail(err)
	}
	out := protocol.GitCredential{PasswordExpiry: tok.RenewAt}
	if req.HasCapability("authtype") {
		out.AuthType, out.Credential, out.Ephemeral = tok.Kind, tok.Value, true
	} else {
		out.Username, out.Password = req.Username, tok.Value
		if out.Username == "" {
			out.Username = tokenUser(eng.Profile, tok)
		}
	}
	if err := protocol.WriteGitCredential(a.stdout, out); err != nil {
		return a.fail(err)
	}
	return exitOK
}

func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// gitConfig returns a reader of one git setting for the interactivity
// decision; it runs git only if that decision gets that far.
func (a *app) gitConfig(key string) func() string {
	return func() string {
		ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "git", "config", "--get", key).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
}

func (a *app) exportToken(in *invocation) (config.Profile, helper.Token, error) {
	minTTL, err := in.duration("min-ttl")
	if err != nil {
		return config.Profile{}, helper.Token{}, err
	}
	eng, _, _, err := a.engine(overrides{Overrides: config.Overrides{MinTTL: minTTL}})
	if err != nil {
		return config.Profile{}, helper.Token{}, err
	}
	source := eng.Token
	if in.on("api-key") {
		source = eng.APIKey
	}
	tok, err := source(a.ctx, helper.GetOptions{MinTTL: eng.Profile.MinTTL})
	return eng.Profile, tok, err
}

func runExport(a *app, in *invocation) error {
	format, err := in.oneOf("format", protocol.ExportSh, protocol.ExportSh, protocol.ExportFish, protocol.ExportPwsh, protocol.ExportDotenv, protocol.ExportJSON)
	if err != nil {
		return err
	}
	p, tok, err := a.exportToken(in)
	if err != nil {
		return err
	}
	return protocol.WriteExport(a.stdout, format, helper.ExportVars(p, tok))
}

// runExec runs a command with the exported environment and exits with its
// status. Secrets go only into the child's environment, never onto its
// command line.
func runExec(a *app, in *invocation) error {
	if len(in.args) == 0 {
		return usagef("exec needs a command: exec [--] CMD ARGS…")
	}
	if p := a.getenv(helper.NestVar); p != "" {
		return fmt.Errorf("refusing to nest: already inside 'gcore-credential-helper exec' for profile %q", p)
	}
	path, err := exec.LookPath(in.args[0])
	if err != nil {
		return fmt.Errorf("exec %s: %w", in.args[0], err)
	}
	p, tok, err := a.exportToken(in)
	if err != nil {
		return err
	}
	if tool, ok := helper.APIKeyOnlyTool(path); ok && tok.Kind != helper.KindAPIKey {
		return usagef("%s authenticates only with an API key, and profile %q holds a session: "+
			"run '%s exec --api-key -- %s …' for a short-lived key minted from it", tool, p.Name, programName, in.args[0])
	}
	return runChild(a, path, in.args, helper.ChildEnv(a.env, p, tok))
}
