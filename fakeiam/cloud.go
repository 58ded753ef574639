package fakeiam

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Gcore Cloud routes of the reference's service credentials: projects and regions, Container Registry users and Managed
// Kubernetes configs. They take `Bearer <access JWT>` and `APIKey <permanent token>`, refuse a
// permanent token sent as Bearer as Gcore does ("Given token not valid for any token type"),
// and act only in projects of the credential's account; projects, registries and clusters exist
// only as tests add them.
//
// A registry user is a Harbor robot account: its expires_at is fixed when it is created
// (duration days from then, or 1969-12-31T23:59:59Z for duration -1, "never"), and
// refresh_secret gives a new secret without moving it.
//
// Cloud's error bodies are {"exception_class": …, "message": …}; a body Cloud cannot parse gets
// the same {"message": "JSON parse error - …"} as IAM.

// registryUserTTLMax is the longest registry user lifetime Cloud accepts, in days; -1 means
// "never expires".
const registryUserTTLMax = 365

// neverExpires is the expires_at Cloud shows for a user created with duration -1.
var neverExpires = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)

// msgTokenType is Cloud's answer to a permanent API token sent as Bearer.
const msgTokenType = "Given token not valid for any token type"

// clusterProvisioned is the only cluster status whose config can be fetched.
const clusterProvisioned = "Provisioned"

// cloudState is what the Cloud routes own; Server.mu guards it.
type cloudState struct {
	projects       map[int64]int64 // project ID → owning account ID
	projectNames   map[int64]string
	registries     []*registry
	clusters       []*cluster
	lastRegistryID int64
	lastUserID     int64
}

type registry struct {
	id, project, region int64
	name                string
	created             time.Time
	users               []*registryUser
}

// host is where docker logs in to the registry; the fake names it after the region's ID.
func (g *registry) host() string {
	return "registry.region-" + strconv.FormatInt(g.region, 10) + ".cloud.gcore.dev"
}

// path is the registry's Harbor project, "<project>-<region>-<id>-<name>" like Cloud's
// "1000503-1186668-76-my-registry".
func (g *registry) path() string {
	return strconv.FormatInt(g.project, 10) + "-" + strconv.FormatInt(g.region, 10) + "-" +
		strconv.FormatInt(g.id, 10) + "-" + g.name
}

func (g *registry) url() string { return g.host() + "/" + g.path() + "/" }

func (g *registry) dockerUsername(u *registryUser) string { return "r_" + g.path() + "+" + u.name }

// registryUser is a registry robot account. Its docker username is "r_<registry path>+<name>".
type registryUser struct {
	id       int64
	name     string // as the client asked for it
	secret   string
	duration int // days
	readOnly bool
	created  time.Time
	expires  time.Time
}

// cluster is a Managed Kubernetes cluster with its own certificate authority.
type cluster struct {
	Cluster
	created time.Time
	pki     *clusterPKI
}

// Cluster is a Managed Kubernetes cluster as a test sets it up with AddCluster.
type Cluster struct {
	Project, Region int64
	Name            string
	Status          string    // e.g. "Provisioning"; empty means "Provisioned", the only status whose config is served
	Host            string    // the apiserver URL the config names; StartKubeAPIServer sets it
	ExpiresAt       time.Time // expires_at of the config; zero means the client certificate's NotAfter
}

// AddProject makes project projectID belong to account clientID: Cloud calls for the project
// succeed only with a credential of account clientID, and answer 403 otherwise. The project is
// named "project-<id>" unless AddProjectNamed names it.
func (s *Server) AddProject(clientID, projectID int64) {
	s.AddProjectNamed(clientID, projectID, "project-"+strconv.FormatInt(projectID, 10))
}

// AddProjectNamed is AddProject with the project's name.
func (s *Server) AddProjectNamed(clientID, projectID int64, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cloud.projects == nil {
		s.cloud.projects = make(map[int64]int64)
		s.cloud.projectNames = make(map[int64]string)
	}
	s.cloud.projects[projectID] = clientID
	s.cloud.projectNames[projectID] = name
}

