package iam

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Operation names of the Cloud calls, as they start error messages.
const (
	opListRegistries     = "cloud list registries"
	opCreateRegistryUser = "cloud create registry user"
	opDeleteRegistryUser = "cloud delete registry user"
	opListClusters       = "cloud list clusters"
	opListProjects       = "cloud list projects"
	opListRegions        = "cloud list regions"
	opClusterConfig      = "cloud cluster config"
)

// maxRegistryUserName is the Cloud API's limit on a registry user's name.
const maxRegistryUserName = 16

// Registry is a Gcore Container Registry.
type Registry struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// URL is where docker finds it, as Gcore gives it: a host and a path,
	// "registry.luxembourg-2.cloud.gcore.dev/1000503-1186668-76-my-registry/".
	URL string `json:"url"`
}

// ListRegistries returns the container registries of a project in a region,
// which is how a registry configured by name is resolved to its id.
func (c *Client) ListRegistries(ctx context.Context, authorization string, projectID, regionID int64) ([]Registry, error) {
	r := request{op: opListRegistries, method: "GET", path: fmt.Sprintf("/cloud/v1/registries/%d/%d", projectID, regionID), resend: true}
	res, err := c.cloudDo(ctx, authorization, r, pathID{"project", projectID}, pathID{"region", regionID})
	if err != nil {
		return nil, err
	}
	regs, err := parseRegistries(res.body)
	if err != nil {
		return nil, malformed(r.op, res.status, err.Error())
	}
	return regs, nil
}

// RegistryUserRequest describes a registry user to create.
type RegistryUserRequest struct {
	// Name is 1 to 16 characters a-z and 0-9; the server derives the docker
	// username from it.
	Name string
	// DurationDays is how long the user lives, in whole days.
	DurationDays int
	ReadOnly     bool
}

// RegistryUser is a registry user with its secret, which the server shows only
// when it creates the user.
type RegistryUser struct {
	ID int64
	// Name is the full docker username, "r_<…>+<name>".
	Name string
	// Secret is the docker password.
	Secret string
	// CreatedAt is zero when the server does not say; with ExpiresAt, both
	// by the server's clock, it gives the user's lifetime.
	CreatedAt, ExpiresAt time.Time
	ReadOnly             bool
}

// String keeps the secret out of accidental %v formatting.
func (u RegistryUser) String() string {
	return fmt.Sprintf("{ID:%d Name:%s Secret:[redacted] ExpiresAt:%s ReadOnly:%t}", u.ID, u.Name, u.ExpiresAt.Format(time.RFC3339), u.ReadOnly)
}

// CreateRegistryUser creates a user of registry registryID. A user of that
// name that already exists matches ErrConflict. Creating is not idempotent
// (the first attempt may have created the user, and the secret is shown only
// once), so like Refresh the request is sent again only when the connection
// could not be made or the server answered 429; after a 5xx, a timeout, a
// reset or a truncated answer it returns an UnavailableError at once.
func (c *Client) CreateRegistryUser(ctx context.Context, authorization string, projectID, regionID, registryID int64, r RegistryUserRequest) (RegistryUser, error) {
	if !validRegistryUserName(r.Name) {
		return RegistryUser{}, fmt.Errorf("%s: invalid user name %q: want 1 to %d characters a-z and 0-9", opCreateRegistryUser, r.Name, maxRegistryUserName)
	}
	if r.DurationDays <= 0 {
		return RegistryUser{}, fmt.Errorf("%s: invalid duration %d days", opCreateRegistryUser, r.DurationDays)
	}
	req := request{
		op: opCreateRegistryUser, method: "POST", path: registryUsersPath(projectID, regionID, registryID),
		body: struct {
			Name     string `json:"name"`
			Duration int    `json:"duration"`
			ReadOnly bool   `json:"read_only"`
		}{r.Name, r.DurationDays, r.ReadOnly},
		resend: false,
	}
	res, err := c.cloudDo(ctx, authorization, req, pathID{"project", projectID}, pathID{"region", regionID}, pathID{"registry", registryID})
	if err != nil {
		return RegistryUser{}, err
	}
	u, err := parseRegistryUser(res.body)
	if err == nil && (u.ID <= 0 || u.Name == "") {
		err = errors.New("want the new user's id and name")
	}
	if err != nil {
		return RegistryUser{}, malformed(req.op, res.status, err.Error())
	}
	return u, nil
}

