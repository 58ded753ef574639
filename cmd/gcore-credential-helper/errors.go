package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/iam"
)

// Exit codes of the reference's exit codes.
const (
	exitOK             = 0
	exitError          = 1
	exitUsage          = 2
	exitLoginRequired  = 3
	exitKeyring        = 4
	exitHostNotAllowed = 5 // reserved: docker and git answer foreign hosts in their own protocol
	exitTimeout        = 6
	exitInterrupted    = 130 // Ctrl-C at a prompt, as shells report SIGINT
)

// exitCode is the one place that maps error kinds to exit codes.
func exitCode(err error) int {
	var (
		usage       *usageError
		helperUsage *helper.UsageError
		unknown     *config.UnknownProfileError
		ambiguous   *helper.AmbiguousHostError
		login       *helper.LoginRequiredError
		unavailable *iam.UnavailableError
		execErr     *execError
	)
	switch {
	case errors.As(err, &execErr):
		return execErr.code
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &usage), errors.As(err, &helperUsage), errors.As(err, &unknown), errors.As(err, &ambiguous):
		return exitUsage
	case errors.As(err, &login):
		return exitLoginRequired
	case errors.Is(err, cache.ErrUnavailable), errors.Is(err, cache.ErrWrongPassphrase), errors.Is(err, errNoPassphrase):
		return exitKeyring
	case errors.Is(err, cache.ErrLockTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &unavailable) && unavailable.Timeout():
		return exitTimeout
	}
	return exitError
}

// hints says what to do next, one line each, for errors where that is clear.
func (a *app) hints(err error) []string {
	var (
		login     *helper.LoginRequiredError
		usage     *usageError
		guardian  *cache.GuardianError
		damaged   *helper.DamagedError
		unknown   *config.UnknownProfileError
		ambiguous *helper.AmbiguousHostError
		recent    *helper.RecentFailureError
		bad       *helper.BadCredentialsError
	)
	switch {
	case errors.As(err, &unknown):
		var h []string
		if s := unknown.Suggestion(); s != "" {
			h = append(h, fmt.Sprintf("did you mean %q?", s))
		}
		return append(h, fmt.Sprintf("only '%s login --profile %s' makes a new profile", programName, unknown.Name))
	case errors.As(err, &ambiguous):
		return []string{ambiguous.Hint()}
	case errors.As(err, &recent):
		return []string{fmt.Sprintf("'%s login --profile %s' tries at once", programName, recent.Profile)}
	case errors.As(err, &bad):
		return []string{"check the username and " + bad.Source}
	case errors.As(err, &damaged):
		return []string{fmt.Sprintf("run '%s login --profile %s' to replace it", programName, damaged.Profile)}
	case errors.As(err, &guardian):
		return []string{fmt.Sprintf("unlock %s (or start it) and try again; '%s doctor' checks it", cache.GuardianName(guardian.Guardian), programName)}
	case errors.As(err, &login):
		run := fmt.Sprintf("run '%s login --profile %s' in a terminal", programName, login.Profile)
		if login.Reason != "" {
			return []string{run, login.Reason}
		}
		return []string{run}
	case errors.As(err, &usage) && usage.hint != "":
		return []string{usage.hint}
	case errors.As(err, &usage) && usage.help != "":
		return []string{fmt.Sprintf("run '%s help %s' for its usage", programName, usage.help)}
	case errors.As(err, &usage):
		return []string{fmt.Sprintf("run '%s --help' for usage", programName)}
	case errors.Is(err, cache.ErrWrongPassphrase):
		return []string{"check GCORE_KEYRING_PASSPHRASE (or what GCORE_ASKPASS prints)"}
	case errors.Is(err, errNoPassphrase):
		return []string{"set GCORE_KEYRING_PASSPHRASE or GCORE_ASKPASS, or run the command in a terminal"}
	case errors.Is(err, cache.ErrUnavailable):
		return []string{fmt.Sprintf("unlock the keyring or start its service; '%s doctor' checks it", programName)}
	case errors.Is(err, cache.ErrLockTimeout):
		return []string{"another gcore-credential-helper is still logging in, refreshing or unlocking the store; try again, or raise lock_timeout in the profile"}
	case errors.Is(err, iam.ErrUntrustedCertificate):
		return []string{"TLS verification cannot be turned off; to trust a private CA or proxy, add it to the system store or point SSL_CERT_FILE at it"}
	}
	return nil
}

// fail prints err in the house format and returns its exit code. An
// exitStatus has been reported in the caller's protocol already.
func (a *app) fail(err error) int {
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	fmt.Fprintf(a.stderr, "%s: error: %s\n", programName, strings.TrimSuffix(err.Error(), "."))
	for _, h := range a.hints(err) {
		fmt.Fprintf(a.stderr, "hint: %s\n", h)
	}
	return exitCode(err)
}
