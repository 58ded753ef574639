package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

func (c *getCmd) Run(a *app) error {
	eng, _, err := a.engine(config.Overrides{MinTTL: c.MinTTL}, helper.Signals{})
	if err != nil {
		return err
	}
	source := eng.Token
	if c.APIKey {
		source = eng.APIKey
	}
	tok, err := source(a.ctx, helper.GetOptions{MinTTL: eng.Profile.MinTTL, Refresh: c.Refresh})
	if err != nil {
		return err
	}
	return protocol.WriteGet(a.stdout, protocol.Credential{
		TokenType: tok.Kind, AccessToken: tok.Value, ExpiresAt: tok.ExpiresAt, Profile: eng.Profile.Name,
	}, c.Format)
}

func (c *loginCmd) Run(a *app) error {
	eng, cfg, err := a.engine(config.Overrides{Username: c.Username, ClientID: c.ClientID, Create: true}, helper.Signals{})
	if err != nil {
		return err
	}
	res, err := eng.Login(a.ctx)
	if err != nil {
		return err
	}
	// The session is stored under a key made of the username and client id,
	// so the file must say what this login used, or later calls miss it.
	p, sess := res.Profile, res.Session
	added, err := config.AddProfile(cfg.paths.ConfigFile, p)
	changed := false
	if err == nil && !added {
		changed, err = config.UpdateProfile(cfg.paths.ConfigFile, p)
	}
	if err != nil {
		return fmt.Errorf("logged in, but could not save profile %q: %w", p.Name, err)
	}
	switch {
	case added:
		fmt.Fprintf(a.stderr, "%s: saved profile %q in %s\n", programName, p.Name, cfg.paths.ConfigFile)
	case changed:
		fmt.Fprintf(a.stderr, "%s: updated profile %q in %s\n", programName, p.Name, cfg.paths.ConfigFile)
	}
	who := sess.Username
	if who == "" {
		who = "API token"
	}
	fmt.Fprintf(a.stderr, "%s: logged in as %s, account %d (%s), profile %q\n", programName, who, sess.AccountID, sess.Account, p.Name)
	return nil
}

// Run asks before it forgets (the reference's commands): on the terminal, or with --yes.
// Without either it refuses, and "no" changes nothing.
func (c *logoutCmd) Run(a *app) error {
	eng, _, err := a.engine(config.Overrides{}, helper.Signals{})
	if err != nil {
		return err
	}
	if !c.Yes {
		if !helper.MayPrompt(helper.Signals{NonInteractiveFlag: a.globals.NonInteractive, CI: a.getenv("CI"), TTY: ttyAvailable}) {
			return &usageError{msg: "logout asks for confirmation, and nobody can be asked here",
				hint: fmt.Sprintf("run '%s logout --yes --profile %s' to log out without being asked", programName, eng.Profile.Name)}
		}
		ans, err := promptTTY(a.ctx, fmt.Sprintf("Forget the session of profile %q, and delete the keys and users it minted? [y/N] ", eng.Profile.Name), true)
		if errors.Is(err, errEmptyAnswer) {
			ans, err = "n", nil
		}
		if err != nil {
			return err
		}
		if ans != "y" && ans != "Y" && ans != "yes" {
			fmt.Fprintf(a.stderr, "%s: kept the session of profile %q\n", programName, eng.Profile.Name)
			return nil
		}
	}
	if err := eng.Logout(a.ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%s: logged out of profile %q\n", programName, eng.Profile.Name)
	return nil
}

// profileStatus is one row of status output.
type profileStatus struct {
	helper.Status
	Backend     string `json:"backend"` // the profile's setting
	Store       string `json:"store"`   // its directory
	Guardian    string `json:"guardian,omitempty"`
	KeyUnlocked bool   `json:"key_unlocked"`
	storeInfo   storeInfo
	BaseURL     string `json:"base_url"`
	Error       string `json:"error,omitempty"`
	err         error  // Error's cause, for the exit status
}

// Run forgets the unlocked keys of the user's stores from the kernel
// keyring. Sessions stay in the stores; the next call asks each store's
// guardian (the passphrase, or the OS keyring) for its key again.
func (lockCmd) Run(a *app) error {
	paths, err := config.ResolvePaths(a.getenv)
	if err != nil {
		return err
	}
	keys, err := cache.NewKernelKeyCache()
	if err != nil {
		return fmt.Errorf("no kernel keyring here, so nothing is kept unlocked: %w", err)
	}
	stores := cache.Stores(paths.DataDir)
	for _, dir := range stores {
		if err := cache.LockStore(dir, keys); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "%s: locked the credential store in %s\n", programName, dir)
	}
	if len(stores) == 0 {
		fmt.Fprintf(a.stderr, "%s: there is no credential store to lock yet\n", programName)
	}
	return nil
}

