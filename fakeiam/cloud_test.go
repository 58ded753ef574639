package fakeiam

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	alphaProject = 500 // belongs to alice's first account, 1001
	betaProject  = 600 // belongs to alice's second account, 1002
	region       = 76
)

// cloudFixture is a fixture with the two projects and a session of alice in account 1001.
type cloudFixture struct {
	*fixture
	bearer, otherAccount string // Authorization headers for accounts 1001 and 1002
	access               tokenPair
}

func newCloudFixture(t *testing.T, cfg Config) *cloudFixture {
	t.Helper()
	f := newFixture(t, cfg)
	f.s.AddProject(1001, alphaProject)
	f.s.AddProject(1002, betaProject)
	p := f.login(t, aliceEmail, alicePW)
	other := wantPair(t, f.do(t, "GET", "/iam/auth/jwt/clients/1002/login", "Bearer "+p.Access, nil))
	return &cloudFixture{fixture: f, bearer: "Bearer " + p.Access, otherAccount: "Bearer " + other.Access, access: p}
}

// relogin returns the Authorization header of a new session of alice in account 1001.
func (f *cloudFixture) relogin(t *testing.T) string {
	t.Helper()
	return "Bearer " + f.login(t, aliceEmail, alicePW).Access
}

// wantAuthErrors checks that path answers 401 to every credential but a current access token
// (Bearer) or a live API token (APIKey) of account 1001, with Cloud's own words for an API
// token sent as Bearer, and 403 to a credential of account 1002.
func (f *cloudFixture) wantAuthErrors(t *testing.T, method, path string, body any) {
	t.Helper()
	key := f.s.AddAPIToken(1001, "k", nil)
	otherKey := f.s.AddAPIToken(1002, "k", nil)
	revoked := f.login(t, aliceEmail, alicePW).Access
	f.s.Revoke(revoked)
	unauthorized := `{"exception_class": "NotAuthenticated", "message": "Token is invalid or expired"}`
	for _, tc := range []struct {
		name, auth string
		status     int
		want       string
	}{
		{"no header", "", 401, unauthorized},
		{"refresh token", "Bearer " + f.access.Refresh, 401, unauthorized},
		{"api key as bearer", "Bearer " + key, 401, `{"exception_class": "NotAuthenticated", "message": "Given token not valid for any token type"}`},
		{"api key of another account", "APIKey " + otherKey, 403, `{"exception_class": "PermissionDenied", "message": "You do not have permission to perform this action."}`},
		{"access token as api key", "APIKey " + f.access.Access, 401, unauthorized},
		{"revoked", "Bearer " + revoked, 401, unauthorized},
		{"forged", "Bearer x.y.z", 401, unauthorized},
		{"another account", f.otherAccount, 403, `{"exception_class": "PermissionDenied", "message": "You do not have permission to perform this action."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantJSON(t, f.do(t, method, path, tc.auth, body), tc.status, tc.want)
		})
	}
}

func TestRegistries(t *testing.T) {
	f := newCloudFixture(t, Config{})
	id, url := f.s.AddRegistry(alphaProject, region, "my-registry")
	if id != 1 || url != "registry.region-76.cloud.gcore.dev/500-76-1-my-registry/" {
		t.Errorf("AddRegistry = %d, %q", id, url)
	}
	f.s.AddRegistry(alphaProject, 77, "elsewhere")
	f.s.AddRegistry(betaProject, region, "beta")
	f.s.AddRegistry(alphaProject, region, "second")

	wantJSON(t, f.do(t, "GET", "/cloud/v1/registries/500/76", f.bearer, nil), 200, `{"count": 2, "results": [
		{"id": 1, "name": "my-registry", "url": "registry.region-76.cloud.gcore.dev/500-76-1-my-registry/", "created_at": "2030-01-02T03:04:05Z"},
		{"id": 4, "name": "second", "url": "registry.region-76.cloud.gcore.dev/500-76-4-second/", "created_at": "2030-01-02T03:04:05Z"}]}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v1/registries/500/1", f.bearer, nil), 200, `{"count": 0, "results": []}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v1/registries/600/76", f.otherAccount, nil), 200, `{"count": 1, "results": [
		{"id": 3, "name": "beta", "url": "registry.region-76.cloud.gcore.dev/600-76-3-beta/", "created_at": "2030-01-02T03:04:05Z"}]}`)
	for _, path := range []string{"/cloud/v1/registries/x/76", "/cloud/v1/registries/500/y"} {
		wantJSON(t, f.do(t, "GET", path, f.bearer, nil), 404, `{"exception_class": "NotFound", "message": "Not found."}`)
	}
	wantJSON(t, f.do(t, "GET", "/cloud/v1/registries/999/76", f.bearer, nil), 403,
		`{"exception_class": "PermissionDenied", "message": "You do not have permission to perform this action."}`)
	f.wantAuthErrors(t, "GET", "/cloud/v1/registries/500/76", nil)
	if got := f.s.Calls(ListRegistries); got != 14 {
		t.Errorf("Calls(ListRegistries) = %d, want 14", got)
	}
	// Issue #11: an api-token profile's own scheme works.
	key := f.s.AddAPIToken(1001, "tf", nil)
	if r := f.do(t, "GET", "/cloud/v1/registries/500/76", "APIKey "+key, nil); r.status != 200 {
		t.Errorf("APIKey: %d %s, want 200", r.status, r.body)
	}
}

