package helper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// The callers' policy: which profile answers a host, what docker, git and
// kubectl get, and when they get nothing. The wire formats are package
// protocol's (its serve cores call the sources here); the engines are wired
// by the CLI.

// Profiles reaches the config's profiles and their engines.
type Profiles struct {
	File   *config.File
	Getenv config.Env
	// Flag is --profile, "" when not given.
	Flag string
	// Engine wires the engine of a resolved profile, for a caller whose
	// interactivity signals are s.
	Engine func(p config.Profile, s Signals) (*Engine, error)
}

// Pinned is the profile the user named: --profile, else GCORE_PROFILE; ""
// when neither.
func (ps Profiles) Pinned() string {
	if ps.Flag != "" {
		return ps.Flag
	}
	return ps.Getenv("GCORE_PROFILE")
}

// Resolve resolves the named profile (an unknown one is an error).
func (ps Profiles) Resolve(name string) (config.Profile, error) {
	return config.Resolve(ps.File, config.ProfileName(name, nil), ps.Getenv, config.Overrides{})
}

// AmbiguousHostError means several profiles serve a host and none is pinned:
// guessing could send one account's token where another's belongs.
type AmbiguousHostError struct {
	Host     string
	Profiles []string
	Caller   string // "git" or "docker", for the hint
}

func (e *AmbiguousHostError) Error() string {
	return fmt.Sprintf("profiles %s all serve %s: pin one", strings.Join(e.Profiles, ", "), e.Host)
}

// Hint says how to pin a profile for the host in the caller's own
// configuration.
func (e *AmbiguousHostError) Hint() string {
	if e.Caller == "docker" {
		return fmt.Sprintf(`for docker, name the helper after the profile: link docker-credential-gcore-%s to this program and set "credHelpers": {%q: "gcore-%s"}, or set GCORE_PROFILE`,
			e.Profiles[0], e.Host, e.Profiles[0])
	}
	return fmt.Sprintf(`for git: git config --global credential.https://%s.helper "gcore --profile %s"`, e.Host, e.Profiles[0])
}