// Run gives the profile's store a new guardian for its key: a new
// passphrase, or an OS keyring. The sessions stay as they are.
func (c *passphraseCmd) Run(a *app) error {
	guardian := c.Backend
	cfg, p, err := a.selectedProfile(config.Overrides{})
	if err != nil {
		return err
	}
	mayPrompt := func() bool {
		return helper.MayPrompt(helper.Signals{NonInteractiveFlag: a.globals.NonInteractive, CI: a.getenv("CI"), TTY: ttyAvailable})
	}
	opts := a.storeOptions(cfg.paths, p, promptTTY, mayPrompt)
	opts.Guardian = "" // the store's own, whatever the profile asks for
	prev, err := cache.Rekey(opts, guardian)
	if err != nil {
		return err
	}
	switch {
	case prev == guardian && guardian == cache.GuardianPassphrase:
		fmt.Fprintf(a.stderr, "%s: changed the passphrase of the credential store in %s\n", programName, opts.Dir)
	default:
		fmt.Fprintf(a.stderr, "%s: the key of the credential store in %s is now kept by %s (was %s)\n",
			programName, opts.Dir, cache.GuardianName(guardian), cache.GuardianName(prev))
		if p.Backend != "auto" && p.Backend != guardian {
			fmt.Fprintf(a.stderr, "%s: note: profile %q names backend %q: set it to %q (or \"auto\"), or it will look for a store of its own\n",
				programName, p.Name, p.Backend, guardian)
		}
	}
	return nil
}

func (c *statusCmd) Run(a *app) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	names := cfg.file.ProfileNames()
	if a.globals.Profile != "" || a.getenv("GCORE_PROFILE") != "" || len(names) == 0 {
		names = []string{a.profileName()}
		// A mistyped profile is a usage error like in every other command,
		// not a report of a profile that does not exist.
		var unknown *config.UnknownProfileError
		if _, err := config.Resolve(cfg.file, names[0], a.getenv, config.Overrides{}); errors.As(err, &unknown) {
			return err
		}
	}
	var rows []profileStatus
	for _, name := range names {
		rows = append(rows, a.profileStatus(cfg, name))
	}
	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			writeStatus(a, r)
		}
	}
	return statusExit(rows)
}

// statusExit makes a profile that could not be read (an invalid name, a
// locked keyring) fail the command, with the exit code the same error gives
// other commands, so that a script checking `status` learns of it. The rows
// have said what went wrong; nothing is printed again.
func statusExit(rows []profileStatus) error {
	for _, r := range rows {
		if r.err != nil {
			return exitStatus(exitCode(r.err))
		}
	}
	return nil
}

func (a *app) profileStatus(cfg *loadedConfig, name string) profileStatus {
	row := profileStatus{Status: helper.Status{Profile: name}}
	failed := func(err error) profileStatus {
		row.Error, row.err = err.Error(), err
		return row
	}
	profile, err := config.Resolve(cfg.file, name, a.getenv, config.Overrides{})
	if err != nil {
		return failed(err)
	}
	row.BaseURL, row.Auth, row.Backend = profile.BaseURL, profile.Auth, profile.Backend
	eng, info, err := a.engineFor(cfg, profile, helper.Signals{NonInteractiveFlag: true})
	row.Store, row.Guardian, row.KeyUnlocked, row.storeInfo = info.Dir, info.Guardian, info.Cached, info
	if err != nil {
		return failed(err)
	}
	st, err := eng.Status()
	row.Status = st
	if err != nil {
		return failed(err)
	}
	return row
}

func writeStatus(a *app, r profileStatus) {
	w := a.stdout
	fmt.Fprintf(w, "profile %s\n", r.Profile)
	fmt.Fprintf(w, "  auth:      %s\n  base url:  %s\n  backend:   %s: %s\n  store:     %s\n", r.Auth, r.BaseURL, r.Backend, r.storeInfo, r.Store)
	if r.Error != "" {
		fmt.Fprintf(w, "  error:     %s\n", r.Error)
		return
	}
	if !r.LoggedIn {
		fmt.Fprintf(w, "  session:   none (run '%s login --profile %s')\n", programName, r.Profile)
		return
	}
	fmt.Fprintf(w, "  user:      %s (id %d)\n  account:   %d %s\n", r.Username, r.UserID, r.AccountID, r.Account)
	now := a.now()
	if !r.AccessExp.IsZero() {
		fmt.Fprintf(w, "  access:    %s, expires %s (%s)\n", r.Fingerprint, r.AccessExp.UTC().Format(time.RFC3339), until(now, r.AccessExp))
	} else {
		fmt.Fprintf(w, "  token:     %s, no expiry\n", r.Fingerprint)
	}
	if !r.RefreshExp.IsZero() {
		fmt.Fprintf(w, "  refresh:   expires %s (%s)\n", r.RefreshExp.UTC().Format(time.RFC3339), until(now, r.RefreshExp))
	}
	if r.APIKeyID != 0 {
		fmt.Fprintf(w, "  api key:   id %d, expires %s (%s)\n", r.APIKeyID, r.APIKeyExpiresAt.UTC().Format(time.RFC3339), until(now, r.APIKeyExpiresAt))
	}
	for _, u := range r.RegistryUsers {
		fmt.Fprintf(w, "  registry:  %s as %s, expires %s (%s)\n", u.Host, u.Username, u.ExpiresAt.UTC().Format(time.RFC3339), until(now, u.ExpiresAt))
	}
	for _, c := range r.Clusters {
		fmt.Fprintf(w, "  cluster:   %s, certificate expires %s\n", c.Cluster, c.CertExpiresAt.UTC().Format(time.RFC3339))
	}
}

func until(now, t time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d < 0 {
		return "expired " + (-d).String() + " ago"
	}
	return "in " + d.String()
}
