package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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

// runDoctor checks the setup one piece at a time and says how to fix what is
// wrong. It never prompts and never changes a session (an OS keyring it
// checks may show its own unlock dialog).
func runDoctor(a *app, _ *invocation) error {
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
	e, err := a.loadConfig()
	if err != nil {
		add("FAIL", "config", err.Error(), "correct the file at the line and key named, or chmod 600 it")
		return exitStatus(exitError)
	}
	if e.file.Exists {
		add("ok", "config", e.paths.ConfigFile, "")
	} else {
		add("ok", "config", e.paths.ConfigFile+" (absent: defaults apply)", "")
	}
	p, err := config.Resolve(e.file, a.profileName(), a.getenv, config.Overrides{})
	if err != nil {
		add("FAIL", "profile", err.Error(), "fix the profile's settings or the GCORE_* variable named")
		return exitStatus(exitError)
	}
	add("ok", "profile", fmt.Sprintf("%s (%s)", p.Name, p.Auth), "")
	failed := false
	// The directories commands use, checked as they check them.
	for _, dir := range []string{storeDir(e.paths), locksDir(e.paths), failuresDir(e.paths)} {
		if err := cache.EnsurePrivateDir(dir); err != nil {
			add("FAIL", "directory", err.Error(), "chmod 700 it and make sure it is yours and not a symlink")
			failed = true
		}
	}
	if !failed {
		add("ok", "directories", "private (0700, yours): "+filepath.Dir(storeDir(e.paths))+", "+e.paths.CacheDir, "")
	}
	failed = a.doctorBackend(p, add) || failed
	failed = a.doctorIAM(p, add) || failed
	if eng, _, err := a.engineFor(e, p, helper.Signals{NonInteractiveFlag: true}); err == nil {
		switch st, err := eng.Status(); {
		case err != nil:
			// Not "none": a locked keyring or a damaged store still holds
			// the session, and logging in again would not help.
			add("FAIL", "session", "cannot read: "+err.Error(), strings.Join(a.hints(err), "; "))
			failed = true
		case st.LoggedIn:
			add("ok", "session", fmt.Sprintf("%s, account %d", st.Username, st.AccountID), "")
		default:
			add("warn", "session", "none", fmt.Sprintf("run '%s login --profile %s'", programName, p.Name))
		}
	}
	if failed {
		return exitStatus(exitError)
	}
	return nil
}

// doctorBackend reports the backend in use and whether it is reachable.
func (a *app) doctorBackend(p config.Profile, add func(level, name, detail, fix string)) (failed bool) {
	backend := p.Backend
	if backend == "auto" {
		backend = a.autoBackend()
	}
	bus := a.getenv("DBUS_SESSION_BUS_ADDRESS")
	switch {
	case bus == "" || strings.HasPrefix(bus, "disabled:"):
		add("ok", "d-bus", "no session bus (desktop keyrings unreachable; auto uses the encrypted file)", "")
	case cache.SecretServiceReachable(a.getenv):
		add("ok", "d-bus", "session bus with a Secret Service", "")
	default:
		add("warn", "d-bus", "session bus without a Secret Service", "start gnome-keyring or KeePassXC's Secret Service, or keep backend = \"file\"")
	}
	if backend != "file" {
		store, err := cache.OpenKeyring(backend, cache.KeyringOptions{ServiceName: programName, Env: a.getenv})
		if err == nil {
			err = probeStore(store)
		}
		if err != nil {
			add("FAIL", "backend", fmt.Sprintf("%s (profile %s): %v", backend, p.Backend, err), `unlock or start it, or set backend = "file" in the profile`)
			return true
		}
		add("ok", "backend", backend+" stores, reads and deletes an entry", "")
		return false
	}
	add("ok", "backend", "encrypted file (profile "+p.Backend+")", "")
	if _, err := cache.NewKernelKeyCache(); err != nil {
		add("warn", "kernel keyring", "unavailable: every call derives the store key (~150 ms): "+err.Error(),
			"allow the keyctl system calls (container seccomp profiles often block them) or use an OS keyring backend")
	} else {
		add("ok", "kernel keyring", "keeps the unlocked store key for 12 h", "")
	}
	return false
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

// probeStore writes, reads back and deletes an entry of its own: opening a
// keyring proves little (a locked collection opens fine and refuses reads).
// On a desktop, a locked keyring may show its unlock dialog here.
func probeStore(s cache.Store) error {
	const key, value = "doctor-probe", "written by gcore-credential-helper doctor"
	if err := s.Put(key, []byte(value)); err != nil {
		return err
	}
	got, err := s.Get(key)
	if err == nil && string(got) != value {
		err = errors.New("read back something else than was written")
	}
	if delErr := s.Delete(key); err == nil {
		err = delErr
	}
	return err
}