// DeleteRegistryUser deletes registry user userID. Deleting is idempotent, so
// it is retried like Me, and a user that is already gone (404) is not an error.
func (c *Client) DeleteRegistryUser(ctx context.Context, authorization string, projectID, regionID, registryID, userID int64) error {
	req := request{
		op: opDeleteRegistryUser, method: "DELETE",
		path:   fmt.Sprintf("%s/%d", registryUsersPath(projectID, regionID, registryID), userID),
		resend: true,
	}
	_, err := c.cloudDo(ctx, authorization, req, pathID{"project", projectID}, pathID{"region", regionID}, pathID{"registry", registryID}, pathID{"user", userID})
	// A retry after a lost 204 lands here too.
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func registryUsersPath(projectID, regionID, registryID int64) string {
	return fmt.Sprintf("/cloud/v1/registries/%d/%d/%d/users", projectID, regionID, registryID)
}

func validRegistryUserName(name string) bool {
	if name == "" || len(name) > maxRegistryUserName {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// Cluster is a Managed Kubernetes cluster.
type Cluster struct {
	Name string `json:"name"`
	// Status is "Provisioned" once the cluster can be used; only then does it
	// have a config.
	Status string `json:"status"`
}

// ListClusters returns the Managed Kubernetes clusters of a project in a
// region.
func (c *Client) ListClusters(ctx context.Context, authorization string, projectID, regionID int64) ([]Cluster, error) {
	r := request{op: opListClusters, method: "GET", path: fmt.Sprintf("/cloud/v2/k8s/clusters/%d/%d", projectID, regionID), resend: true}
	res, err := c.cloudDo(ctx, authorization, r, pathID{"project", projectID}, pathID{"region", regionID})
	if err != nil {
		return nil, err
	}
	clusters, err := parseClusters(res.body)
	if err != nil {
		return nil, malformed(r.op, res.status, err.Error())
	}
	return clusters, nil
}

// ClusterConfig is what a client needs to reach a Managed Kubernetes cluster:
// its address and CA, and a client certificate with its private key. The
// certificate lives for years, so the key must be kept encrypted.
type ClusterConfig struct {
	// Host is the API server's URL.
	Host string
	// CACertPEM is the cluster's CA certificate, ClientCertPEM and
	// ClientKeyPEM the client certificate and its private key, all PEM.
	CACertPEM, ClientCertPEM, ClientKeyPEM []byte
	// CreatedAt is zero when the server does not say; ExpiresAt is when the
	// client certificate expires.
	CreatedAt, ExpiresAt time.Time
}

// String keeps the key (and the certificates, which nobody reads in a log)
// out of accidental %v formatting.
func (cc ClusterConfig) String() string {
	return fmt.Sprintf("{Host:%s CACertPEM:[redacted] ClientCertPEM:[redacted] ClientKeyPEM:[redacted] CreatedAt:%s ExpiresAt:%s}",
		cc.Host, cc.CreatedAt.Format(time.RFC3339), cc.ExpiresAt.Format(time.RFC3339))
}

// ClusterConfig fetches the config of cluster name; a cluster that does not
// exist matches ErrNotFound.
func (c *Client) ClusterConfig(ctx context.Context, authorization string, projectID, regionID int64, name string) (ClusterConfig, error) {
	// PathEscape keeps a slash inside one segment; a dot segment would still
	// climb out of it at any server that cleans paths.
	if name == "" || name == "." || name == ".." {
		return ClusterConfig{}, fmt.Errorf("%s: invalid cluster name %q", opClusterConfig, name)
	}
	r := request{
		op: opClusterConfig, method: "GET",
		path:   fmt.Sprintf("/cloud/v2/k8s/clusters/%d/%d/%s/config", projectID, regionID, url.PathEscape(name)),
		resend: true,
	}
	res, err := c.cloudDo(ctx, authorization, r, pathID{"project", projectID}, pathID{"region", regionID})
	if err != nil {
		return ClusterConfig{}, err
	}
	cc, err := parseClusterConfig(res.body)
	if err != nil {
		return ClusterConfig{}, malformed(r.op, res.status, err.Error())
	}
	return cc, nil
}

// Project is a Cloud project.
type Project struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Region is a Cloud region. Regions have no "name": Terraform provider v0
// matches a region name against DisplayName ("Luxembourg-2").
type Region struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
	Slug        string `json:"slug"` // "luxembourg-2"
}

// ListProjects returns the projects of the credential's account, which is
// how a project configured by name is resolved to its id.
func (c *Client) ListProjects(ctx context.Context, authorization string) ([]Project, error) {
	return listAll(ctx, c, authorization, opListProjects, "/cloud/v1/projects", func(p Project) bool { return p.ID > 0 })
}

// ListRegions returns the Cloud regions, which is how a region configured by
// name is resolved to its id.
func (c *Client) ListRegions(ctx context.Context, authorization string) ([]Region, error) {
	return listAll(ctx, c, authorization, opListRegions, "/cloud/v1/regions", func(r Region) bool { return r.ID > 0 })
}

// listPage is how many items listAll asks for at a time.
const listPage = 1000

// maxListPages bounds a list that never ends (a server that ignores offset).
const maxListPages = 100

// listAll reads a paged Cloud list ({"count": total, "results": [...]},
// limit and offset in the query) to its end. valid checks each item.
func listAll[T any](ctx context.Context, c *Client, authorization, op, path string, valid func(T) bool) ([]T, error) {
	var all []T
	for page := 0; page < maxListPages; page++ {
		r := request{op: op, method: "GET", path: fmt.Sprintf("%s?limit=%d&offset=%d", path, listPage, len(all)), resend: true}
		res, err := c.cloudDo(ctx, authorization, r)
		if err != nil {
			return nil, err
		}
		var v struct {
			Count   int  `json:"count"`
			Results *[]T `json:"results"`
		}
		if json.Unmarshal(res.body, &v) != nil || v.Results == nil {
			return nil, malformed(op, res.status, "want a json object with a results list")
		}
		for _, item := range *v.Results {
			if !valid(item) {
				return nil, malformed(op, res.status, "want an id for every item")
			}
		}
		all = append(all, *v.Results...)
		if len(*v.Results) == 0 || len(all) >= v.Count {
			return all, nil
		}
	}
	return nil, malformed(op, 200, fmt.Sprintf("the list did not end within %d pages", maxListPages))
}

// pathID is an id that goes into a Cloud path, named for the error message.
type pathID struct {
	name string
	id   int64
}

// cloudDo sends a Cloud request with authorization, the whole header value
// of the profile's own credential: BearerAuthorization of a JWT access token
// or APIKeyAuthorization of a permanent API token (Cloud refuses an API token
// sent as Bearer). It first checks what the path is built from: a zero id is
// a caller's bug that the server would answer with a puzzling 404.
func (c *Client) cloudDo(ctx context.Context, authorization string, r request, ids ...pathID) (response, error) {
	scheme, secret, _ := strings.Cut(authorization, " ")
	if secret == "" || (scheme != "Bearer" && scheme != "APIKey") {
		return response{}, fmt.Errorf("%s: want a Bearer or APIKey authorization", r.op)
	}
	for _, p := range ids {
		if p.id <= 0 {
			return response{}, fmt.Errorf("%s: invalid %s id %d", r.op, p.name, p.id)
		}
	}
	r.authorization = authorization
	r.secrets = []string{secret}
	r.cloud = true
	return c.do(ctx, r)
}

// The parsers below read answers that arrived whole. Their errors say what
// was wanted and never quote the answer, which may hold a secret or a key.

// results reads a Cloud list, {"count": n, "results": [...]}. These lists are
// not paged, so count says nothing results does not.
func results[T any](body []byte) ([]T, error) {
	var v struct {
		Results *[]T `json:"results"`
	}
	if json.Unmarshal(body, &v) != nil || v.Results == nil {
		return nil, errors.New("want a json object with a results list")
	}
	return *v.Results, nil
}

func parseRegistries(body []byte) ([]Registry, error) {
	regs, err := results[Registry](body)
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		if r.ID <= 0 || r.Name == "" {
			return nil, errors.New("want an id and a name for every registry")
		}
	}
	return regs, nil
}

func parseClusters(body []byte) ([]Cluster, error) {
	clusters, err := results[Cluster](body)
	if err != nil {
		return nil, err
	}
	for _, c := range clusters {
		if c.Name == "" {
			return nil, errors.New("want a name for every cluster")
		}
	}
	return clusters, nil
}

// parseRegistryUser reads the answer to creating a user; the caller checks
// the id and name it needs.
func parseRegistryUser(body []byte) (RegistryUser, error) {
	var v struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		ExpiresAt string `json:"expires_at"`
		CreatedAt string `json:"created_at"`
		ReadOnly  bool   `json:"read_only"`
	}
	if json.Unmarshal(body, &v) != nil {
		return RegistryUser{}, errors.New("want a json registry user")
	}
	if v.Secret == "" {
		return RegistryUser{}, errors.New("want a secret")
	}
	u := RegistryUser{ID: v.ID, Name: v.Name, Secret: v.Secret, ReadOnly: v.ReadOnly}
	var err error
	if u.ExpiresAt, err = parseTime(v.ExpiresAt); err != nil {
		return RegistryUser{}, fmt.Errorf("expires_at: %w", err)
	}
	if v.CreatedAt != "" {
		if u.CreatedAt, err = parseTime(v.CreatedAt); err != nil {
			return RegistryUser{}, fmt.Errorf("created_at: %w", err)
		}
	}
	return u, nil
}