// regions are the Cloud regions every account sees: an id, a display name and a slug. A
// registry's host names its region's id, whatever region it is in.
var regions = []regionView{
	{ID: 76, DisplayName: "Luxembourg-2", Slug: "luxembourg-2"},
	{ID: 38, DisplayName: "Frankfurt", Slug: "frankfurt"},
	{ID: 1, DisplayName: "Region One", Slug: "region-one"},
}

// regionView is Cloud's JSON for a region (it has no "name").
type regionView struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
	Slug        string `json:"slug"`
}

// AddRegistry creates a Container Registry called name in the project and region and returns
// its ID and URL, "registry.region-<region>.cloud.gcore.dev/<project>-<region>-<id>-<name>/".
func (s *Server) AddRegistry(project, region int64, name string) (id int64, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cloud.lastRegistryID++
	g := &registry{id: s.cloud.lastRegistryID, project: project, region: region, name: name, created: s.cfg.Now().UTC()}
	s.cloud.registries = append(s.cloud.registries, g)
	return g.id, g.url()
}

// RegistryLoginValid reports whether `docker login host` with username and secret would
// succeed now, by the fake's clock: the user exists in a registry on that host (exactly as
// "registry.region-1.cloud.gcore.dev", no scheme) and secret is its current, unexpired secret.
func (s *Server) RegistryLoginValid(host, username, secret string) bool {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.cloud.registries {
		if g.host() != host {
			continue
		}
		for _, u := range g.users {
			if g.dockerUsername(u) == username && u.secret == secret && (u.expires.Equal(neverExpires) || now.Before(u.expires)) {
				return true
			}
		}
	}
	return false
}

// AddCluster adds c, or replaces the settings of the cluster with the same project, region and
// name, Host included, while keeping its certificates. A new cluster gets a fresh ECDSA P-256
// certificate authority, a server certificate for 127.0.0.1, ::1 and localhost, and a client
// certificate (CN "gcore-user", O "system:masters") valid for two years; all of them are valid
// from an hour before the fake's clock, so kubectl, which checks them against the real clock,
// needs a fake clock no more than an hour ahead. It panics if key generation fails.
func (s *Server) AddCluster(c Cluster) {
	if c.Status == "" {
		c.Status = clusterProvisioned
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.clusterLocked(c.Project, c.Region, c.Name); k != nil {
		k.Cluster = c
		return
	}
	now := s.cfg.Now().UTC()
	pki, err := newClusterPKI(c.Name, now)
	if err != nil {
		panic("fakeiam: add cluster: " + err.Error())
	}
	s.cloud.clusters = append(s.cloud.clusters, &cluster{Cluster: c, created: now, pki: pki})
}

// clusterLocked returns the cluster or nil; s.mu must be held.
func (s *Server) clusterLocked(project, region int64, name string) *cluster {
	i := slices.IndexFunc(s.cloud.clusters, func(k *cluster) bool {
		return k.Project == project && k.Region == region && k.Name == name
	})
	if i < 0 {
		return nil
	}
	return s.cloud.clusters[i]
}

// cloudList is Cloud's list envelope.
type cloudList[T any] struct {
	Count   int `json:"count"`
	Results []T `json:"results"`
}

func newCloudList[T any](items []T) cloudList[T] {
	if items == nil {
		items = []T{} // "results": [] rather than null
	}
	return cloudList[T]{len(items), items}
}

func cloudError(w http.ResponseWriter, status int, class, msg string) {
	writeJSON(w, status, map[string]string{"exception_class": class, "message": msg})
}

// cloudPrincipal authenticates a Cloud request: a current access token as Bearer, or a live
// permanent token as APIKey. A permanent token sent as Bearer gets Cloud's own refusal.
func (s *Server) cloudPrincipal(w http.ResponseWriter, r *http.Request) (principal, bool) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		if _, ok := s.apiKeyPrincipal(cred); ok {
			cloudError(w, http.StatusUnauthorized, "NotAuthenticated", msgTokenType)
			return principal{}, false
		}
	}
	p, ok := s.authenticate(r)
	if !ok {
		cloudError(w, http.StatusUnauthorized, "NotAuthenticated", msgInvalidToken)
	}
	return p, ok
}

