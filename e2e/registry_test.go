//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

// registryWorld is a world whose default profile has a Gcore Container Registry configured by
// name, in a project of the user's first account.
func registryWorld(t *testing.T) (w *world, host string, configure func(extra ...string)) {
	t.Helper()
	w = newWorld(t)
	const project, region = 500, 76
	w.iam.AddProject(firstAccount, project)
	_, url := w.iam.AddRegistry(project, region, "my-registry")
	host = strings.SplitN(url, "/", 2)[0]
	configure = func(extra ...string) {
		// TOML: plain keys before the [[…registries]] table.
		w.configure(append(extra, fmt.Sprintf("[[profiles.default.registries]]\nhost = %q\nproject_id = %d\nregion_id = %d\nregistry = \"my-registry\"", host, project, region))...)
	}
	configure()
	return w, host, configure
}

// TestRegistryUserThroughDockerClient guards the reference's service credentials (Container Registry), issue #4 "done
// when" 2 and issue #11 item 2: docker's own client library gets a provisioned registry user
// for a configured host; 20 parallel gets provision once; a user whose fixed expiry comes within
// min_ttl is replaced (a new user, the old one deleted; refresh_secret, which cannot move the
// expiry, is never called); a stored credential wins; logout deletes the user.
func TestRegistryUserThroughDockerClient(t *testing.T) {
	w, host, configure := registryWorld(t)
	w.ok([]string{passwordEnv}, "login")
	program, stderr := w.dockerHelper()

	// The first user is made by the fake's clock a day back, less 10 minutes: it has those 10
	// minutes left, while its lifetime is the whole day.
	w.offset.Store(int64(-(24*time.Hour - 10*time.Minute)))

	var wg sync.WaitGroup
	got := make([]*credentials.Credentials, 20)
	errs := make([]error, len(got))
	for i := range got {
		wg.Go(func() { got[i], errs[i] = client.Get(program, "https://"+host) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("get %d: %v\nstderr:\n%s", i, err, stderr)
		}
		if *got[i] != *got[0] {
			t.Fatalf("get %d returned another login", i)
		}
	}
	if n := w.iam.Calls(fakeiam.CreateRegistryUser); n != 1 {
		t.Errorf("20 gets created %d registry users, want 1", n)
	}
	if !w.iam.RegistryLoginValid(host, got[0].Username, got[0].Secret) {
		t.Errorf("the registry does not accept the login %q", got[0].Username)
	}
	w.offset.Store(0)

	// With min_ttl 15m, it would expire too soon: it is replaced.
	configure(`min_ttl = "15m"`)
	renewed, err := client.Get(program, host)
	if err != nil {
		t.Fatalf("get near expiry: %v\nstderr:\n%s", err, stderr)
	}
	if n := w.iam.Calls(fakeiam.RefreshRegistrySecret); n != 0 {
		t.Errorf("%d refresh_secret calls, want none: it would not move the expiry", n)
	}
	if n := w.iam.Calls(fakeiam.DeleteRegistryUser); n != 1 {
		t.Errorf("%d registry users deleted, want the old one", n)
	}
	if renewed.Username == got[0].Username || !w.iam.RegistryLoginValid(host, renewed.Username, renewed.Secret) {
		t.Errorf("the replacement %q is not a new, valid user", renewed.Username)
	}
	if w.iam.RegistryLoginValid(host, got[0].Username, got[0].Secret) {
		t.Error("the replaced user still logs in: it was not deleted")
	}
	if again, err := client.Get(program, host); err != nil || *again != *renewed {
		t.Errorf("the fresh replacement was not kept: %v, %v", again, err)
	}
	configure()

	if status := w.ok(nil, "status"); !strings.Contains(status, "registry:  "+host+" as "+renewed.Username) || strings.Contains(status, renewed.Secret) {
		t.Errorf("status does not show the registry user (or shows its secret):\n%s", status)
	}

	// A credential stored with docker login wins over provisioning.
	mine := &credentials.Credentials{ServerURL: host, Username: "robot", Secret: "stored-not-a-secret"}
	if err := client.Store(program, mine); err != nil {
		t.Fatal(err)
	}
	if c, err := client.Get(program, host); err != nil || c.Username != "robot" {
		t.Errorf("get with a stored credential = %v, %v; want the stored one", c, err)
	}
	if err := client.Erase(program, host); err != nil {
		t.Fatal(err)
	}

	// An unconfigured host gets the sentinel; logout deletes the provisioned user.
	if _, err := client.Get(program, "registry.elsewhere.example"); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("get of an unconfigured host: %v, want not found", err)
	}
	deletes := w.iam.Calls(fakeiam.DeleteRegistryUser)
	w.ok(nil, "logout", "--yes")
	if n := w.iam.Calls(fakeiam.DeleteRegistryUser) - deletes; n != 1 {
		t.Errorf("logout made %d registry user deletions, want 1", n)
	}
	if w.iam.RegistryLoginValid(host, renewed.Username, renewed.Secret) {
		t.Error("the registry user still works after logout")
	}
	if _, err := client.Get(program, host); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("get after logout: %v, want not found", err)
	}
	if !strings.Contains(stderr.String(), "login required") {
		t.Errorf("no stderr hint after logout:\n%s", stderr)
	}
}
