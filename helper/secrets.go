package helper

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
)

// ErrNoSecret means no source could supply a secret without asking a human,
// and asking was not allowed.
var ErrNoSecret = errors.New("no secret available without a prompt")

// Prompter asks a human on the terminal. echo=false hides the input.
type Prompter func(ctx context.Context, prompt string, echo bool) (string, error)

// SecretSources looks for a secret in the order of SPEC §6: the environment,
// the profile's command, the askpass program, then the terminal.
type SecretSources struct {
	// Getenv reads the environment (GCORE_PASSWORD, GCORE_OTP, GCORE_API_TOKEN).
	Getenv func(string) string
	// PasswordCommand and OTPCommand are run through the shell; the first line
	// of their stdout is the secret.
	PasswordCommand, OTPCommand string
	// Askpass is the GCORE_ASKPASS program, run as `prog "<prompt>"`.
	Askpass string
	// Prompt is nil when no human may be asked.
	Prompt Prompter
}

// secretSpec names where one kind of secret may come from.
type secretSpec struct {
	envVar  string
	command string
	prompt  string
	echo    bool
}

// Password returns the account password for username.
func (s SecretSources) Password(ctx context.Context, username string) (string, error) {
	return s.find(ctx, secretSpec{envVar: "GCORE_PASSWORD", command: s.PasswordCommand,
		prompt: fmt.Sprintf("Gcore password for %s: ", username)})
}

// OTP returns a one-time password for two-factor login.
func (s SecretSources) OTP(ctx context.Context) (string, error) {
	return s.find(ctx, secretSpec{envVar: "GCORE_OTP", command: s.OTPCommand,
		prompt: "Gcore one-time password: ", echo: true})
}

// APIToken returns a permanent Gcore API token for an api-token profile.
func (s SecretSources) APIToken(ctx context.Context) (string, error) {
	return s.find(ctx, secretSpec{envVar: "GCORE_API_TOKEN", prompt: "Gcore API token: "})
}

// Username asks for the login e-mail; only a human can supply it.
func (s SecretSources) Username(ctx context.Context) (string, error) {
	if s.Prompt == nil {
		return "", ErrNoSecret
	}
	return s.Prompt(ctx, "Gcore username (e-mail): ", true)
}

// Ask asks for a hidden secret through the askpass program or the terminal
// only; the caller has already looked in the environment.
func (s SecretSources) Ask(ctx context.Context, prompt string) (string, error) {
	return s.find(ctx, secretSpec{prompt: prompt})
}

func (s SecretSources) find(ctx context.Context, spec secretSpec) (string, error) {
	if s.Getenv != nil && spec.envVar != "" {
		if v := s.Getenv(spec.envVar); v != "" {
			return v, nil
		}
	}
	if spec.command != "" {
		return runSecretCommand(ctx, shellCommand(ctx, spec.command), "command")
	}
	if s.Askpass != "" {
		return runSecretCommand(ctx, exec.CommandContext(ctx, s.Askpass, spec.prompt), "GCORE_ASKPASS program")
	}
	if s.Prompt != nil {
		v, err := s.Prompt(ctx, spec.prompt, spec.echo)
		if err != nil {
			return "", err
		}
		if v = strings.TrimRight(v, "\r\n"); v == "" {
			return "", errors.New("empty answer")
		}
		return v, nil
	}
	return "", ErrNoSecret
}

func shellCommand(ctx context.Context, command string) *exec.Cmd {
	if runtime.GOOS == "windows" {
		return exec.CommandContext(ctx, "cmd", "/C", command)
	}
	return exec.CommandContext(ctx, "/bin/sh", "-c", command)
}

// runSecretCommand runs cmd and returns the first line of its stdout. Its
// stderr goes to a buffer, never to our output, and only its exit status is
// reported: its output might be the secret.
func runSecretCommand(ctx context.Context, cmd *exec.Cmd, what string) (string, error) {
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return "", fmt.Errorf("%s %q failed: %w", what, commandName(cmd), err)
	}
	line, _, _ := bufio.NewReader(&stdout).ReadLine()
	if len(line) == 0 {
		return "", fmt.Errorf("%s %q printed nothing", what, commandName(cmd))
	}
	return string(line), nil
}

// commandName names a command in an error without its arguments, which are
// configuration the user wrote and may be long.
func commandName(cmd *exec.Cmd) string {
	if len(cmd.Args) > 2 && (cmd.Args[0] == "/bin/sh" || cmd.Args[0] == "cmd") {
		if f := strings.Fields(cmd.Args[2]); len(f) > 0 {
			return f[0]
		}
	}
	return cmd.Path
}
