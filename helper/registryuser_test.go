package helper

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// fakeCloud is the registry part of the Cloud API; fakeIAM embeds it.
type fakeCloud struct {
	mu        sync.Mutex
	now       func() time.Time
	creates   int
	refreshes int
	lists     int
	users     map[int64]iam.RegistryUser
	taken     map[string]bool // names that answer 409
}

func (c *fakeCloud) ListRegistries(ctx context.Context, access string, p, r int64) ([]iam.Registry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists++
	return []iam.Registry{{ID: 7, Name: "other"}, {ID: 9, Name: "my-registry"}}, nil
}

func (c *fakeCloud) CreateRegistryUser(ctx context.Context, access string, p, r, reg int64, req iam.RegistryUserRequest) (iam.RegistryUser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creates++
	if c.taken[req.Name] {
		return iam.RegistryUser{}, iam.ErrConflict
	}
	if c.users == nil {
		c.users = map[int64]iam.RegistryUser{}
	}
	u := iam.RegistryUser{ID: int64(len(c.users) + 1), Name: fmt.Sprintf("r_%d+%s", reg, req.Name),
		Secret: fmt.Sprintf("secret-%d", c.creates), ExpiresAt: c.now().Add(time.Duration(req.DurationDays) * 24 * time.Hour)}
	c.users[u.ID] = u
	return u, nil
}

func (c *fakeCloud) RefreshRegistryUserSecret(ctx context.Context, access string, p, r, reg, id int64) (iam.RegistryUser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshes++
	u, ok := c.users[id]
	if !ok {
		return iam.RegistryUser{}, iam.ErrNotFound
	}
	u.Secret = fmt.Sprintf("renewed-%d", c.refreshes)
	u.ExpiresAt = c.now().Add(24 * time.Hour)
	c.users[id] = u
	return u, nil
}

func (c *fakeCloud) DeleteRegistryUser(ctx context.Context, access string, p, r, reg, id int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.users, id)
	return nil
}

var testRegistry = config.Registry{Host: "registry.example.com", ProjectID: 1, RegionID: 76, RegistryName: "my-registry", ReadOnly: true, UserTTLDays: 1}

func registryLogin(t *testing.T, e *Engine) RegistryCredential {
	t.Helper()
	c, err := e.RegistryLogin(context.Background(), testRegistry, GetOptions{MinTTL: e.Profile.MinTTL})
	if err != nil {
		t.Fatalf("RegistryLogin: %v", err)
	}
	return c
}

func TestRegistryUserProvisionedOnceAndRenewed(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	e.Profile.Registries = []config.Registry{testRegistry}
	first := registryLogin(t, e)
	if first.Secret != "secret-1" || first.Username != "r_9+"+registryUserName("default", "laptop", 9, 0) {
		t.Fatalf("login = %+v", first)
	}
	if again := registryLogin(t, e); again != first || r.iam.fakeCloud.creates != 1 || r.iam.fakeCloud.lists != 1 {
		t.Fatalf("a fresh user was provisioned again: creates=%d lists=%d", r.iam.fakeCloud.creates, r.iam.fakeCloud.lists)
	}
	r.clock.Add(24*time.Hour - 4*time.Minute) // less than min_ttl left
	renewed := registryLogin(t, e)
	if renewed.Secret != "renewed-1" || renewed.Username != first.Username || r.iam.fakeCloud.refreshes != 1 || r.iam.fakeCloud.creates != 1 {
		t.Fatalf("renewal: %+v, refreshes=%d creates=%d", renewed, r.iam.fakeCloud.refreshes, r.iam.fakeCloud.creates)
	}
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

func TestRegistryUserDeletedBehindOurBackIsReprovisioned(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	first := registryLogin(t, e)
	r.iam.fakeCloud.users = nil // deleted in the portal
	r.clock.Add(24 * time.Hour)
	again := registryLogin(t, e)
	if r.iam.fakeCloud.refreshes != 1 || r.iam.fakeCloud.creates != 2 || again.Secret == first.Secret {
		t.Fatalf("want a failed renewal then a new user: refreshes=%d creates=%d", r.iam.fakeCloud.refreshes, r.iam.fakeCloud.creates)
	}
}