// TestProjectsAndRegions guards issue #11 item 6: projects (the credential's account's, by
// name) and regions (by display name and slug) as Cloud lists them, paged by limit and offset.
func TestProjectsAndRegions(t *testing.T) {
	f := newCloudFixture(t, Config{})
	f.s.AddProjectNamed(1001, 700, "staging")
	wantJSON(t, f.do(t, "GET", "/cloud/v1/projects", f.bearer, nil), 200, `{"count": 2, "results": [
		{"id": 500, "client_id": 1001, "name": "project-500", "is_default": false, "state": "ACTIVE"},
		{"id": 700, "client_id": 1001, "name": "staging", "is_default": false, "state": "ACTIVE"}]}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v1/projects?limit=1&offset=1", f.bearer, nil), 200, `{"count": 2, "results": [
		{"id": 700, "client_id": 1001, "name": "staging", "is_default": false, "state": "ACTIVE"}]}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v1/projects?offset=9", f.bearer, nil), 200, `{"count": 2, "results": []}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v1/projects?limit=x", f.bearer, nil), 400,
		`{"exception_class": "ValidationError", "message": "limit and offset must be non-negative integers"}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v1/regions?limit=1", f.bearer, nil), 200, `{"count": 3, "results": [
		{"id": 76, "display_name": "Luxembourg-2", "slug": "luxembourg-2"}]}`)
	if r := f.do(t, "GET", "/cloud/v1/projects", "", nil); r.status != 401 {
		t.Errorf("projects without a credential: %d", r.status)
	}
}

// userAnswer is the answer to creating a registry user or refreshing its secret.
type userAnswer struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Secret    string    `json:"secret"`
	Duration  int       `json:"duration"`
	ReadOnly  bool      `json:"read_only"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func wantUser(t *testing.T, r response, status int) userAnswer {
	t.Helper()
	var u userAnswer
	if err := json.Unmarshal(r.body, &u); r.status != status || err != nil {
		t.Fatalf("%d %s, want %d and a user (%v)", r.status, r.body, status, err)
	}
	return u
}

func TestRegistryUsers(t *testing.T) {
	f := newCloudFixture(t, Config{})
	f.s.AddRegistry(alphaProject, region, "my-registry")
	f.s.AddRegistry(alphaProject, region, "second")
	f.s.AddRegistry(alphaProject, 77, "elsewhere") // registry 3, not in region 76
	const users = "/cloud/v1/registries/500/76/1/users"
	const host = "registry.region-76.cloud.gcore.dev"
	created := f.clock.Now()

	u := wantUser(t, f.do(t, "POST", users, f.bearer, map[string]any{"name": "ci", "duration": 2, "read_only": true}), 201)
	want := userAnswer{
		ID: 1, Name: "r_500-76-1-my-registry+ci", Secret: u.Secret, Duration: 2, ReadOnly: true,
		CreatedAt: created, ExpiresAt: created.Add(48 * time.Hour),
	}
	if d := cmp.Diff(want, u); d != "" {
		t.Errorf("created user (-want +got):\n%s", d)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(u.Secret) {
		t.Errorf("secret %q is not 32 hex digits", u.Secret)
	}
	listed := `{"count": 1, "results": [{"id": 1, "name": "r_500-76-1-my-registry+ci", "duration": 2, "read_only": true,
		"created_at": "2030-01-02T03:04:05Z", "expires_at": "2030-01-04T03:04:05Z"}]}`
	r := f.do(t, "GET", users, f.bearer, nil)
	wantJSON(t, r, 200, listed)
	if bytes.Contains(r.body, []byte(u.Secret)) {
		t.Error("the list shows the secret")
	}

	t.Run("login", func(t *testing.T) {
		for _, tc := range []struct {
			name, host, username, secret string
			want                         bool
		}{
			{"valid", host, u.Name, u.Secret, true},
			{"wrong secret", host, u.Name, strings.Repeat("0", 32), false},
			{"short name", host, "ci", u.Secret, false},
			{"other host", "registry.region-77.cloud.gcore.dev", u.Name, u.Secret, false},
			{"with scheme", "https://" + host, u.Name, u.Secret, false},
		} {
			if got := f.s.RegistryLoginValid(tc.host, tc.username, tc.secret); got != tc.want {
				t.Errorf("%s: RegistryLoginValid = %t, want %t", tc.name, got, tc.want)
			}
		}
	})

	conflict := `{"exception_class": "RegistryUserAlreadyExists", "message": "A user with this name already exists in the registry."}`
	badName := `{"exception_class": "ValidationError", "message": "name: 1 to 16 lower-case letters and digits are required"}`
	badDuration := `{"exception_class": "ValidationError", "message": "duration: -1 or a number of days from 1 to 365 is required"}`
	noRegistry := `{"exception_class": "RegistryNotFound", "message": "Not found."}`
	noUser := `{"exception_class": "RegistryUserNotFound", "message": "Not found."}`
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		want               string
	}{
		{"duplicate name", "POST", users, map[string]any{"name": "ci", "duration": 1}, 409, conflict},
		{"empty name", "POST", users, map[string]any{"name": "", "duration": 1}, 400, badName},
		{"upper case", "POST", users, map[string]any{"name": "CI", "duration": 1}, 400, badName},
		{"dash", "POST", users, map[string]any{"name": "my-ci", "duration": 1}, 400, badName},
		{"17 characters", "POST", users, map[string]any{"name": strings.Repeat("a", 17), "duration": 1}, 400, badName},
		{"non-ASCII", "POST", users, map[string]any{"name": "cï", "duration": 1}, 400, badName},
		{"no duration", "POST", users, map[string]any{"name": "x"}, 400, badDuration},
		{"zero days", "POST", users, map[string]any{"name": "x", "duration": 0}, 400, badDuration},
		{"minus two days", "POST", users, map[string]any{"name": "x", "duration": -2}, 400, badDuration},
		{"366 days", "POST", users, map[string]any{"name": "x", "duration": 366}, 400, badDuration},
		{"unknown registry", "POST", "/cloud/v1/registries/500/76/9/users", map[string]any{"name": "x", "duration": 1}, 404, noRegistry},
		{"registry in another region", "GET", "/cloud/v1/registries/500/76/3/users", nil, 404, noRegistry},
		{"bad registry id", "GET", "/cloud/v1/registries/500/76/x/users", nil, 404, noRegistry},
		{"refresh unknown user", "POST", users + "/9/refresh_secret", nil, 404, noUser},
		{"delete unknown user", "DELETE", users + "/9", nil, 404, noUser},
		{"delete bad user id", "DELETE", users + "/x", nil, 404, noUser},
		{"user of another registry", "DELETE", "/cloud/v1/registries/500/76/2/users/1", nil, 404, noUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantJSON(t, f.do(t, tc.method, tc.path, f.bearer, tc.body), tc.status, tc.want)
		})
	}
	if r := f.do(t, "POST", users, f.bearer, `{"name": `); r.status != 400 || !bytes.Contains(r.body, []byte("JSON parse error - ")) {
		t.Errorf("bad JSON: %d %s, want 400 JSON parse error", r.status, r.body)
	}
	t.Run("same name in another registry", func(t *testing.T) {
		v := wantUser(t, f.do(t, "POST", "/cloud/v1/registries/500/76/2/users", f.bearer, map[string]any{"name": "ci", "duration": 1}), 201)
		if v.Name != "r_500-76-2-second+ci" || v.ReadOnly {
			t.Errorf("user %+v, want r_500-76-2-second+ci, read-write", v)
		}
	})

	t.Run("auth", func(t *testing.T) {
		f.wantAuthErrors(t, "POST", users, map[string]any{"name": "auth", "duration": 1})
		f.wantAuthErrors(t, "GET", users, nil)
		f.wantAuthErrors(t, "POST", users+"/1/refresh_secret", nil)
		f.wantAuthErrors(t, "DELETE", users+"/1", nil)
	})

	t.Run("forever", func(t *testing.T) {
		v := wantUser(t, f.do(t, "POST", users, f.bearer, map[string]any{"name": "forever", "duration": -1}), 201)
		if v.Duration != -1 || !v.ExpiresAt.Equal(time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)) {
			t.Errorf("duration -1: %+v, want expires_at 1969-12-31T23:59:59Z", v)
		}
		if !f.s.RegistryLoginValid(host, v.Name, v.Secret) {
			t.Error("a user that never expires does not log in")
		}
		if r := f.do(t, "DELETE", fmt.Sprintf("%s/%d", users, v.ID), f.bearer, nil); r.status != 204 {
			t.Errorf("delete: %d", r.status)
		}
	})

	// From here on the clock moves by days: each step logs in afresh. refresh_secret gives a
	// new secret and leaves expires_at where creation put it (a Harbor robot account).
	t.Run("refresh_secret", func(t *testing.T) {
		f.clock.Advance(47 * time.Hour)
		f.bearer = f.relogin(t)
		path := fmt.Sprintf("%s/%d/refresh_secret", users, u.ID)
		v := wantUser(t, f.do(t, "POST", path, f.bearer, nil), 200)
		want := u
		want.Secret = v.Secret
		if d := cmp.Diff(want, v); d != "" {
			t.Errorf("refreshed user (-want +got):\n%s", d)
		}
		if v.Secret == u.Secret || v.Secret == "" {
			t.Errorf("secret %q after refresh, want a new one", v.Secret)
		}
		if f.s.RegistryLoginValid(host, u.Name, u.Secret) {
			t.Error("the old secret still logs in")
		}
		if !f.s.RegistryLoginValid(host, u.Name, v.Secret) {
			t.Error("the new secret does not log in")
		}
		u.Secret = v.Secret
	})

	t.Run("expiry", func(t *testing.T) {
		f.clock.Advance(time.Hour - time.Second) // 48 h after creation, whatever refresh_secret did
		if !f.s.RegistryLoginValid(host, u.Name, u.Secret) {
			t.Fatal("secret invalid one second before expires_at")
		}
		f.clock.Advance(time.Second)
		if f.s.RegistryLoginValid(host, u.Name, u.Secret) {
			t.Error("secret valid at expires_at")
		}
		wantJSON(t, f.do(t, "GET", users, f.bearer, nil), 401,
			`{"exception_class": "NotAuthenticated", "message": "Token is invalid or expired"}`)
		f.bearer = f.relogin(t)
		v := wantUser(t, f.do(t, "POST", fmt.Sprintf("%s/%d/refresh_secret", users, u.ID), f.bearer, nil), 200)
		if f.s.RegistryLoginValid(host, u.Name, v.Secret) || !v.ExpiresAt.Equal(u.ExpiresAt) {
			t.Error("refresh_secret revived an expired user")
		}
		u.Secret = v.Secret
	})

	t.Run("delete", func(t *testing.T) {
		path := fmt.Sprintf("%s/%d", users, u.ID)
		if r := f.do(t, "DELETE", path, f.bearer, nil); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("delete: %d %s, want 204 and no body", r.status, r.body)
		}
		wantJSON(t, f.do(t, "DELETE", path, f.bearer, nil), 404, noUser)
		wantJSON(t, f.do(t, "GET", users, f.bearer, nil), 200, `{"count": 0, "results": []}`)
		if f.s.RegistryLoginValid(host, u.Name, u.Secret) {
			t.Error("a deleted user logs in")
		}
		wantUser(t, f.do(t, "POST", users, f.bearer, map[string]any{"name": "ci", "duration": 1}), 201)
	})

}

