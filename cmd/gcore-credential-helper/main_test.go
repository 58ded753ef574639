package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/fakeiam"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		programName:               main,
		"docker-credential-gcore": main,
		"git-credential-gcore":    main,
	})
}

// TestScripts runs the whole-CLI scripts in testdata/script. Each script gets
// its own home directory and its own fake Gcore IAM on 127.0.0.1 with the
// user demo@example.com / demo-password (accounts 1001 and 1002), the 2FA
// user otp@example.com / otp-password with code 123456, and a permanent API
// token of account 1001 in $SCRIPT_API_TOKEN.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   filepath.Join("testdata", "script"),
		Setup: setupScript,
	})
}

func setupScript(env *testscript.Env) error {
	fake, err := fakeiam.New(fakeiam.Config{AccessTTL: time.Hour})
	if err != nil {
		return err
	}
	fake.AddUser(fakeiam.User{Email: "demo@example.com", Password: "demo-password", UserID: 1,
		Accounts: []fakeiam.Account{{ID: 1001, Name: "Demo Account"}, {ID: 1002, Name: "Second Account"}},
		Groups:   []fakeiam.Group{{ID: 1, Name: "Administrators"}}})
	fake.AddUser(fakeiam.User{Email: "otp@example.com", Password: "otp-password", OTP: "123456", UserID: 2,
		Accounts: []fakeiam.Account{{ID: 2001, Name: "OTP Account"}}})
	apiToken := fake.AddAPIToken(1001, "script", nil)
	srv := httptest.NewServer(fake)
	env.Defer(srv.Close)

	home := filepath.Join(env.WorkDir, "home")
	for _, kv := range [][2]string{
		{"HOME", home},
		{"XDG_CONFIG_HOME", filepath.Join(home, ".config")},
		{"XDG_CACHE_HOME", filepath.Join(home, ".cache")},
		{"XDG_DATA_HOME", filepath.Join(home, ".local", "share")},
		{"DBUS_SESSION_BUS_ADDRESS", "disabled:"},
		{"CI", "true"},
		{"GCORE_KEYRING_PASSPHRASE", "script-store-passphrase"},
		{"GCORE_BASE_URL", srv.URL},
		{"CONFIG", filepath.Join(home, ".config", "gcore-credential-helper", "config.toml")},
		{"SCRIPT_API_TOKEN", apiToken}, // a permanent token of account 1001, for api-token profiles
	} {
		env.Setenv(kv[0], kv[1])
	}
	// The store's derived key stays in the kernel keyring for 12 h; forget
	// it so repeated runs do not fill a non-root user's key quota.
	env.Defer(func() {
		if keys, err := cache.NewKernelKeyCache(); err == nil {
			_ = cache.LockStore(filepath.Join(home, ".local", "share", "gcore-credential-helper", "store"), keys)
		}
	})
	// The config directory exists, as after a first login, so a script can
	// `cp` its config file to $CONFIG.
	return os.MkdirAll(filepath.Dir(env.Getenv("CONFIG")), 0o700)
}