// cloudScope authenticates r and returns the project and region in its path, answering 401
// without a usable credential, 404 for IDs that are not integers and 403 for a project that is
// not the credential's account's.
func (s *Server) cloudScope(w http.ResponseWriter, r *http.Request) (project, region int64, ok bool) {
	c, ok := s.cloudPrincipal(w, r)
	if !ok {
		return 0, 0, false
	}
	project, err1 := strconv.ParseInt(r.PathValue("project"), 10, 64)
	region, err2 := strconv.ParseInt(r.PathValue("region"), 10, 64)
	if err1 != nil || err2 != nil {
		cloudError(w, http.StatusNotFound, "NotFound", msgNotFound)
		return 0, 0, false
	}
	s.mu.Lock()
	owner, known := s.cloud.projects[project]
	s.mu.Unlock()
	if !known || owner != c.account.ID {
		cloudError(w, http.StatusForbidden, "PermissionDenied", msgNotMember)
		return 0, 0, false
	}
	return project, region, true
}

// registryView is Cloud's JSON for a registry.
type registryView struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) listRegistries(w http.ResponseWriter, r *http.Request) {
	project, region, ok := s.cloudScope(w, r)
	if !ok {
		return
	}
	var views []registryView
	s.mu.Lock()
	for _, g := range s.cloud.registries {
		if g.project == project && g.region == region {
			views = append(views, registryView{g.id, g.name, g.url(), g.created})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newCloudList(views))
}

// registryUserView is Cloud's JSON for a registry user; the secret appears only in the answers
// to create and refresh_secret. Name is the full docker username.
type registryUserView struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Secret    string    `json:"secret,omitempty"`
	Duration  int       `json:"duration"`
	ReadOnly  bool      `json:"read_only"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (g *registry) view(u *registryUser) registryUserView {
	return registryUserView{
		ID: u.id, Name: g.dockerUsername(u), Duration: u.duration, ReadOnly: u.readOnly,
		CreatedAt: u.created, ExpiresAt: u.expires,
	}
}

// registryInPath authenticates r and returns the registry its path names, answering 404 when
// the project has no such registry in that region. Registries are never removed, so the
// pointer stays good; its users need s.mu.
func (s *Server) registryInPath(w http.ResponseWriter, r *http.Request) (*registry, bool) {
	project, region, ok := s.cloudScope(w, r)
	if !ok {
		return nil, false
	}
	id, _ := strconv.ParseInt(r.PathValue("registry"), 10, 64) // malformed: 0, which no registry has
	var g *registry
	s.mu.Lock()
	if i := slices.IndexFunc(s.cloud.registries, func(g *registry) bool {
		return g.id == id && g.project == project && g.region == region
	}); i >= 0 {
		g = s.cloud.registries[i]
	}
	s.mu.Unlock()
	if g == nil {
		cloudError(w, http.StatusNotFound, "RegistryNotFound", msgNotFound)
		return nil, false
	}
	return g, true
}

// userLocked returns the registry's user whose ID is in r's path, or nil; s.mu must be held.
func (g *registry) userLocked(r *http.Request) *registryUser {
	id, _ := strconv.ParseInt(r.PathValue("user"), 10, 64) // malformed: 0, which no user has
	i := slices.IndexFunc(g.users, func(u *registryUser) bool { return u.id == id })
	if i < 0 {
		return nil
	}
	return g.users[i]
}

func validRegistryUserName(name string) bool {
	if name == "" || len(name) > 16 {
		return false
	}
	return !strings.ContainsFunc(name, func(c rune) bool { return (c < 'a' || c > 'z') && (c < '0' || c > '9') })
}

// registrySecretLocked gives u a new secret; its expiry stays as it was made. s.mu must be held.
func (s *Server) registrySecretLocked(u *registryUser) error {
	secret, err := s.randomHex(16)
	if err != nil {
		return err
	}
	u.secret = secret
	return nil
}

func (s *Server) createRegistryUser(w http.ResponseWriter, r *http.Request) {
	g, ok := s.registryInPath(w, r)
	if !ok {
		return
	}
	var req struct {
		Name     string `json:"name"`
		Duration *int   `json:"duration"`
		ReadOnly bool   `json:"read_only"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	switch {
	case !validRegistryUserName(req.Name):
		cloudError(w, http.StatusBadRequest, "ValidationError", "name: 1 to 16 lower-case letters and digits are required")
		return
	case req.Duration == nil || *req.Duration != -1 && (*req.Duration < 1 || *req.Duration > registryUserTTLMax):
		cloudError(w, http.StatusBadRequest, "ValidationError", "duration: -1 or a number of days from 1 to 365 is required")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(g.users, func(u *registryUser) bool { return u.name == req.Name }) {
		cloudError(w, http.StatusConflict, "RegistryUserAlreadyExists", "A user with this name already exists in the registry.")
		return
	}
	s.cloud.lastUserID++
	now := s.cfg.Now().UTC()
	u := &registryUser{
		id: s.cloud.lastUserID, name: req.Name, duration: *req.Duration, readOnly: req.ReadOnly,
		created: now, expires: now.Add(time.Duration(*req.Duration) * 24 * time.Hour),
	}
	if *req.Duration == -1 {
		u.expires = neverExpires
	}
	if err := s.registrySecretLocked(u); err != nil {
		cloudError(w, http.StatusInternalServerError, "InternalError", "cannot create a secret")
		return
	}
	g.users = append(g.users, u)
	v := g.view(u)
	v.Secret = u.secret
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) refreshRegistrySecret(w http.ResponseWriter, r *http.Request) {
	g, ok := s.registryInPath(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := g.userLocked(r)
	if u == nil {
		cloudError(w, http.StatusNotFound, "RegistryUserNotFound", msgNotFound)
		return
	}
	if err := s.registrySecretLocked(u); err != nil {
		cloudError(w, http.StatusInternalServerError, "InternalError", "cannot create a secret")
		return
	}
	v := g.view(u)
	v.Secret = u.secret
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteRegistryUser(w http.ResponseWriter, r *http.Request) {
	g, ok := s.registryInPath(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	u := g.userLocked(r)
	if u != nil {
		g.users = slices.DeleteFunc(g.users, func(v *registryUser) bool { return v == u })
	}
	s.mu.Unlock()
	if u == nil {
		cloudError(w, http.StatusNotFound, "RegistryUserNotFound", msgNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listRegistryUsers(w http.ResponseWriter, r *http.Request) {
	g, ok := s.registryInPath(w, r)
	if !ok {
		return
	}
	var views []registryUserView
	s.mu.Lock()
	for _, u := range g.users {
		views = append(views, g.view(u))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newCloudList(views))
}

// clusterView is the part of Cloud's cluster JSON the helper reads.
type clusterView struct {
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	project, region, ok := s.cloudScope(w, r)
	if !ok {
		return
	}
	var views []clusterView
	s.mu.Lock()
	for _, k := range s.cloud.clusters {
		if k.Project == project && k.Region == region {
			views = append(views, clusterView{k.Name, k.Status, k.created})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, newCloudList(views))
}

// clusterConfigView is Cloud's kubeconfig answer; the certificates and key are base64 of PEM.
type clusterConfigView struct {
	Config               string    `json:"config"`
	Host                 string    `json:"host"`
	ClusterCACertificate string    `json:"cluster_ca_certificate"`
	ClientCertificate    string    `json:"client_certificate"`
	ClientKey            string    `json:"client_key"`
	CreatedAt            time.Time `json:"created_at"`
	ExpiresAt            time.Time `json:"expires_at"`
}

func (s *Server) clusterConfig(w http.ResponseWriter, r *http.Request) {
	project, region, ok := s.cloudScope(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var k cluster
	found := s.clusterLocked(project, region, r.PathValue("cluster"))
	if found != nil {
		k = *found
	}
	s.mu.Unlock()
	switch {
	case found == nil:
		cloudError(w, http.StatusNotFound, "ClusterNotFound", msgNotFound)
		return
	case k.Status != clusterProvisioned:
		cloudError(w, http.StatusConflict, "ClusterNotReady", "The cluster is "+k.Status+", not Provisioned.")
		return
	}
	expires := k.ExpiresAt
	if expires.IsZero() {
		expires = k.pki.clientNotAfter
	}
	writeJSON(w, http.StatusOK, clusterConfigView{
		Config:               k.pki.kubeconfig(k.Name, k.Host),
		Host:                 k.Host,
		ClusterCACertificate: b64(k.pki.caPEM),
		ClientCertificate:    b64(k.pki.clientCertPEM),
		ClientKey:            b64(k.pki.clientKeyPEM),
		CreatedAt:            k.created,
		ExpiresAt:            expires.UTC(),
	})
}

// listPage reads Cloud's paging parameters: limit (default and at most 1000) and offset.
func listPage(r *http.Request) (limit, offset int, ok bool) {
	limit, offset = 1000, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		limit = min(n, 1000)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

// writePage answers one page of items, with the count of them all.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T) {
	limit, offset, ok := listPage(r)
	if !ok {
		cloudError(w, http.StatusBadRequest, "ValidationError", "limit and offset must be non-negative integers")
		return
	}
	page := items[min(offset, len(items)):min(offset+limit, len(items))]
	if page == nil {
		page = []T{}
	}
	writeJSON(w, http.StatusOK, cloudList[T]{len(items), page})
}

// projectView is Cloud's JSON for a project.
type projectView struct {
	ID        int64  `json:"id"`
	ClientID  int64  `json:"client_id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"is_default"`
	State     string `json:"state"`
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	p, ok := s.cloudPrincipal(w, r)
	if !ok {
		return
	}
	var views []projectView
	s.mu.Lock()
	for id, owner := range s.cloud.projects {
		if owner == p.account.ID {
			views = append(views, projectView{ID: id, ClientID: owner, Name: s.cloud.projectNames[id], State: "ACTIVE"})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(views, func(a, b projectView) int { return int(a.ID - b.ID) })
	writePage(w, r, views)
}

func (s *Server) listRegions(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.cloudPrincipal(w, r); !ok {
		return
	}
	writePage(w, r, regions)
}

// handleCloud registers the Cloud routes.
func (s *Server) handleCloud() {
	const registries = "/cloud/v1/registries/{project}/{region}"
	const users = registries + "/{registry}/users"
	const clusters = "/cloud/v2/k8s/clusters/{project}/{region}"
	s.handle("GET /cloud/v1/projects", ListProjects, s.listProjects)
	s.handle("GET /cloud/v1/regions", ListRegions, s.listRegions)
	s.handle("GET "+registries, ListRegistries, s.listRegistries)
	s.handle("POST "+users, CreateRegistryUser, s.createRegistryUser)
	s.handle("GET "+users, ListRegistryUsers, s.listRegistryUsers)
	s.handle("DELETE "+users+"/{user}", DeleteRegistryUser, s.deleteRegistryUser)
	s.handle("POST "+users+"/{user}/refresh_secret", RefreshRegistrySecret, s.refreshRegistrySecret)
	s.handle("GET "+clusters, ListClusters, s.listClusters)
	s.handle("GET "+clusters+"/{cluster}/config", ClusterConfig, s.clusterConfig)
}