func TestRegistryUserRace(t *testing.T) {
	const n = 50
	f := newCloudFixture(t, Config{})
	f.s.AddRegistry(alphaProject, region, "r")
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := f.try("POST", "/cloud/v1/registries/500/76/1/users", f.bearer, map[string]any{"name": "same", "duration": 1})
			if err != nil {
				t.Error(err)
			}
			statuses <- r.status
		})
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if d := cmp.Diff(map[int]int{201: 1, 409: n - 1}, got); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if got := f.s.Calls(CreateRegistryUser); got != n {
		t.Errorf("Calls(CreateRegistryUser) = %d, want %d", got, n)
	}
}

func TestCloudFaults(t *testing.T) {
	f := newCloudFixture(t, Config{})
	f.s.AddRegistry(alphaProject, region, "r")
	const users = "/cloud/v1/registries/500/76/1/users"
	body := map[string]any{"name": "ci", "duration": 1}

	f.s.Inject(CreateRegistryUser, Fault{Status: 503, RetryAfter: "1", Times: 1})
	r := f.do(t, "POST", users, f.bearer, body)
	wantJSON(t, r, 503, `{"message": "Service Unavailable"}`)
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", r.header.Get("Retry-After"))
	}
	wantUser(t, f.do(t, "POST", users, f.bearer, body), 201)

	// A create whose answer is lost leaves the user behind: a retry meets 409.
	f.s.Inject(CreateRegistryUser, Fault{ConsumeThenFail: true, Times: 1})
	body["name"] = "lost"
	if r := f.do(t, "POST", users, f.bearer, body); r.status != 502 {
		t.Errorf("consume then fail: %d, want 502", r.status)
	}
	if r := f.do(t, "POST", users, f.bearer, body); r.status != 409 {
		t.Errorf("retry: %d, want 409", r.status)
	}
	if got := f.s.Calls(CreateRegistryUser); got != 4 {
		t.Errorf("Calls(CreateRegistryUser) = %d, want 4", got)
	}

	f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "k"})
	if r := f.do(t, "POST", "/_fake/faults", "", `{"endpoint": "cluster-config", "truncate": true, "times": 1}`); r.status != 204 {
		t.Fatalf("inject over HTTP: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/k/config", f.bearer, nil); r.status != 200 || json.Valid(r.body) {
		t.Errorf("truncated config: %d %s, want 200 and invalid JSON", r.status, r.body)
	}
	if r := f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/k/config", f.bearer, nil); r.status != 200 || !json.Valid(r.body) {
		t.Errorf("config after the fault: %d, want 200 and JSON", r.status)
	}
	f.s.Inject(ListClusters, Fault{Status: 429, Body: `{"message": "slow down"}`, Times: 1})
	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76", f.bearer, nil), 429, `{"message": "slow down"}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76", f.bearer, nil), 200,
		`{"count": 1, "results": [{"name": "k", "status": "Provisioned", "created_at": "2030-01-02T03:04:05Z"}]}`)
}

