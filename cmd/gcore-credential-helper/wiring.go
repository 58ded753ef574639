package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// errNoPassphrase means the encrypted store is locked and nothing may unlock it.
var errNoPassphrase = errors.New("the encrypted store is locked and no passphrase is available")

// keyTTL is how long an unlocked store's key stays in the kernel keyring.
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

// storeInfo says where a profile's sessions live, for status and doctor.
type storeInfo struct {
	Dir      string
	Guardian string // "" before the store is made
	Cached   bool   // the key came from the kernel keyring
}

// String says it in words.
func (s storeInfo) String() string {
	switch {
	case s.Guardian == "":
		return "encrypted file, not made yet (the first login makes it)"
	case s.Cached:
		return "encrypted file, key kept by " + cache.GuardianName(s.Guardian) + ", unlocked for this session"
	}
	return "encrypted file, key kept by " + cache.GuardianName(s.Guardian)
}

// engine wires the token engine for the selected profile.
func (a *app) engine(o overrides) (*helper.Engine, *env, storeInfo, error) {
	e, err := a.loadConfig()
	if err != nil {
		return nil, nil, storeInfo{}, err
	}
	profile, err := config.Resolve(e.file, a.profileName(), a.getenv, o.Overrides)
	if err != nil {
		return nil, nil, storeInfo{}, err
	}
	eng, info, err := a.engineFor(e, profile, o.signals)
	return eng, e, info, err
}

func (a *app) engineFor(e *env, profile config.Profile, signals helper.Signals) (*helper.Engine, storeInfo, error) {
	signals.NonInteractiveFlag = signals.NonInteractiveFlag || a.nonInteractive
	signals.CI = a.getenv("CI")
	signals.TTY = ttyAvailable
	var prompt helper.Prompter
	if helper.MayPrompt(signals) {
		prompt = promptTTY
	}
	opts := a.storeOptions(e.paths, profile, prompt)
	info := storeInfo{Dir: opts.Dir}
	// Opened on demand: someone who never logged in is asked to log in, not
	// for the passphrase of a store they never made.
	store, err := cache.OpenFileOnDemand(opts)
	if err != nil {
		return nil, info, err
	}
	if g, ok := store.(cache.Guarded); ok {
		info.Guardian, info.Cached = g.Guardian(), g.KeyCached()
	}
	client, err := iam.NewClient(profile.BaseURL, iam.Options{
		Timeout:   profile.HTTPTimeout,
		UserAgent: programName + "/" + version,
		Debugf:    a.debugf,
	})
	if err != nil {
		return nil, info, fmt.Errorf("profile %q: %w", profile.Name, err)
	}
	locker := &cache.Locker{Dir: locksDir(opts.Dir), OnWait: func() {
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
	}, info, nil
}

// storeOptions are the options of the store for profile p's backend.
func (a *app) storeOptions(paths config.Paths, p config.Profile, prompt helper.Prompter) cache.FileOptions {
	opts := cache.FileOptions{
		Dir:            cache.StoreDir(paths.DataDir, p.Backend),
		Guardian:       p.Backend,
		Passphrase:     a.passphrase(prompt),
		KeyringOptions: cache.KeyringOptions{ServiceName: programName, Env: a.getenv},
		KeyTTL:         keyTTL,
		UnlockWait:     p.LockTimeout,
		OnUnlockWait: func() {
			fmt.Fprintf(a.stderr, "%s: waiting for another gcore-credential-helper to unlock the credential store\n", programName)
		},
		Migrate: func() []string { return cache.LegacyKeyrings(p.Backend, a.getenv) },
	}
	if keys, err := cache.NewKernelKeyCache(); err == nil {
		opts.KeyCache = keys
	} else {
		a.debugf("kernel keyring unavailable, the store's guardian is asked on every call: %v", err)
	}
	return opts
}

// hostname names this machine in minted API keys.
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown-host"
	}
	return h
}

// locksDir holds the per-key lock files: beside the store, so that every
// process that can read a session serialises on the same lock, whatever its
// XDG_CACHE_HOME.
func locksDir(storeDir string) string { return filepath.Join(storeDir, "locks") }

// failuresDir holds the short memory of failed logins.
func failuresDir(paths config.Paths) string { return filepath.Join(paths.CacheDir, "failures") }

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
