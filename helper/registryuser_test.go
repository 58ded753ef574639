package helper

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// fakeCloud is the registry part of the Cloud API; fakeIAM embeds it. Like
// Gcore's, a registry user's expiry is fixed when it is created.
type fakeCloud struct {
	mu        sync.Mutex
	now       func() time.Time
	creates   int
	deletes   int
	lists     int
	auths     []string // the Authorization of every call
	users     map[int64]iam.RegistryUser
	taken     map[string]bool // names that answer 409
	deleteErr error           // returned by every DeleteRegistryUser
}

func (c *fakeCloud) seen(auth string) {
	c.auths = append(c.auths, auth)
}

func (c *fakeCloud) ListProjects(ctx context.Context, auth string) ([]iam.Project, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(auth)
	return []iam.Project{{ID: 1, Name: "default"}, {ID: 2, Name: "staging"}, {ID: 3, Name: "twin"}, {ID: 4, Name: "twin"}}, nil
}

func (c *fakeCloud) ListRegions(ctx context.Context, auth string) ([]iam.Region, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(auth)
	return []iam.Region{{ID: 76, DisplayName: "Luxembourg-2", Slug: "luxembourg-2"}, {ID: 8, DisplayName: "Frankfurt", Slug: "frankfurt"}}, nil
}

func (c *fakeCloud) ListRegistries(ctx context.Context, auth string, p, r int64) ([]iam.Registry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(auth)
	c.lists++
	return []iam.Registry{{ID: 7, Name: "other", URL: "registry.other.example/1-76-7-other/"},
		{ID: 9, Name: "my-registry", URL: "registry.example.com/1-76-9-my-registry/"}}, nil
}

func (c *fakeCloud) CreateRegistryUser(ctx context.Context, auth string, p, r, reg int64, req iam.RegistryUserRequest) (iam.RegistryUser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(auth)
	c.creates++
	for _, u := range c.users {
		if u.Name == fmt.Sprintf("r_%d+%s", reg, req.Name) {
			return iam.RegistryUser{}, iam.ErrConflict
		}
	}
	if c.taken[req.Name] {
		return iam.RegistryUser{}, iam.ErrConflict
	}
	if c.users == nil {
		c.users = map[int64]iam.RegistryUser{}
	}
	u := iam.RegistryUser{ID: int64(c.creates), Name: fmt.Sprintf("r_%d+%s", reg, req.Name),
		Secret: fmt.Sprintf("secret-%d", c.creates), ExpiresAt: c.now().Add(time.Duration(req.DurationDays) * 24 * time.Hour)}
	c.users[u.ID] = u
	return u, nil
}

func (c *fakeCloud) DeleteRegistryUser(ctx context.Context, auth string, p, r, reg, id int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen(auth)
	if c.deleteErr != nil {
		return c.deleteErr
	}
	c.deletes++
	delete(c.users, id)
	return nil
}

var testRegistry = config.Registry{Host: "registry.example.com", ProjectID: 1, RegionID: 76, RegistryName: "my-registry", ReadOnly: true, UserTTLDays: 1}

func registryLogin(t *testing.T, e *Engine) RegistryCredential {
	t.Helper()
	return registryLoginFor(t, e, testRegistry)
}

// TestRegistryUserReplacedNearExpiry guards issue #11 item 2 and the reference's service credentials: a registry user's
// expiry is fixed at creation (as a Harbor robot account's), so a user that would expire within
// min_ttl is replaced by a new one, and the old one deleted; its secret is never "renewed".
func TestRegistryUserReplacedNearExpiry(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Profile.Registries = []config.Registry{testRegistry}
	cloud := r.iam.fakeCloud
	first := registryLogin(t, e)
	if first.Secret != "secret-1" || first.Username != "r_9+"+registryUserName("default", "laptop", 9, 0) {
		t.Fatalf("login = %+v", first)
	}
	if again := registryLogin(t, e); again != first || cloud.creates != 1 || cloud.lists != 1 {
		t.Fatalf("a fresh user was provisioned again: creates=%d lists=%d", cloud.creates, cloud.lists)
	}
	r.clock.Add(24*time.Hour - 4*time.Minute) // less than min_ttl left
	second := registryLogin(t, e)
	// The old user still holds the first name while the new one is made.
	if second.Secret == first.Secret || second.Username != "r_9+"+registryUserName("default", "laptop", 9, 1) {
		t.Fatalf("replacement: %+v", second)
	}
	var live []iam.RegistryUser
	for _, u := range cloud.users {
		live = append(live, u)
	}
	if len(live) != 1 || live[0].Secret != second.Secret || cloud.deletes != 1 {
		t.Fatalf("users after the replacement: %v (%d deleted), want only the new one", live, cloud.deletes)
	}
	if !live[0].ExpiresAt.After(r.clock.Now().Add(23 * time.Hour)) {
		t.Fatalf("the new user expires %s, want a day from now", live[0].ExpiresAt)
	}
	creates := cloud.creates
	r.clock.Add(time.Hour)
	if third := registryLogin(t, e); third != second || cloud.creates != creates {
		t.Fatalf("the fresh replacement was replaced again: creates=%d", cloud.creates)
	}
}

// TestRegistryUserOldOneKeptUntilDeleted: a user whose deletion fails is deleted by the next
// replacement, and by logout.
func TestRegistryUserFailedDeleteIsRetried(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Profile.Registries = []config.Registry{testRegistry}
	cloud := r.iam.fakeCloud
	registryLogin(t, e)
	cloud.deleteErr = &iam.UnavailableError{Status: 503}
	r.clock.Add(24 * time.Hour)
	registryLogin(t, e)
	if len(cloud.users) != 2 {
		t.Fatalf("users = %v, want both while deletes fail", cloud.users)
	}
	cloud.deleteErr = nil
	if err := e.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.users) != 0 {
		t.Fatalf("users after logout: %v", cloud.users)
	}
}

