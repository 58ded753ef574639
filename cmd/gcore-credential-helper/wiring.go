package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// errNoPassphrase means the encrypted store is locked and nothing may unlock it.
var errNoPassphrase = errors.New("the encrypted store is locked and no passphrase is available")

// keyTTL is how long an unlocked store's derived key stays in the kernel keyring.
const keyTTL = 12 * time.Hour

// overrides are the flags that feed profile resolution, and the caller's
// interactivity signals.
type overrides struct {
	config.Overrides
	signals helper.Signals
}

// env reads the loaded configuration and resolves one profile.
type env struct {
	paths config.Paths
	file  *config.File
}

func (a *app) loadConfig() (*env, error) {
	paths, err := config.ResolvePaths(a.getenv)
	if err != nil {
		return nil, err
	}
	file, err := config.LoadPaths(paths)
	if err != nil {
		return nil, err
	}
	return &env{paths: paths, file: file}, nil
}

func (a *app) profileName() string { return config.ProfileName(a.profile, a.getenv) }

// engine wires the token engine for the selected profile.
func (a *app) engine(o overrides) (*helper.Engine, *env, string, error) {
	e, err := a.loadConfig()
	if err != nil {
		return nil, nil, "", err
	}
	profile, err := config.Resolve(e.file, a.profileName(), a.getenv, o.Overrides)
	if err != nil {
		return nil, nil, "", err
	}
	eng, backend, err := a.engineFor(e, profile, o.signals)
	return eng, e, backend, err
}

func (a *app) engineFor(e *env, profile config.Profile, signals helper.Signals) (*helper.Engine, string, error) {
	signals.NonInteractiveFlag = signals.NonInteractiveFlag || a.nonInteractive
	signals.CI = a.getenv("CI")
	signals.TTY = ttyAvailable
	var prompt helper.Prompter
	if helper.MayPrompt(signals) {
		prompt = promptTTY
	}
	store, backend, err := a.openStore(e.paths, profile, prompt)
	if err != nil {
		return nil, "", err
	}
	client, err := iam.NewClient(profile.BaseURL, iam.Options{
		Timeout:   profile.HTTPTimeout,
		UserAgent: programName + "/" + version,
		Debugf:    a.debugf,
	})
	if err != nil {
		return nil, "", fmt.Errorf("profile %q: %w", profile.Name, err)
	}
	locker := &cache.Locker{Dir: locksDir(e.paths), OnWait: func() {
		fmt.Fprintf(a.stderr, "%s: waiting for another gcore-credential-helper to finish logging in (profile %q)\n", programName, profile.Name)
	}}
	return &helper.Engine{
		Profile: profile,
		Store:   store,
		Locker:  locker,
		Auth:    client,
		Keys:    client,
		Cloud:   client,
		Secrets: helper.SecretSources{
			Getenv:          a.getenv,
			PasswordCommand: profile.PasswordCommand,
			OTPCommand:      profile.OTPCommand,
			Askpass:         a.getenv("GCORE_ASKPASS"),
			Prompt:          prompt,
		},
		Memo:     cache.FailureMemo{Dir: failuresDir(e.paths)},
		Now:      a.now,
		Hostname: hostname(),
		Debugf:   a.debugf,
		Notef:    a.notef,
	}, backend, nil
}

