package helper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNoSecret means no source could supply a secret without asking a human,
// and asking was not allowed.
var ErrNoSecret = errors.New("no secret available without a prompt")

// Prompter asks a human on the terminal. echo=false hides the input.
type Prompter func(ctx context.Context, prompt string, echo bool) (string, error)

// SecretSources looks for a secret in the order of the reference's prompts: the environment,
// the profile's command, the askpass program, then the terminal.
type SecretSources struct {
	// Getenv reads the environment (GCORE_PASSWORD, GCORE_OTP, GCORE_API_KEY, GCORE_API_TOKEN).
	Getenv func(string) string
	// PasswordCommand and OTPCommand are run through the shell; the first line
	// of their stdout is the secret.
	PasswordCommand, OTPCommand string
	// Askpass is the GCORE_ASKPASS program, run as `prog "<prompt>"`.
	Askpass string
	// Prompt asks a human; nil when nobody may be asked.
	Prompt Prompter
	// MayPrompt, when set, is asked (once, when a prompt is first wanted)
	// whether Prompt may be used: the interactivity decision can cost a
	// terminal open or a `git config` run, which a cache hit must not pay.
	MayPrompt func() bool
	// CommandTimeout bounds each command and askpass run; zero means DefaultCommandTimeout.
	CommandTimeout time.Duration
}

// CanPrompt reports whether a human may be asked.
func (s SecretSources) CanPrompt() bool {
	return s.Prompt != nil && (s.MayPrompt == nil || s.MayPrompt())
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
	v, _, err := s.password(ctx, username)
	return v, err
}

// password is Password, and says where the password came from, for a hint
// when IAM refuses it.
func (s SecretSources) password(ctx context.Context, username string) (value, from string, err error) {
	spec := secretSpec{envVar: "GCORE_PASSWORD", command: s.PasswordCommand, prompt: fmt.Sprintf("Gcore password for %s: ", username)}
	v, err := s.find(ctx, spec)
	return v, s.source(spec), err
}

// source names where find takes spec's secret from: the first source it
// has, for a hint.
func (s SecretSources) source(spec secretSpec) string {
	switch {
	case spec.envVar != "" && s.Getenv != nil && s.Getenv(spec.envVar) != "":
		return spec.envVar
	case spec.command != "":
		return "password_command"
	case s.Askpass != "":
		return "the GCORE_ASKPASS program"
	}
	return "the password you typed"
}

// OTP returns a one-time password for two-factor login.
func (s SecretSources) OTP(ctx context.Context) (string, error) {
	return s.find(ctx, secretSpec{envVar: "GCORE_OTP", command: s.OTPCommand,
		prompt: "Gcore one-time password: ", echo: true})
}

// APITokenVars are the variables an api-token profile's login reads: GCORE_API_KEY is the name
// gcore-go, gcore-python, Terraform v2 and gcore-cli read; GCORE_API_TOKEN is this helper's own.
var APITokenVars = []string{"GCORE_API_KEY", "GCORE_API_TOKEN"}

// APIToken returns a permanent Gcore API token for an api-token profile, from GCORE_API_KEY or
// GCORE_API_TOKEN; both set to different tokens is an error rather than a guess.
func (s SecretSources) APIToken(ctx context.Context) (string, error) {
	spec := secretSpec{prompt: "Gcore API token: "}
	if s.Getenv != nil {
		key, token := s.Getenv(APITokenVars[0]), s.Getenv(APITokenVars[1])
		if key != "" && token != "" && key != token {
			return "", fmt.Errorf("%s and %s hold different tokens: unset one", APITokenVars[0], APITokenVars[1])
		}
		spec.envVar = APITokenVars[1]
		if key != "" {
			spec.envVar = APITokenVars[0]
		}
	}
	return s.find(ctx, spec)
}

