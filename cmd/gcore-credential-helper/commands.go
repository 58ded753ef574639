package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// commands is the CLI's command table, in the order help lists them.
func commands() []*command {
	return []*command{
		{name: "login", summary: "log in and store the session (or an API token) for a profile", run: runLogin,
			flags: []flagSpec{
				{long: "username", placeholder: "EMAIL", help: "Gcore login; saved in the profile"},
				{long: "client-id", placeholder: "ID", help: "account to switch to after login; saved in the profile"},
			},
			example: "  GCORE_PASSWORD=… " + programName + " login --username me@example.com --client-id 12345"},
		{name: "logout", summary: "forget the profile's stored session", run: runLogout,
			flags:   []flagSpec{{long: "yes", short: "y", help: "do not ask for confirmation"}},
			example: "  " + programName + " logout --profile staging --yes"},
		{name: "lock", summary: "forget the credential store's unlocked key; the next call asks its guardian (passphrase or keyring) again", run: runLock,
			example: "  " + programName + " lock"},
		{name: "passphrase", summary: "change the credential store's passphrase, or with --backend give its key to an OS keyring", run: runPassphrase,
			flags: []flagSpec{{long: "backend", placeholder: "NAME", values: append([]string{cache.GuardianPassphrase}, cache.KeyringBackends()...),
				help: "who keeps the store's key from now on: file (a passphrase, the default) or secret-service, kwallet, keychain, wincred, pass, keyctl"}},
			example: "  " + programName + " passphrase\n  " + programName + " passphrase --backend secret-service"},
		{name: "get", summary: "print a valid credential", run: runGet,
			flags: []flagSpec{
				{long: "format", placeholder: "FORMAT", values: []string{"json", "token", "header"}, help: "json (default), token or header"},
				{long: "min-ttl", placeholder: "DURATION", help: "never print a token with less life left (default: the profile's min_ttl)"},
				{long: "refresh", help: "treat the current access token as rejected and fetch a new one"},
				apiKeyFlag(),
			},
			example: "  curl -H \"$(" + programName + " get --format header)\" https://api.gcore.com/iam/clients/me"},
		{name: "kube", summary: "kubectl exec credential plugin: print an ExecCredential", run: runKube,
			flags: []flagSpec{
				{long: "cluster", placeholder: "NAME", help: "a Gcore Managed Kubernetes cluster: answer with its client certificate"},
				{long: "project-id", placeholder: "ID", help: "the cluster's project (env GCORE_CLOUD_PROJECT_ID)"},
				{long: "region-id", placeholder: "ID", help: "the cluster's region (env GCORE_CLOUD_REGION_ID)"},
				{long: "project-name", placeholder: "NAME", help: "the cluster's project, by name"},
				{long: "region-name", placeholder: "NAME", help: "the cluster's region, by display name or slug"},
				{long: "min-ttl", placeholder: "DURATION", help: "never hand kubectl a credential with less life left"},
			},
			example: "  # in a kubeconfig user:\n  exec:\n    apiVersion: client.authentication.k8s.io/v1\n    command: gcore-credential-helper\n    args: [kube]\n    interactiveMode: IfAvailable"},
		{name: "docker", args: "<get|store|erase|list|version>", maxArgs: 1, summary: "docker credential helper (also as docker-credential-gcore)", run: runDockerCommand,
			example: "  echo registry.example.com | gcore-credential-helper docker get"},
		{name: "git", args: "<get|store|erase|capability>", maxArgs: 1, summary: "git credential helper (also as git-credential-gcore)", run: runGitCommand,
			example: "  git config --global credential.https://git.example.com.helper gcore"},
		{name: "export", summary: "print the environment Gcore tools read (never the refresh token)", run: runExport,
			flags: []flagSpec{
				{long: "format", placeholder: "FORMAT", values: []string{"sh", "fish", "pwsh", "dotenv", "json"}, help: "sh (default), fish, pwsh, dotenv or json"},
				{long: "min-ttl", placeholder: "DURATION", help: "never export a token with less life left"},
				apiKeyFlag(),
			},
			example: "  eval \"$(gcore-credential-helper export)\"\n  gcore-credential-helper export --format fish | source"},
		{name: "exec", args: "[--] CMD ARGS…", maxArgs: -1, passthrough: true, summary: "run a command with that environment and exit with its status", run: runExec,
			flags:   []flagSpec{{long: "min-ttl", placeholder: "DURATION", help: "never hand the command a token with less life left"}, apiKeyFlag()},
			example: "  gcore-credential-helper exec --profile tf -- terraform apply"},
		{name: "setup", args: "<kubectl|docker|git>", maxArgs: 1, summary: "print (or with --write apply) the caller's configuration for the profile", run: runSetup,
			flags: []flagSpec{
				{long: "write", help: "apply it: idempotent, backs the file up before changing it"},
				{long: "cluster", placeholder: "NAME", help: "kubectl: also the cluster and a context for this Gcore Managed Kubernetes cluster"},
				{long: "project-id", placeholder: "ID", help: "kubectl: the cluster's project (env GCORE_CLOUD_PROJECT_ID)"},
				{long: "region-id", placeholder: "ID", help: "kubectl: the cluster's region (env GCORE_CLOUD_REGION_ID)"},
				{long: "project-name", placeholder: "NAME", help: "kubectl: the cluster's project, by name"},
				{long: "region-name", placeholder: "NAME", help: "kubectl: the cluster's region, by display name or slug"},
			},
			example: "  gcore-credential-helper setup kubectl\n  gcore-credential-helper setup git --write --profile work"},
		{name: "completion", args: "<bash|zsh|fish>", maxArgs: 1, summary: "print a shell completion script", run: runCompletion,
			example: "  source <(gcore-credential-helper completion bash)\n  gcore-credential-helper completion fish | source"},
		{name: "status", summary: "show profiles and their sessions, never a secret", run: runStatus,
			flags:   []flagSpec{{long: "json", help: "print JSON"}},
			example: "  " + programName + " status --json"},
		{name: "doctor", summary: "check the configuration, storage, keyrings, IAM and the clock, with fixes", run: runDoctor,
			example: "  gcore-credential-helper doctor --profile staging"},
		{name: "version", summary: "print version information", run: runVersion,
			example: "  " + programName + " version"},
	}
}