// openStore opens the profile's backend. It returns the store and a short
// description of the backend for status.
func (a *app) openStore(paths config.Paths, p config.Profile, prompt helper.Prompter) (helper.Store, string, error) {
	backend := p.Backend
	if backend == "auto" {
		backend = a.autoBackend()
	}
	if backend != "file" {
		store, err := cache.OpenKeyring(backend, cache.KeyringOptions{ServiceName: programName, Env: a.getenv})
		if err != nil {
			return nil, "", err
		}
		return store, backend, nil
	}
	keys, keyErr := cache.NewKernelKeyCache()
	opts := cache.FileOptions{
		Dir:        storeDir(paths),
		Passphrase: a.passphrase(prompt),
		KeyTTL:     keyTTL,
	}
	if keyErr == nil {
		opts.KeyCache = keys
	} else {
		a.debugf("kernel keyring unavailable, the store key is derived on every call: %v", keyErr)
	}
	// Opened on demand: someone who never logged in is asked to log in,
	// not for the passphrase of a store they never made.
	store, err := cache.OpenFileOnDemand(opts)
	if err != nil {
		return nil, "", err
	}
	desc := "file"
	if keyErr != nil {
		desc += " (key derived on every call: no kernel keyring)"
	}
	return store, desc, nil
}

// hostname names this machine in minted API keys.
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown-host"
	}
	return h
}

// storeDir is where the encrypted-file backend keeps its files.
func storeDir(paths config.Paths) string { return filepath.Join(paths.DataDir, "store") }

// locksDir holds the per-key lock files.
func locksDir(paths config.Paths) string { return filepath.Join(paths.CacheDir, "locks") }

// failuresDir holds the short memory of failed logins.
func failuresDir(paths config.Paths) string { return filepath.Join(paths.CacheDir, "failures") }

// autoBackend picks the platform keyring when one is reachable and otherwise
// the encrypted file. On Linux that means a Secret Service on the session
// bus; with no bus address the file is chosen without touching D-Bus, so the
// common headless case costs nothing.
func (a *app) autoBackend() string {
	switch runtime.GOOS {
	case "darwin":
		return compiledInOrFile("keychain")
	case "windows":
		return compiledInOrFile("wincred")
	}
	if addr := a.getenv("DBUS_SESSION_BUS_ADDRESS"); addr == "" || strings.HasPrefix(addr, "disabled:") {
		return "file"
	}
	if cache.SecretServiceReachable(a.getenv) {
		return "secret-service"
	}
	return "file"
}

// compiledInOrFile is the platform keyring when this build has it (a macOS
// build without cgo has no Keychain), else the encrypted file.
func compiledInOrFile(backend string) string {
	if cache.KeyringCompiledIn(backend) {
		return backend
	}
	return "file"
}

// passphrase returns the store's passphrase source: GCORE_KEYRING_PASSPHRASE,
// then the GCORE_ASKPASS program, then the terminal. Never stdin: it carries
// the docker and git protocols.
func (a *app) passphrase(prompt helper.Prompter) func(string, bool) (string, error) {
	return func(msg string, confirm bool) (string, error) {
		if v := a.getenv("GCORE_KEYRING_PASSPHRASE"); v != "" {
			if err := helper.CheckSecret(v); err != nil {
				return "", fmt.Errorf("%w: GCORE_KEYRING_PASSPHRASE is unusable: %w", errNoPassphrase, err)
			}
			return v, nil
		}
		src := helper.SecretSources{Askpass: a.getenv("GCORE_ASKPASS"), Prompt: prompt}
		pass, err := src.Ask(a.ctx, msg)
		if errors.Is(err, helper.ErrNoSecret) {
			return "", errNoPassphrase
		}
		if err != nil || !confirm || src.Askpass != "" {
			return pass, err
		}
		again, err := src.Ask(a.ctx, "Repeat the passphrase: ")
		if err != nil {
			return "", err
		}
		if again != pass {
			return "", errors.New("the passphrases do not match")
		}
		return pass, nil
	}
}

// notef tells the user something worth knowing, on one line of stderr.
func (a *app) notef(format string, args ...any) {
	fmt.Fprintf(a.stderr, "%s: note: %s\n", programName, fmt.Sprintf(format, args...))
}

func (a *app) debugf(format string, args ...any) {
	if v := a.getenv("GCORE_HELPER_DEBUG"); v == "" || v == "0" {
		return
	}
	fmt.Fprintf(a.stderr, "%s: debug: %s\n", programName, fmt.Sprintf(format, args...))
}