// Username asks for the login e-mail; only a human can supply it.
func (s SecretSources) Username(ctx context.Context) (string, error) {
	if !s.CanPrompt() {
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
			if err := CheckSecret(v); err != nil {
				return "", fmt.Errorf("%s: %w", spec.envVar, err)
			}
			return v, nil
		}
	}
	if spec.command != "" {
		name, args := shellCommand(spec.command)
		return s.run(ctx, "command", name, args...)
	}
	if s.Askpass != "" {
		return s.run(ctx, "GCORE_ASKPASS program", s.Askpass, spec.prompt)
	}
	if s.CanPrompt() {
		v, err := s.Prompt(ctx, spec.prompt, spec.echo)
		if err != nil {
			return "", err
		}
		if v = strings.TrimRight(v, "\r\n"); v == "" {
			return "", errors.New("empty answer")
		}
		if err := CheckSecret(v); err != nil {
			return "", fmt.Errorf("answer: %w", err)
		}
		return v, nil
	}
	return "", ErrNoSecret
}

// MaxSecretLen bounds every secret read from the environment, a command, askpass or the
// terminal. Real passwords, one-time passwords and API tokens are far shorter; a bound keeps a
// runaway command or a wrong variable from reaching memory, IAM or the store unchecked.
const MaxSecretLen = 4096

// CheckSecret refuses what cannot be a password, one-time password, token or passphrase: too
// long, not UTF-8 (JSON would silently turn it into U+FFFD and IAM would refuse a different
// secret), or with a control character (a stray escape sequence or CR; HTTP headers refuse them
// anyway). Every source SecretSources reads is checked with it; callers that read a secret
// themselves (GCORE_KEYRING_PASSPHRASE) may use it too. Its errors never show the value.
func CheckSecret(v string) error {
	switch {
	case len(v) > MaxSecretLen:
		return fmt.Errorf("longer than %d bytes", MaxSecretLen)
	case !utf8.ValidString(v):
		return errors.New("not valid UTF-8")
	case strings.ContainsFunc(v, unicode.IsControl):
		return errors.New("contains a control character")
	}
	return nil
}

// DefaultCommandTimeout bounds a password_command, otp_command or GCORE_ASKPASS program when
// SecretSources.CommandTimeout is zero: time enough for a human to answer a pinentry or askpass
// dialog, and an end to a command that hangs while this process holds the profile's lock.
const DefaultCommandTimeout = 60 * time.Second

// commandWaitDelay is how long a finished command's stdout may stay open (held by a child it left
// running) before it is closed and what was read so far is used.
const commandWaitDelay = time.Second

func shellCommand(command string) (name string, args []string) {
	if runtime.GOOS == "windows" {
		return "cmd", []string{"/C", command}
	}
	return "/bin/sh", []string{"-c", command}
}

// run runs a secret command and returns the first line of its stdout. Only that line's worth of
// output is kept, the rest is read and dropped, so a command printing without end costs no
// memory and never blocks on a full pipe. Its stderr is discarded and only its exit status is
// reported: its output might be the secret.
func (s SecretSources) run(ctx context.Context, what, name string, args ...string) (string, error) {
	timeout := s.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	cmd.WaitDelay = commandWaitDelay
	// Room for the longest secret and its line end: anything past it only shows it is too long.
	stdout := &headWriter{max: MaxSecretLen + 2}
	cmd.Stdout = stdout
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // it succeeded; a child it left running held stdout open
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return "", fmt.Errorf("%s: %w", what, ctx.Err())
	case cctx.Err() != nil:
		return "", fmt.Errorf("%s %q did not finish within %s", what, commandName(cmd), timeout)
	default:
		return "", fmt.Errorf("%s %q failed: %w", what, commandName(cmd), err)
	}
	line, _, _ := bytes.Cut(stdout.buf, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", fmt.Errorf("%s %q printed nothing", what, commandName(cmd))
	}
	if err := CheckSecret(string(line)); err != nil {
		return "", fmt.Errorf("%s %q printed an unusable first line: %w", what, commandName(cmd), err)
	}
	return string(line), nil
}

// headWriter keeps the first max bytes written to it and drops the rest.
type headWriter struct {
	buf []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
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