// clusterConfig is the answer of GET …/config, with its base64 fields also decoded and parsed.
type clusterConfig struct {
	Config, Host              string
	CreatedAt, ExpiresAt      time.Time
	caB64, certB64, keyB64    string
	CA, ClientCert, ClientKey []byte // PEM
	caCert, clientCert        *x509.Certificate
	keyPair                   tls.Certificate
}

func wantClusterConfig(t *testing.T, r response) clusterConfig {
	t.Helper()
	var v struct {
		Config               string    `json:"config"`
		Host                 string    `json:"host"`
		ClusterCACertificate string    `json:"cluster_ca_certificate"`
		ClientCertificate    string    `json:"client_certificate"`
		ClientKey            string    `json:"client_key"`
		CreatedAt            time.Time `json:"created_at"`
		ExpiresAt            time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(r.body, &v); r.status != 200 || err != nil {
		t.Fatalf("config: %d %s (%v)", r.status, r.body, err)
	}
	c := clusterConfig{
		Config: v.Config, Host: v.Host, CreatedAt: v.CreatedAt, ExpiresAt: v.ExpiresAt,
		caB64: v.ClusterCACertificate, certB64: v.ClientCertificate, keyB64: v.ClientKey,
	}
	decode := func(name, s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%s is not base64: %v", name, err)
		}
		return b
	}
	c.CA = decode("cluster_ca_certificate", c.caB64)
	c.ClientCert = decode("client_certificate", c.certB64)
	c.ClientKey = decode("client_key", c.keyB64)
	parse := func(name string, b []byte) *x509.Certificate {
		block, _ := pem.Decode(b)
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("%s is not a PEM certificate: %q", name, b)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		return cert
	}
	c.caCert = parse("cluster_ca_certificate", c.CA)
	c.clientCert = parse("client_certificate", c.ClientCert)
	var err error
	if c.keyPair, err = tls.X509KeyPair(c.ClientCert, c.ClientKey); err != nil {
		t.Fatalf("client certificate and key do not pair: %v", err)
	}
	return c
}

