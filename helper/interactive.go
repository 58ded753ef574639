package helper

// Signals are the facts that decide whether a human may be asked for anything.
// The CLI gathers them from flags, the environment and the terminal.
type Signals struct {
	// NonInteractiveFlag is --non-interactive.
	NonInteractiveFlag bool
	// DockerGet is true in the docker persona's get, which must never prompt.
	DockerGet bool
	// KubeInteractive is kubectl's spec.interactive from KUBERNETES_EXEC_INFO,
	// nil when kubectl did not say.
	KubeInteractive *bool
	// GitTerminalPrompt is GIT_TERMINAL_PROMPT as git passes it.
	GitTerminalPrompt string
	// GitCredentialInteractive reads git's credential.interactive setting. It
	// costs a `git config` run, so it is called only when everything cheaper
	// allows a prompt; nil means unset.
	GitCredentialInteractive func() string
	// CI is the value of the CI environment variable.
	CI string
	// TTY reports whether /dev/tty can be opened. It is consulted last, so a
	// caller that is non-interactive anyway never pays for the open.
	TTY func() bool
}

// MayPrompt is the one decision function of the reference's prompts: it reports whether a
// terminal prompt is allowed. Non-interactive secret sources (environment,
// commands, askpass) are allowed regardless of what it says.
func MayPrompt(s Signals) bool {
	switch {
	case s.NonInteractiveFlag, s.DockerGet, s.CI != "":
		return false
	case s.KubeInteractive != nil && !*s.KubeInteractive:
		return false
	case s.GitTerminalPrompt == "0":
		return false
	case s.GitCredentialInteractive != nil && isFalse(s.GitCredentialInteractive()):
		return false
	}
	return s.TTY != nil && s.TTY()
}

// isFalse reads a git-style boolean ("false", "no", "off", "0").
func isFalse(v string) bool {
	switch v {
	case "0", "false", "no", "off", "never":
		return true
	}
	return false
}
