package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// The callers' commands: the wire is package protocol's serve cores, the
// policy package helper's sources; here they are wired to the process.

// exitStatus ends a command with a code whose message the command has
// already written in its caller's protocol.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Run is kubectl's exec credential plugin (the reference's kube format, service credentials).
func (c *kubeCmd) Run(a *app) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	src := helper.Kube{Ctx: a.ctx, Profiles: a.profiles(cfg), Cluster: c.cluster.ref(), MinTTL: c.MinTTL}
	return protocol.ServeKube(src, a.getenv("KUBERNETES_EXEC_INFO"), a.stdout)
}

// ref is the cluster the flags name; its project and region may still come
// from elsewhere (helper.ClusterRef.Defaults).
func (c cluster) ref() helper.ClusterRef {
	return helper.ClusterRef{Name: c.Cluster, Scope: helper.Scope{ProjectID: c.ProjectID, RegionID: c.RegionID,
		ProjectName: c.ProjectName, RegionName: c.RegionName}}
}

func (c *dockerCmd) Run(a *app) error {
	if code := a.docker(c.Verb); code != exitOK {
		return exitStatus(code)
	}
	return nil
}

// docker answers one docker credential-helper verb (the reference's docker protocol). Its errors go
// to stdout, as docker reads them there, with exit 1.
func (a *app) docker(verb string) int {
	cfg, err := a.loadConfig()
	if err == nil {
		src := helper.Docker{Ctx: a.ctx, Profiles: a.profiles(cfg), Report: func(err error) { a.fail(err) }}
		err = protocol.ServeDocker(src, verb, "docker-credential-gcore ("+programName+") "+version, a.stdin, a.stdout)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(a.stdout, err)
	if !errors.Is(err, protocol.ErrDockerNotFound) {
		// docker shows only stdout's line; a person running docker sees
		// stderr too, where what to do next goes.
		for _, h := range a.hints(err) {
			fmt.Fprintf(a.stderr, "hint: %s\n", h)
		}
		a.debugf("docker %s: %v", verb, err)
	}
	return exitError
}

func (c *gitCmd) Run(a *app) error {
	if code := a.git(c.Action); code != exitOK {
		return exitStatus(code)
	}
	return nil
}

// git answers one git credential-helper action (the reference's git protocol).
func (a *app) git(action string) int {
	cfg, err := a.loadConfig()
	if err != nil {
		return a.fail(err)
	}
	src := helper.Git{Ctx: a.ctx, Profiles: a.profiles(cfg), Report: func(err error) { a.fail(err) },
		Signals: helper.Signals{
			GitTerminalPrompt:        a.getenv("GIT_TERMINAL_PROMPT"),
			GitCredentialInteractive: a.gitConfig("credential.interactive"),
		}}
	if err := protocol.ServeGit(src, action, a.stdin, a.stdout); err != nil {
		return a.fail(err)
	}
	return exitOK
}

// gitConfig returns a reader of one git setting for the interactivity
// decision; it runs git only if that decision gets that far.
func (a *app) gitConfig(key string) func() string {
	return func() string {
		ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "git", "config", "--get", key).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
}

// exportToken is the credential export and exec hand on, with its profile.
func (a *app) exportToken(min minTTL, key apiKey) (config.Profile, helper.Token, error) {
	eng, _, err := a.engine(config.Overrides{MinTTL: min.MinTTL}, helper.Signals{})
	if err != nil {
		return config.Profile{}, helper.Token{}, err
	}
	source := eng.Token
	if key.APIKey {
		source = eng.APIKey
	}
	tok, err := source(a.ctx, helper.GetOptions{MinTTL: eng.Profile.MinTTL})
	return eng.Profile, tok, err
}

func (c *exportCmd) Run(a *app) error {
	p, tok, err := a.exportToken(c.minTTL, c.apiKey)
	if err != nil {
		return err
	}
	return protocol.WriteExport(a.stdout, c.Format, helper.ExportVars(p, tok))
}

// Run runs a command with the exported environment and exits with its
// status (126 when it cannot be run, 127 when it is not found, as env(1)
// does). Secrets go only into the child's environment, never onto its
// command line.
func (c *execCmd) Run(a *app) error {
	args := c.Command
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return usagef("exec needs a command: exec [--] COMMAND ARGS…")
	}
	if p := a.getenv(helper.NestVar); p != "" {
		return fmt.Errorf("refusing to nest: already inside 'gcore-credential-helper exec' for profile %q", p)
	}
	path, err := lookPath(args[0], a.getenv("PATH"))
	if err != nil {
		return err
	}
	p, tok, err := a.exportToken(c.minTTL, c.apiKey)
	if err != nil {
		return err
	}
	if tool, ok := helper.APIKeyOnlyTool(path); ok && tok.Kind != helper.KindAPIKey {
		return usagef("%s authenticates only with an API key, and profile %q holds a session: "+
			"run '%s exec --api-key -- %s …' for a short-lived key minted from it", tool, p.Name, programName, args[0])
	}
	return runChild(a, path, args, helper.ChildEnv(a.environ, p, tok))
}

// execError is a command exec could not start: 127 when it is not found, 126
// when it is not executable (env(1)'s codes).
type execError struct {
	code int
	err  error
}

func (e *execError) Error() string { return e.err.Error() }
func (e *execError) Unwrap() error { return e.err }

// lookPath finds name on path as exec would, telling "not found" (127) from
// "not executable" (126).
func lookPath(name, path string) (string, error) {
	found, err := lookPathIn(name, path)
	switch {
	case err == nil:
		return found, nil
	case errors.Is(err, exec.ErrNotFound):
		return "", &execError{code: 127, err: fmt.Errorf("exec %s: command not found", name)}
	}
	return "", &execError{code: 126, err: fmt.Errorf("exec %s: %w", name, err)}
}
