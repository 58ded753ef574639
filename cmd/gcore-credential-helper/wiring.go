package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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

// loadedConfig is the loaded configuration: where the files are, and the config file.
type loadedConfig struct {
	paths config.Paths
	file  *config.File
}

func (a *app) loadConfig() (*loadedConfig, error) {
	paths, err := config.ResolvePaths(a.getenv)
	if err != nil {
		return nil, err
	}
	file, err := config.LoadPaths(paths)
	if err != nil {
		return nil, err
	}
	return &loadedConfig{paths: paths, file: file}, nil
}

// profileName is the profile the command line or GCORE_PROFILE names, else
// "default".
func (a *app) profileName() string { return config.ProfileName(a.globals.Profile, a.getenv) }

// profiles reaches the config's profiles and wires their engines, for the
// callers that pick a profile by host or by kubeconfig.
func (a *app) profiles(cfg *loadedConfig) helper.Profiles {
	return helper.Profiles{File: cfg.file, Getenv: a.getenv, Flag: a.globals.Profile,
		Engine: func(p config.Profile, s helper.Signals) (*helper.Engine, error) {
			eng, _, err := a.engineFor(cfg, p, s)
			return eng, err
		}}
}

// selectedProfile loads the config and resolves the selected profile with o.
func (a *app) selectedProfile(o config.Overrides) (*loadedConfig, config.Profile, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, config.Profile{}, err
	}
	p, err := config.Resolve(cfg.file, a.profileName(), a.getenv, o)
	return cfg, p, err
}

// engine wires the token engine for the selected profile, resolved with o.
func (a *app) engine(o config.Overrides, signals helper.Signals) (*helper.Engine, *loadedConfig, error) {
	cfg, profile, err := a.selectedProfile(o)
	if err != nil {
		return nil, nil, err
	}
	eng, _, err := a.engineFor(cfg, profile, signals)
	return eng, cfg, err
}

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

// engineFor wires the engine of profile, for a caller whose interactivity
// signals are signals (the global --non-interactive and CI are added). The
// interactivity decision is made only when a prompt is first wanted: it may
// open the terminal or run git, which a cache hit must not pay.
func (a *app) engineFor(cfg *loadedConfig, profile config.Profile, signals helper.Signals) (*helper.Engine, storeInfo, error) {
	signals.NonInteractiveFlag = signals.NonInteractiveFlag || a.globals.NonInteractive
	signals.CI = a.getenv("CI")
	signals.TTY = ttyAvailable
	mayPrompt := sync.OnceValue(func() bool { return helper.MayPrompt(signals) })
	opts := a.storeOptions(cfg.paths, profile, promptTTY, mayPrompt)
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
			Prompt:          promptTTY,
			MayPrompt:       mayPrompt,
		},
		Memo:     cache.FailureMemo{Dir: failuresDir(cfg.paths)},
		Now:      a.now,
		Hostname: hostname(),
		Debugf:   a.debugf,
		Notef:    a.notef,
	}, info, nil
}

// storeOptions are the options of the store for profile p's backend;
// prompt asks for a passphrase when mayPrompt allows (both may be nil).
func (a *app) storeOptions(paths config.Paths, p config.Profile, prompt helper.Prompter, mayPrompt func() bool) cache.FileOptions {
	dir := cache.StoreDir(paths.DataDir, p.Backend)
	opts := cache.FileOptions{
		Dir:            dir,
		Guardian:       p.Backend,
		Passphrase:     a.passphrase(helper.SecretSources{Askpass: a.getenv("GCORE_ASKPASS"), Prompt: prompt, MayPrompt: mayPrompt}, dir),
		KeyringOptions: cache.KeyringOptions{ServiceName: programName, Env: a.getenv},
		KeyTTL:         keyTTL,
		UnlockWait:     p.LockTimeout,
		OnUnlockWait: func() {
			fmt.Fprintf(a.stderr, "%s: waiting for another gcore-credential-helper to unlock the credential store\n", programName)
		},
		Migrate: func() []string { return cache.LegacyKeyrings(p.Backend, a.getenv) },
	}
	if a.getenv("GCORE_KEYRING_PASSPHRASE") == "" && a.getenv("GCORE_ASKPASS") == "" {
		opts.PassphraseAttempts = passphraseAttempts // typed: a typo is asked again
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
// the docker and git protocols. At the terminal the first question comes
// with what the passphrase protects and when it is asked again, and a new
// passphrase typed differently twice is asked for again.
func (a *app) passphrase(src helper.SecretSources, dir string) func(string, bool) (string, error) {
	explained := false
	return func(prompt string, confirm bool) (string, error) {
		if v := a.getenv("GCORE_KEYRING_PASSPHRASE"); v != "" {
			if err := helper.CheckSecret(v); err != nil {
				return "", fmt.Errorf("%w: GCORE_KEYRING_PASSPHRASE is unusable: %w", errNoPassphrase, err)
			}
			return v, nil
		}
		atTerminal := src.Askpass == ""
		if !atTerminal {
			// An askpass program shows one line, with nothing before it.
			prompt = fmt.Sprintf("%s passphrase of the credential store in %s: ", programName, dir)
		} else if !explained {
			explained = true
			prompt = passphraseExplanation(dir, confirm) + prompt
		}
		for attempt := 1; ; attempt++ {
			pass, err := src.Ask(a.ctx, prompt)
			if errors.Is(err, helper.ErrNoSecret) {
				return "", errNoPassphrase
			}
			if err != nil || !confirm || !atTerminal {
				return pass, err
			}
			again, err := src.Ask(a.ctx, "Repeat it: ")
			if err != nil {
				return "", err
			}
			if again == pass {
				return pass, nil
			}
			if attempt == passphraseAttempts {
				return "", errors.New("the passphrases typed do not match")
			}
			prompt = "They do not match. " + cache.PromptNewPassphrase
		}
	}
}

// passphraseAttempts is how often a person at the terminal may mistype the
// passphrase (or its repetition), as sudo allows.
const passphraseAttempts = 3

// passphraseExplanation says, before the first passphrase question at the
// terminal, what the passphrase protects and when it is asked again.
func passphraseExplanation(dir string, choosing bool) string {
	again := fmt.Sprintf("Once unlocked it stays unlocked for %d hours, until a restart or '%s lock'.", int(keyTTL.Hours()), programName)
	if choosing {
		return fmt.Sprintf("%s keeps your Gcore sessions encrypted in %s.\nChoose a passphrase for it. %s\n", programName, dir, again)
	}
	return fmt.Sprintf("%s keeps your Gcore sessions encrypted in %s, and it is locked.\n%s\n", programName, dir, again)
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