// parseClusterConfig reads a cluster config. Its "config" field, a whole
// kubeconfig with the key inside, is left unread: callers build their own.
func parseClusterConfig(body []byte) (ClusterConfig, error) {
	var v struct {
		Host      string `json:"host"`
		CA        string `json:"cluster_ca_certificate"`
		Cert      string `json:"client_certificate"`
		Key       string `json:"client_key"`
		CreatedAt string `json:"created_at"`
		ExpiresAt string `json:"expires_at"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ClusterConfig{}, errors.New("want a json cluster config")
	}
	if v.Host == "" {
		return ClusterConfig{}, errors.New("want a host")
	}
	var cc ClusterConfig
	var ok bool
	cc.Host = v.Host
	if cc.CACertPEM, ok = decodePEM(v.CA, isCertificate); !ok {
		return ClusterConfig{}, errors.New("cluster_ca_certificate: want base64 of a PEM certificate")
	}
	if cc.ClientCertPEM, ok = decodePEM(v.Cert, isCertificate); !ok {
		return ClusterConfig{}, errors.New("client_certificate: want base64 of a PEM certificate")
	}
	if cc.ClientKeyPEM, ok = decodePEM(v.Key, isPrivateKey); !ok {
		return ClusterConfig{}, errors.New("client_key: want base64 of a PEM private key")
	}
	var err error
	if cc.ExpiresAt, err = parseTime(v.ExpiresAt); err != nil {
		return ClusterConfig{}, fmt.Errorf("expires_at: %w", err)
	}
	if v.CreatedAt != "" {
		if cc.CreatedAt, err = parseTime(v.CreatedAt); err != nil {
			return ClusterConfig{}, fmt.Errorf("created_at: %w", err)
		}
	}
	return cc, nil
}

func isCertificate(blockType string) bool { return blockType == "CERTIFICATE" }

func isPrivateKey(blockType string) bool {
	switch blockType {
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		return true
	}
	return false
}

// decodePEM decodes a base64 field (padded or not, line breaks allowed) that
// must hold PEM blocks of one kind and nothing else but white space, so that a
// truncated or swapped field fails here, with the request, rather than later
// in kubectl.
func decodePEM(field string, kind func(blockType string) bool) ([]byte, bool) {
	data, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(field), "="))
	if err != nil {
		return nil, false
	}
	rest, blocks := data, 0
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		if !kind(block.Type) {
			return nil, false
		}
		rest, blocks = r, blocks+1
	}
	if blocks == 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, false
	}
	return data, true
}

// parseTime reads a Cloud timestamp: RFC 3339, with or without fractional
// seconds, or the same without a zone, which Cloud's Python services emit for
// UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	if err != nil {
		// time's error would quote s.
		return time.Time{}, errors.New("want an RFC 3339 timestamp")
	}
	return t.UTC(), nil
}