// TestRegistryWithAPIToken guards issue #11 item 1: an api-token profile's Cloud calls carry
// its token as APIKey; a password profile's its access token as Bearer.
func TestRegistryWithAPIToken(t *testing.T) {
	r := newRig()
	r.env["GCORE_API_KEY"] = "42_secret"
	e := r.engine("tf")
	e.Profile.Auth = config.AuthAPIToken
	registryLogin(t, e)
	for _, auth := range r.iam.fakeCloud.auths {
		if auth != "APIKey 42_secret" {
			t.Fatalf("a Cloud call sent %q, want the API token as APIKey", auth)
		}
	}
	r2 := newRig()
	registryLogin(t, r2.engine("default"))
	for _, auth := range r2.iam.fakeCloud.auths {
		if !strings.HasPrefix(auth, "Bearer eyJ") {
			t.Fatalf("a Cloud call sent %q, want the access token as Bearer", auth)
		}
	}
}

// TestRegistryByNamesAndURL guards issue #11 item 6: a registry named by project and region
// names is resolved with the Cloud API (project by name, region by display name or slug), and
// an entry without a host gets it from the registry's url, looked up once.
func TestRegistryByNamesAndURL(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	reg := config.Registry{ProjectName: "default", RegionName: "Luxembourg-2", RegistryName: "my-registry", ReadOnly: true, UserTTLDays: 1}
	e.Profile.Registries = []config.Registry{reg}
	for range 2 {
		got, ok, err := e.Registry(context.Background(), "registry.example.com")
		if err != nil || !ok || got.Host != "registry.example.com" {
			t.Fatalf("Registry = %+v, %v, %v", got, ok, err)
		}
	}
	if _, ok, err := e.Registry(context.Background(), "docker.io"); ok || err != nil {
		t.Fatalf("docker.io: %v, %v; want not served", ok, err)
	}
	if r.iam.fakeCloud.lists != 1 {
		t.Fatalf("registry lists = %d, want 1: the host is kept", r.iam.fakeCloud.lists)
	}
	got, _, _ := e.Registry(context.Background(), "registry.example.com")
	if login := registryLoginFor(t, e, got); login.Username != "r_9+"+registryUserName("default", "laptop", 9, 0) {
		t.Fatalf("login = %+v", login)
	}
	for _, tc := range []struct {
		scope Scope
		want  string
	}{
		{Scope{ProjectName: "nope", RegionID: 76}, `no project named "nope"`},
		{Scope{ProjectName: "twin", RegionID: 76}, `2 projects are named "twin" (ids [3 4]): give the id instead`},
		{Scope{ProjectID: 1, RegionName: "frankfurt"}, ""},
		{Scope{ProjectID: 1}, "no Cloud project and region"},
	} {
		_, err := e.resolve(context.Background(), "Bearer x", tc.scope)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("resolve(%+v) = %v, want %q", tc.scope, err, tc.want)
		}
	}
}

func registryLoginFor(t *testing.T, e *Engine, reg config.Registry) RegistryCredential {
	t.Helper()
	c, err := e.RegistryLogin(context.Background(), reg, GetOptions{MinTTL: e.Profile.MinTTL})
	if err != nil {
		t.Fatalf("RegistryLogin: %v", err)
	}
	return c
}

func TestRegistryUserNameTakenMovesOn(t *testing.T) {
	r := newRig()
	r.iam.fakeCloud.taken = map[string]bool{registryUserName("default", "laptop", 9, 0): true}
	e := r.engine("default")
	got := registryLogin(t, e)
	if got.Username != "r_9+"+registryUserName("default", "laptop", 9, 1) || r.iam.fakeCloud.creates != 2 {
		t.Fatalf("login = %+v after %d creates", got, r.iam.fakeCloud.creates)
	}
}

func TestRegistryUserNameShape(t *testing.T) {
	for attempt := range 3 {
		n := registryUserName("a profile", "host.example.com", 123, attempt)
		if len(n) > 16 {
			t.Fatalf("%q is longer than 16", n)
		}
		for _, c := range n {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				t.Fatalf("%q has %q", n, c)
			}
		}
	}
}

func TestRegistryUserConcurrentCallersProvisionOnce(t *testing.T) {
	r := newRig()
	get(t, r.engine("default"))
	locker := &memLocker{}
	var wg sync.WaitGroup
	logins := make([]RegistryCredential, 20)
	for i := range logins {
		e := r.engine("default")
		e.Locker = locker
		wg.Go(func() { logins[i] = registryLogin(t, e) })
	}
	wg.Wait()
	for _, l := range logins {
		if l != logins[0] {
			t.Fatal("callers got different registry users")
		}
	}
	if r.iam.fakeCloud.creates != 1 {
		t.Fatalf("creates = %d, want 1", r.iam.fakeCloud.creates)
	}
}

func TestLogoutDeletesRegistryUsers(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Profile.Registries = []config.Registry{testRegistry}
	registryLogin(t, e)
	if err := e.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.iam.fakeCloud.users) != 0 {
		t.Fatalf("registry users after logout: %v", r.iam.fakeCloud.users)
	}
}

func TestRegistryUserDeletedBehindOurBackIsReplaced(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	first := registryLogin(t, e)
	r.iam.fakeCloud.users = nil // deleted in the portal
	r.clock.Add(24 * time.Hour)
	again := registryLogin(t, e)
	if r.iam.fakeCloud.creates != 2 || again.Secret == first.Secret {
		t.Fatalf("want a new user: creates=%d", r.iam.fakeCloud.creates)
	}
}