// apiKeyFlag asks for a short-lived API key minted from the session (SPEC
// §12) instead of the access token, for tools that take only APIKey tokens.
func apiKeyFlag() flagSpec {
	return flagSpec{long: "api-key", help: "a short-lived API key minted from the session (api_key_ttl, default 12h) instead of the access token"}
}

func runGet(a *app, in *invocation) error {
	minTTL, err := in.duration("min-ttl")
	if err != nil {
		return err
	}
	format, err := in.oneOf("format", protocol.FormatJSON, protocol.FormatJSON, protocol.FormatToken, protocol.FormatHeader)
	if err != nil {
		return err
	}
	eng, _, _, err := a.engine(overrides{Overrides: config.Overrides{MinTTL: minTTL}})
	if err != nil {
		return err
	}
	opts := helper.GetOptions{MinTTL: eng.Profile.MinTTL, Refresh: in.on("refresh")}
	source := eng.Token
	if in.on("api-key") {
		source = eng.APIKey
	}
	tok, err := source(a.ctx, opts)
	if err != nil {
		return err
	}
	return protocol.WriteGet(a.stdout, protocol.Credential{
		TokenType: tok.Kind, AccessToken: tok.Value, ExpiresAt: tok.ExpiresAt, Profile: eng.Profile.Name,
	}, format)
}