// ProfileFor is the profile that answers for host (the reference's security rules): the pinned
// one; else `default` when it serves the host; else the one profile that
// does; several is an *AmbiguousHostError. When none does, it is `default`,
// which answers "nothing here".
func (ps Profiles) ProfileFor(host, caller string, serves func(config.Profile, string) bool) (config.Profile, error) {
	if pinned := ps.Pinned(); pinned != "" {
		return ps.Resolve(pinned)
	}
	def, err := ps.Resolve("default")
	if err != nil || serves(def, host) {
		return def, err
	}
	var found []config.Profile
	for _, name := range ps.File.ProfileNames() {
		p, err := ps.Resolve(name)
		if err != nil {
			return config.Profile{}, err
		}
		if serves(p, host) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return def, nil
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, p := range found {
		names[i] = p.Name
	}
	return config.Profile{}, &AmbiguousHostError{Host: host, Profiles: names, Caller: caller}
}

// servesGit: git answers only for allowed hosts.
func servesGit(p config.Profile, host string) bool { return HostAllowed(p.AllowedHosts, host) }

// servesDocker: docker answers for allowed hosts and configured registries.
func servesDocker(p config.Profile, host string) bool {
	_, registry := p.RegistryFor(host)
	return registry || HostAllowed(p.AllowedHosts, host)
}

// tokenUser is the username that goes with a token in the docker and git
// protocols: the profile's login, or the token's kind for api-token profiles.
func tokenUser(p config.Profile, tok Token) string {
	if tok.Kind == KindAPIKey || p.Username == "" {
		return tok.Kind
	}
	return p.Username
}

// Docker answers docker's credential-helper protocol (protocol.DockerStore).
// It never prompts.
type Docker struct {
	Ctx      context.Context
	Profiles Profiles
	// Report tells the user why a credential was not handed out: docker reads
	// only the not-found sentinel.
	Report func(error)
}

func (d Docker) engine(host string) (*Engine, error) {
	p, err := d.Profiles.ProfileFor(host, "docker", servesDocker)
	if err != nil {
		return nil, err
	}
	return d.Profiles.Engine(p, Signals{DockerGet: true})
}

// Get answers with a credential the user stored for the server's host, else
// a registry user for a configured Gcore registry, else the profile's token
// for an allowed host, else docker's not-found.
func (d Docker) Get(serverURL string) (protocol.DockerCredentials, error) {
	host, err := protocol.RegistryHost(serverURL)
	if err != nil {
		return protocol.DockerCredentials{}, protocol.ErrDockerNotFound
	}
	eng, err := d.engine(host)
	if err != nil {
		return protocol.DockerCredentials{}, err
	}
	answer := func(user, secret string) (protocol.DockerCredentials, error) {
		return protocol.DockerCredentials{ServerURL: serverURL, Username: user, Secret: secret}, nil
	}
	if c, ok, err := eng.RegistryCredentials().Get(host); err != nil {
		return protocol.DockerCredentials{}, err
	} else if ok {
		return answer(c.Username, c.Secret)
	}
	opts := GetOptions{MinTTL: eng.Profile.MinTTL}
	if reg, ok, err := eng.Registry(d.Ctx, host); err != nil {
		return d.notFound(err)
	} else if ok {
		login, err := eng.RegistryLogin(d.Ctx, reg, opts)
		if err != nil {
			return d.notFound(err)
		}
		return answer(login.Username, login.Secret)
	}
	if !HostAllowed(eng.Profile.AllowedHosts, host) {
		eng.debugf("docker get: %s is not in allowed_hosts of profile %q", host, eng.Profile.Name)
		return protocol.DockerCredentials{}, protocol.ErrDockerNotFound
	}
	tok, err := eng.Token(d.Ctx, opts)
	if err != nil {
		return d.notFound(err)
	}
	return answer(tokenUser(eng.Profile, tok), tok.Value)
}

// notFound reports why there is no credential and gives docker its sentinel.
func (d Docker) notFound(err error) (protocol.DockerCredentials, error) {
	d.Report(err)
	return protocol.DockerCredentials{}, protocol.ErrDockerNotFound
}

// Store keeps a credential the user gave `docker login`, encrypted, per host.
func (d Docker) Store(c protocol.DockerCredentials) error {
	host, err := protocol.RegistryHost(c.ServerURL)
	if err != nil {
		return err
	}
	eng, err := d.engine(host)
	if err != nil {
		return err
	}
	return eng.RegistryCredentials().Put(d.Ctx, RegistryCredential{Host: host, Username: c.Username, Secret: c.Secret})
}

// Erase forgets the credential stored for the server's host.
func (d Docker) Erase(serverURL string) error {
	host, err := protocol.RegistryHost(serverURL)
	if err != nil {
		return err
	}
	eng, err := d.engine(host)
	if err != nil {
		return err
	}
	return eng.RegistryCredentials().Delete(d.Ctx, host)
}

// List returns the hosts with stored credentials of the pinned (or default)
// profile.
func (d Docker) List() (map[string]string, error) {
	eng, err := d.engine("")
	if err != nil {
		return nil, err
	}
	return eng.RegistryCredentials().List()
}

// Git answers git's credential-helper protocol (protocol.GitSource).
type Git struct {
	Ctx      context.Context
	Profiles Profiles
	// Signals are git's interactivity signals (GIT_TERMINAL_PROMPT, …).
	Signals Signals
	// Report tells the user why git was told to stop (quit=1).
	Report func(error)
}

func (g Git) engine(host string) (*Engine, error) {
	p, err := g.Profiles.ProfileFor(host, "git", servesGit)
	if err != nil {
		return nil, err
	}
	if !servesGit(p, host) {
		return nil, protocol.ErrGitNoCredential
	}
	return g.Profiles.Engine(p, g.Signals)
}

// Get answers with the profile's token for an allowed host; when a login is
// needed that nobody may do, git is told to stop (quit=1) rather than to ask
// someone else or prompt.
func (g Git) Get(req protocol.GitRequest) (protocol.GitAnswer, error) {
	eng, err := g.engine(req.Host)
	if err != nil {
		return protocol.GitAnswer{}, err
	}
	tok, err := eng.Token(g.Ctx, GetOptions{MinTTL: eng.Profile.MinTTL})
	var login *LoginRequiredError
	if errors.As(err, &login) {
		g.Report(err)
		return protocol.GitAnswer{Quit: true}, nil
	}
	if err != nil {
		return protocol.GitAnswer{}, err
	}
	return protocol.GitAnswer{Username: tokenUser(eng.Profile, tok), Kind: tok.Kind, Token: tok.Value, Expiry: tok.RenewAt}, nil
}

// Erase marks the refused token rejected, so the next request renews it.
func (g Git) Erase(req protocol.GitRequest) error {
	eng, err := g.engine(req.Host)
	if errors.Is(err, protocol.ErrGitNoCredential) {
		return nil
	}
	if err != nil {
		return err
	}
	token := req.Password
	if token == "" && len(req.Attrs["credential"]) > 0 {
		token = req.Attrs["credential"][0]
	}
	return eng.Reject(g.Ctx, token)
}

// Kube answers kubectl's exec credential plugin (protocol.KubeSource): the
// access token, or for a Gcore Managed Kubernetes cluster its client
// certificate.
type Kube struct {
	Ctx      context.Context
	Profiles Profiles
	// Cluster is what the flags say; the kubeconfig's exec extension fills
	// what they leave out (see clusterFromExtension).
	Cluster ClusterRef
	// MinTTL is --min-ttl, nil when not given.
	MinTTL *time.Duration
}

// Credential answers with the credential of the profile profileName picks.
func (k Kube) Credential(info protocol.ExecInfo) (protocol.ExecCredentialStatus, error) {
	ref, extProfile := k.Cluster, ""
	if info.Cluster != nil {
		ref, extProfile = clusterFromExtension(ref, info.Cluster.Config)
	}
	p, err := config.Resolve(k.Profiles.File, k.profileName(extProfile), k.Profiles.Getenv, config.Overrides{MinTTL: k.MinTTL})
	if err != nil {
		return protocol.ExecCredentialStatus{}, err
	}
	eng, err := k.Profiles.Engine(p, Signals{KubeInteractive: info.Interactive})
	if err != nil {
		return protocol.ExecCredentialStatus{}, err
	}
	opts := GetOptions{MinTTL: eng.Profile.MinTTL}
	if ref.Name == "" {
		if ref.Scope != (Scope{}) {
			return protocol.ExecCredentialStatus{}, errors.New("a project or region was given without a cluster")
		}
		// kubectl asks again once RenewAt passes, while the token still has min_ttl left.
		tok, err := eng.Token(k.Ctx, opts)
		return protocol.ExecCredentialStatus{Token: tok.Value, ExpirationTimestamp: tok.RenewAt}, err
	}
	if err := ref.Defaults(p); err != nil {
		return protocol.ExecCredentialStatus{}, err
	}
	cred, err := eng.Cluster(k.Ctx, ref, opts)
	return protocol.ExecCredentialStatus{ClientCertificateData: string(cred.ClientCertPEM),
		ClientKeyData: string(cred.ClientKeyPEM), ExpirationTimestamp: cred.RenewAt}, err
}

// profileName is --profile, else the `profile` of the cluster's exec
// extension, else GCORE_PROFILE, else default. The extension beats the
// variable: it is bound to the cluster, and a shell-wide GCORE_PROFILE must
// not send one account's token to another account's cluster.
func (k Kube) profileName(extension string) string {
	for _, name := range []string{k.Profiles.Flag, extension, k.Profiles.Getenv("GCORE_PROFILE")} {
		if name != "" {
			return name
		}
	}
	return config.DefaultProfile
}

// clusterFromExtension fills what ref leaves out from the kubeconfig
// cluster's exec extension (kubectl passes it with provideClusterInfo):
// keys cluster, project_id or project_name, region_id or region_name, and
// profile, which it returns.
func clusterFromExtension(ref ClusterRef, ext map[string]any) (ClusterRef, string) {
	str := func(k string) string { s, _ := ext[k].(string); return s }
	num := func(k string) int64 {
		switch v := ext[k].(type) {
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
	return ref, str("profile")
}

// Defaults gives c the profile's project and region (project_id, region_id,
// GCORE_CLOUD_PROJECT_ID, GCORE_CLOUD_REGION_ID) where it names none, and
// checks that it names both.
func (c *ClusterRef) Defaults(p config.Profile) error {
	if c.ProjectID == 0 && c.ProjectName == "" {
		c.ProjectID = p.ProjectID
	}
	if c.RegionID == 0 && c.RegionName == "" {
		c.RegionID = p.RegionID
	}
	if !c.Complete() {
		return &UsageError{Msg: fmt.Sprintf("cluster %q needs a project and a region: --project-id (or --project-name) and --region-id (or --region-name), "+
			"the same keys in the kubeconfig exec extension, or GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID", c.Name)}
	}
	return nil
}

// UsageError is a request that cannot be answered as asked (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// RegistryCredentials are the docker logins the user stored, kept in the
// engine's store.
func (e *Engine) RegistryCredentials() RegistryCredentials {
	return RegistryCredentials{Store: e.Store, Locker: e.Locker, LockTimeout: e.Profile.LockTimeout}
}

// DockerHosts are the hosts docker should ask this profile about: its
// allowed hosts and its registries' (a registry that names no host is looked
// up, which needs the session).
func (e *Engine) DockerHosts(ctx context.Context) ([]string, error) {
	hosts := slices.Clone(e.Profile.AllowedHosts)
	for _, r := range e.Profile.Registries {
		host, err := e.RegistryHost(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("registry %q: %w", r.RegistryName, err)
		}
		hosts = append(hosts, host)
	}
	return slices.Compact(slices.Sorted(slices.Values(hosts))), nil
}
