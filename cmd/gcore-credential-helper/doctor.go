package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// maxClockSkew is how far this machine's clock may be from IAM's before
// token expiry is misjudged enough to matter (min_ttl is minutes).
const maxClockSkew = 30 * time.Second

// check is one line of doctor's report.
type check struct {
	level  string // "ok", "warn" or "FAIL"
	name   string
	detail string
	fix    string
}

// Run checks the setup one piece at a time and says how to fix what is
// wrong. It never prompts and never changes a session (an OS keyring it
// checks may show its own unlock dialog).
func (doctorCmd) Run(a *app) error {
	var checks []check
	add := func(level, name, detail, fix string) { checks = append(checks, check{level, name, detail, fix}) }
	defer func() {
		for _, c := range checks {
			fmt.Fprintf(a.stdout, "%-5s %-16s %s\n", c.level, c.name+":", c.detail)
			if c.fix != "" {
				fmt.Fprintf(a.stdout, "      %-16s %s\n", "fix:", c.fix)
			}
		}
	}()
	cfg, err := a.loadConfig()
	if err != nil {
		add("FAIL", "config", err.Error(), "correct the file at the line and key named, or chmod 600 it")
		return exitStatus(exitError)
	}
	if cfg.file.Exists {
		add("ok", "config", cfg.paths.ConfigFile, "")
	} else {
		add("ok", "config", cfg.paths.ConfigFile+" (absent: defaults apply)", "")
	}
	p, err := config.Resolve(cfg.file, a.profileName(), a.getenv, config.Overrides{})
	if err != nil {
		add("FAIL", "profile", err.Error(), "fix the profile's settings or the GCORE_* variable named")
		return exitStatus(exitError)
	}
	add("ok", "profile", fmt.Sprintf("%s (%s)", p.Name, p.Auth), "")
	opts := a.storeOptions(cfg.paths, p, nil, nil)
	failed := false
	// The directories commands use, checked as they check them.
	for _, dir := range []string{opts.Dir, locksDir(opts.Dir), failuresDir(cfg.paths)} {
		if err := cache.EnsurePrivateDir(dir); err != nil {
			add("FAIL", "directory", err.Error(), "chmod 700 it and make sure it is yours and not a symlink")
			failed = true
		}
	}
	if !failed {
		add("ok", "directories", "private (0700, yours): "+opts.Dir+", "+cfg.paths.CacheDir, "")
	}
	failed = a.doctorStore(p, opts, add) || failed
	failed = a.doctorIAM(p, add) || failed
	// Any check that cannot run fails, with what it would take: a locked
	// store or a damaged session must not pass for a healthy one.
	eng, _, err := a.engineFor(cfg, p, helper.Signals{NonInteractiveFlag: true})
	var st helper.Status
	if err == nil {
		st, err = eng.Status()
	}
	switch {
	case err != nil:
		add("FAIL", "session", "cannot read: "+err.Error(), strings.Join(a.hints(err), "; "))
		failed = true
	case st.LoggedIn:
		add("ok", "session", fmt.Sprintf("%s, account %d", st.Username, st.AccountID), "")
	default:
		add("warn", "session", "none", fmt.Sprintf("run '%s login --profile %s'", programName, p.Name))
	}
	if failed {
		return exitStatus(exitError)
	}
	return nil
}

// storeFix says what to do about a store that cannot be opened.
func storeFix(err error) string {
	var (
		ge      *cache.GuardianError
		corrupt *cache.CorruptError
	)
	switch {
	case errors.As(err, &ge):
		return fmt.Sprintf("unlock or start %s, or while the key is still unlocked here move it under a passphrase: '%s passphrase --backend file'",
			cache.GuardianName(ge.Guardian), programName)
	case errors.As(err, &corrupt):
		return "the file named is damaged: move it away and log in again"
	}
	return "see the error; '" + programName + " doctor' after each fix"
}

// doctorStore reports the session bus, the store and its guardian, and the
// kernel keyring that keeps the unlocked key.
func (a *app) doctorStore(p config.Profile, opts cache.FileOptions, add func(level, name, detail, fix string)) (failed bool) {
	if bus := cache.SessionBus(a.getenv); bus == "" {
		add("ok", "d-bus", "no session bus (desktop keyrings unreachable)", "")
	} else if cache.SecretServiceReachable(a.getenv) {
		add("ok", "d-bus", "session bus with a Secret Service", "")
	} else {
		add("warn", "d-bus", "session bus without a Secret Service", "start gnome-keyring or KeePassXC's Secret Service, or use backend = \"file\"")
	}
	guardian, ok, err := cache.CheckGuardian(opts)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		next := p.Backend
		if next == "auto" {
			next = cache.ChooseGuardian(a.getenv)
		}
		add("ok", "store", fmt.Sprintf("%s: not made yet; the first login makes it, its key kept by %s", opts.Dir, cache.GuardianName(next)), "")
	case err != nil:
		add("FAIL", "store", err.Error(), storeFix(err))
		failed = true
	case ok:
		add("ok", "store", fmt.Sprintf("%s: key kept by %s, which gives it", opts.Dir, cache.GuardianName(guardian)), "")
	default:
		add("ok", "store", fmt.Sprintf("%s: key kept by %s (asked when the unlocked key expires)", opts.Dir, cache.GuardianName(guardian)), "")
	}
	if _, err := cache.NewKernelKeyCache(); err != nil {
		add("warn", "kernel keyring", "unavailable: every call asks the store's guardian (a passphrase costs ~150 ms): "+err.Error(),
			"allow the keyctl system calls (container seccomp profiles often block them), or use an OS keyring backend")
	} else {
		add("ok", "kernel keyring", fmt.Sprintf("keeps the unlocked store key for %d hours", int(keyTTL.Hours())), "")
	}
	return failed
}

// doctorIAM checks base_url, reachability and the clock against IAM's.
func (a *app) doctorIAM(p config.Profile, add func(level, name, detail, fix string)) (failed bool) {
	client, err := iam.NewClient(p.BaseURL, iam.Options{Timeout: 10 * time.Second, UserAgent: programName + "/" + version})
	if err != nil {
		add("FAIL", "base_url", err.Error(), "use an https:// URL (http only for 127.0.0.1 or localhost)")
		return true
	}
	ctx, cancel := context.WithTimeout(a.ctx, 15*time.Second)
	defer cancel()
	before := a.now()
	server, err := client.Ping(ctx)
	if err != nil {
		var unavailable *iam.UnavailableError
		if errors.As(err, &unavailable) {
			add("FAIL", "iam", fmt.Sprintf("cannot reach %s: %v", p.BaseURL, err), "check the network, HTTPS_PROXY and base_url")
			return true
		}
		add("warn", "clock", err.Error(), "")
		return false
	}
	add("ok", "iam", p.BaseURL+" reachable", "")
	// The Date header has one-second resolution; the midpoint of the round trip is our estimate.
	local := before.Add(a.now().Sub(before) / 2)
	if skew := local.Sub(server).Round(time.Second); skew > maxClockSkew || skew < -maxClockSkew {
		add("warn", "clock", fmt.Sprintf("this machine is %s off IAM's clock: token expiry is misjudged by as much", skew),
			"synchronise the clock (timedatectl set-ntp true, or your platform's NTP)")
	} else {
		add("ok", "clock", fmt.Sprintf("within %s of IAM's", maxClockSkew), "")
	}
	return false
}