func runLogin(a *app, in *invocation) error {
	clientID, err := in.int64("client-id")
	if err != nil {
		return err
	}
	eng, e, _, err := a.engine(overrides{Overrides: config.Overrides{Username: in.str("username"), ClientID: clientID}})
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
	added, err := config.AddProfile(e.paths.ConfigFile, p)
	changed := false
	if err == nil && !added {
		changed, err = config.UpdateProfile(e.paths.ConfigFile, p)
	}
	if err != nil {
		return fmt.Errorf("logged in, but could not save profile %q: %w", p.Name, err)
	}
	switch {
	case added:
		fmt.Fprintf(a.stderr, "%s: saved profile %q in %s\n", programName, p.Name, e.paths.ConfigFile)
	case changed:
		fmt.Fprintf(a.stderr, "%s: updated profile %q in %s\n", programName, p.Name, e.paths.ConfigFile)
	}
	who := sess.Username
	if who == "" {
		who = "API token"
	}
	fmt.Fprintf(a.stderr, "%s: logged in as %s, account %d (%s), profile %q\n", programName, who, sess.AccountID, sess.Account, eng.Profile.Name)
	return nil
}

func runLogout(a *app, in *invocation) error {
	eng, _, _, err := a.engine(overrides{})
	if err != nil {
		return err
	}
	if !in.on("yes") && helper.MayPrompt(helper.Signals{NonInteractiveFlag: a.nonInteractive, CI: a.getenv("CI"), TTY: ttyAvailable}) {
		ans, err := promptTTY(a.ctx, fmt.Sprintf("Forget the session of profile %q? [y/N] ", eng.Profile.Name), true)
		if err != nil || (ans != "y" && ans != "Y" && ans != "yes") {
			return fmt.Errorf("logout cancelled")
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

// runLock forgets the unlocked keys of the user's stores from the kernel
// keyring. Sessions stay in the stores; the next call asks each store's
// guardian (the passphrase, or the OS keyring) for its key again.
func runLock(a *app, _ *invocation) error {
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

// runPassphrase gives the profile's store a new guardian for its key: a new
// passphrase, or an OS keyring. The sessions stay as they are.
func runPassphrase(a *app, in *invocation) error {
	guardian, err := in.oneOf("backend", cache.GuardianPassphrase, append([]string{cache.GuardianPassphrase}, cache.KeyringBackends()...)...)
	if err != nil {
		return err
	}
	e, err := a.loadConfig()
	if err != nil {
		return err
	}
	p, err := config.Resolve(e.file, a.profileName(), a.getenv, config.Overrides{})
	if err != nil {
		return err
	}
	var prompt helper.Prompter
	if helper.MayPrompt(helper.Signals{NonInteractiveFlag: a.nonInteractive, CI: a.getenv("CI"), TTY: ttyAvailable}) {
		prompt = promptTTY
	}
	opts := a.storeOptions(e.paths, p, prompt)
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
	}
	return nil
}

func runStatus(a *app, in *invocation) error {
	e, err := a.loadConfig()
	if err != nil {
		return err
	}
	names := e.file.ProfileNames()
	if a.profile != "" || len(names) == 0 {
		names = []string{a.profileName()}
	}
	var rows []profileStatus
	for _, name := range names {
		rows = append(rows, a.profileStatus(e, name))
	}
	if in.on("json") {
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

func (a *app) profileStatus(e *env, name string) profileStatus {
	row := profileStatus{Status: helper.Status{Profile: name}}
	failed := func(err error) profileStatus {
		row.Error, row.err = err.Error(), err
		return row
	}
	profile, err := config.Resolve(e.file, name, a.getenv, config.Overrides{})
	if err != nil {
		return failed(err)
	}
	row.BaseURL, row.Auth, row.Backend = profile.BaseURL, profile.Auth, profile.Backend
	eng, info, err := a.engineFor(e, profile, helper.Signals{NonInteractiveFlag: true})
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

func runVersion(a *app, _ *invocation) error {
	_, err := fmt.Fprintf(a.stdout, "%s %s (commit %s, %s %s/%s)\n", programName, version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