func TestClusters(t *testing.T) {
	f := newCloudFixture(t, Config{})
	expires := f.clock.Now().Add(30 * 24 * time.Hour)
	f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "prod", Host: "https://127.0.0.1:6443", ExpiresAt: expires})
	f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "new", Status: "Provisioning"})
	f.s.AddCluster(Cluster{Project: alphaProject, Region: 77, Name: "elsewhere"})
	f.s.AddCluster(Cluster{Project: betaProject, Region: region, Name: "prod"})
	now := f.clock.Now()

	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76", f.bearer, nil), 200, `{"count": 2, "results": [
		{"name": "prod", "status": "Provisioned", "created_at": "2030-01-02T03:04:05Z"},
		{"name": "new", "status": "Provisioning", "created_at": "2030-01-02T03:04:05Z"}]}`)
	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/1", f.bearer, nil), 200, `{"count": 0, "results": []}`)

	c := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", f.bearer, nil))
	if c.Host != "https://127.0.0.1:6443" || !c.CreatedAt.Equal(now) || !c.ExpiresAt.Equal(expires) {
		t.Errorf("host %q, created_at %v, expires_at %v; want the configured host, %v, %v", c.Host, c.CreatedAt, c.ExpiresAt, now, expires)
	}
	t.Run("certificates", func(t *testing.T) {
		roots := x509.NewCertPool()
		roots.AddCert(c.caCert)
		if _, err := c.clientCert.Verify(x509.VerifyOptions{
			Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			t.Errorf("client certificate does not verify against the cluster CA: %v", err)
		}
		if got := c.clientCert.Subject.CommonName; got != "gcore-user" {
			t.Errorf("client CN %q, want gcore-user", got)
		}
		if want := now.AddDate(2, 0, 0); !c.clientCert.NotAfter.Equal(want) {
			t.Errorf("client NotAfter %v, want %v (two years)", c.clientCert.NotAfter, want)
		}
		if !c.caCert.IsCA {
			t.Error("cluster_ca_certificate is not a CA")
		}
	})
	t.Run("kubeconfig", func(t *testing.T) {
		for _, want := range []string{
			`server: "https://127.0.0.1:6443"`,
			"certificate-authority-data: " + c.caB64,
			"client-certificate-data: " + c.certB64,
			"client-key-data: " + c.keyB64,
			`current-context: "prod-admin@prod"`,
		} {
			if !strings.Contains(c.Config, want) {
				t.Errorf("config lacks %q:\n%s", want, c.Config)
			}
		}
	})
	t.Run("expires_at defaults to the certificate's", func(t *testing.T) {
		c := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/77/elsewhere/config", f.bearer, nil))
		if !c.ExpiresAt.Equal(c.clientCert.NotAfter) {
			t.Errorf("expires_at %v, want the client certificate's NotAfter %v", c.ExpiresAt, c.clientCert.NotAfter)
		}
	})
	t.Run("each cluster its own CA", func(t *testing.T) {
		other := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/600/76/prod/config", f.otherAccount, nil))
		if bytes.Equal(other.CA, c.CA) || bytes.Equal(other.ClientKey, c.ClientKey) {
			t.Error("two clusters share a CA or a client key")
		}
	})

	notFound := `{"exception_class": "ClusterNotFound", "message": "Not found."}`
	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/nope/config", f.bearer, nil), 404, notFound)
	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/77/prod/config", f.bearer, nil), 404, notFound)
	wantJSON(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/new/config", f.bearer, nil), 409,
		`{"exception_class": "ClusterNotReady", "message": "The cluster is Provisioning, not Provisioned."}`)

	t.Run("provisioned later keeps its certificates", func(t *testing.T) {
		before := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", f.bearer, nil))
		f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "prod", Status: "Upgrading"})
		if r := f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", f.bearer, nil); r.status != 409 {
			t.Errorf("config while Upgrading: %d, want 409", r.status)
		}
		f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "prod"})
		after := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", f.bearer, nil))
		if !bytes.Equal(before.ClientCert, after.ClientCert) || !bytes.Equal(before.CA, after.CA) {
			t.Error("AddCluster on an existing cluster changed its certificates")
		}
	})

	t.Run("auth", func(t *testing.T) {
		f.wantAuthErrors(t, "GET", "/cloud/v2/k8s/clusters/500/76", nil)
		f.wantAuthErrors(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", nil)
	})
}

// kubeClient is an HTTPS client that trusts c's CA and presents cert, if any. It checks
// certificates against the fake's clock, as the fake apiserver does.
func kubeClient(c clusterConfig, now func() time.Time, cert *tls.Certificate) *http.Client {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(c.CA)
	cfg := &tls.Config{RootCAs: roots, Time: now}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: time.Minute}
}

func TestKubeAPIServer(t *testing.T) {
	f := newCloudFixture(t, Config{})
	f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "prod"})
	f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "other"})
	api := f.s.StartKubeAPIServer(t, alphaProject, region, "prod", nil)
	if !strings.HasPrefix(api.URL, "https://127.0.0.1:") {
		t.Errorf("URL %q, want https://127.0.0.1:PORT", api.URL)
	}
	c := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", f.bearer, nil))
	if c.Host != api.URL {
		t.Errorf("host %q, want the apiserver's URL %q", c.Host, api.URL)
	}
	other := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/other/config", f.bearer, nil))

	get := func(client *http.Client, path string) (int, string, error) {
		resp, err := client.Get(api.URL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	client := kubeClient(c, f.clock.Now, &c.keyPair)
	for _, path := range []string{"/version", "/api"} {
		status, body, err := get(client, path)
		if err != nil || status != 200 {
			t.Errorf("GET %s with the client certificate: %d %s (%v), want 200", path, status, body, err)
		}
	}
	if d := cmp.Diff([]string{"gcore-user", "gcore-user"}, api.ClientNames()); d != "" {
		t.Errorf("ClientNames (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"no client certificate", kubeClient(c, f.clock.Now, nil)},
		{"another cluster's certificate", kubeClient(c, f.clock.Now, &other.keyPair)},
	} {
		if status, _, err := get(tc.client, "/version"); err == nil {
			t.Errorf("%s: %d, want a refused handshake", tc.name, status)
		}
	}
	f.clock.Advance(2 * 366 * 24 * time.Hour)
	if status, _, err := get(kubeClient(c, f.clock.Now, &c.keyPair), "/version"); err == nil {
		t.Errorf("expired client certificate: %d, want a refused handshake", status)
	}
	if n := len(api.ClientNames()); n != 2 {
		t.Errorf("%d requests served, want 2: refused ones never reach the handler", n)
	}

	t.Run("own handler", func(t *testing.T) {
		f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "custom"})
		api := f.s.StartKubeAPIServer(t, alphaProject, region, "custom", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}))
		c := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/custom/config", f.relogin(t), nil))
		resp, err := kubeClient(c, f.clock.Now, &c.keyPair).Get(api.URL + "/anything")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("status %d, want the handler's 418", resp.StatusCode)
		}
	})
}

// TestKubectlConfig runs the real kubectl, when installed, with the config Cloud hands out: the
// kubeconfig YAML must name the apiserver and carry a client certificate it accepts. kubectl
// checks certificates against the real clock, so this fake keeps real time.
func TestKubectlConfig(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	f := newCloudFixture(t, Config{Now: time.Now})
	f.s.AddCluster(Cluster{Project: alphaProject, Region: region, Name: "prod"})
	api := f.s.StartKubeAPIServer(t, alphaProject, region, "prod", nil)
	c := wantClusterConfig(t, f.do(t, "GET", "/cloud/v2/k8s/clusters/500/76/prod/config", f.bearer, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte(c.Config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", path, "get", "--raw", "/version")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v1.32.0-fakeiam") {
		t.Fatalf("kubectl get --raw /version: %v\n%s", err, out)
	}
	// Some kubectl builds (gcloud's dispatcher) ask for /version once more to pick a version.
	names := api.ClientNames()
	if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return n != "gcore-user" }) {
		t.Errorf("ClientNames = %q, want gcore-user for every request", names)
	}
}
