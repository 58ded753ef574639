package helper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// TestSecretFromEnvChecked guards issue #5 item 4 (hostile environment) and the reference's security rules: a secret
// from GCORE_PASSWORD, GCORE_OTP or GCORE_API_TOKEN that cannot be one is refused by variable
// name, before any use, and the error never shows it.
func TestSecretFromEnvChecked(t *testing.T) {
	for _, tc := range []struct {
		name, value, wantErr string // wantErr "" for accepted
	}{
		{"plain", "pa$$ 'word\" ü 😀", ""},
		{"longest", strings.Repeat("p", MaxSecretLen), ""},
		{"too long", strings.Repeat("p", MaxSecretLen+1), "longer than 4096 bytes"},
		{"a megabyte", strings.Repeat("p", 1<<20), "longer than 4096 bytes"},
		{"invalid UTF-8", "secret\xff\xfe", "not valid UTF-8"},
		{"escape sequence", "secret\x1b[2J", "contains a control character"},
		{"carriage return", "secret\r", "contains a control character"},
		{"tab", "sec\tret", "contains a control character"},
		{"DEL", "secret\x7f", "contains a control character"},
		{"C1 control", "secret\u0085", "contains a control character"},
	} {
		for _, get := range []struct {
			envVar string
			read   func(SecretSources) (string, error)
		}{
			{"GCORE_PASSWORD", func(s SecretSources) (string, error) { return s.Password(t.Context(), "u@example.com") }},
			{"GCORE_OTP", func(s SecretSources) (string, error) { return s.OTP(t.Context()) }},
			{"GCORE_API_TOKEN", func(s SecretSources) (string, error) { return s.APIToken(t.Context()) }},
			{"GCORE_API_KEY", func(s SecretSources) (string, error) { return s.APIToken(t.Context()) }},
		} {
			t.Run(tc.name+"/"+get.envVar, func(t *testing.T) {
				// A command that would succeed shows the refusal does not fall through to it.
				src := SecretSources{
					Getenv:          func(k string) string { return map[string]string{get.envVar: tc.value}[k] },
					PasswordCommand: "echo from-command", OTPCommand: "echo from-command",
				}
				got, err := get.read(src)
				if tc.wantErr == "" {
					if err != nil || got != tc.value {
						t.Fatalf("got %.40q, %v; want the value", got, err)
					}
					return
				}
				if err == nil || err.Error() != get.envVar+": "+tc.wantErr {
					t.Fatalf("got %.40q, %v; want the error %q", got, err, get.envVar+": "+tc.wantErr)
				}
			})
		}
	}
}

// TestAPITokenVariables guards issue #11: an api-token login reads GCORE_API_KEY, the name
// Gcore's own tools use, as well as GCORE_API_TOKEN, and refuses to pick between two different
// tokens.
func TestAPITokenVariables(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"GCORE_API_KEY", map[string]string{"GCORE_API_KEY": "1_key"}, "1_key", ""},
		{"GCORE_API_TOKEN", map[string]string{"GCORE_API_TOKEN": "2_tok"}, "2_tok", ""},
		{"both, the same", map[string]string{"GCORE_API_KEY": "3_x", "GCORE_API_TOKEN": "3_x"}, "3_x", ""},
		{"both, different", map[string]string{"GCORE_API_KEY": "4_a", "GCORE_API_TOKEN": "5_b"}, "",
			"GCORE_API_KEY and GCORE_API_TOKEN hold different tokens: unset one"},
		{"neither", nil, "", ErrNoSecret.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SecretSources{Getenv: func(k string) string { return tc.env[k] }}.APIToken(t.Context())
			if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Errorf("APIToken = %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
			if err != nil && strings.ContainsAny(err.Error(), "0123456789") {
				t.Errorf("the error shows a token: %v", err)
			}
		})
	}
}

// TestSecretCommandOutput guards issue #5 item 4 (password_command and GCORE_ASKPASS printing
// megabytes, nothing, garbage, or never exiting) and the reference's security rules: each gives a clear error that
// names the command but never its output, within the command timeout.
func TestSecretCommandOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the commands are POSIX shell")
	}
	// Commands that never finish meet a short timeout; the rest get room for a loaded machine,
	// where starting a shell pipeline alone can take longer than half a second.
	const hangTimeout, timeout = 500 * time.Millisecond, 15 * time.Second
	for _, tc := range []struct {
		name, command, want, wantErr string
	}{
		{"first line", "printf 'hunter2\\nsecond line\\n'", "hunter2", ""},
		{"CRLF", "printf 'hunter2\\r\\n'", "hunter2", ""},
		{"no newline", "printf hunter2", "hunter2", ""},
		{"longest line", "head -c 4096 /dev/zero | tr '\\0' p; echo; yes | head -c 100000", strings.Repeat("p", MaxSecretLen), ""},
		{"short line, then megabytes", "echo hunter2; head -c 5000000 /dev/zero", "hunter2", ""},
		{"child keeps stdout open", "echo hunter2; sleep 5 &", "hunter2", ""},
		{"nothing", "true", "", `command "true" printed nothing`},
		{"empty first line", "printf '\\nhunter2\\n'", "", `command "printf" printed nothing`},
		{"megabytes on one line", "head -c 5000000 /dev/zero | tr '\\0' h", "", `command "head" printed an unusable first line: longer than 4096 bytes`},
		{"line one byte too long", "head -c 4097 /dev/zero | tr '\\0' h; echo", "", "longer than 4096 bytes"},
		{"invalid UTF-8", "printf 'hunter2\\377\\n'", "", `command "printf" printed an unusable first line: not valid UTF-8`},
		{"control character", "printf 'hunter2\\033[2J\\n'", "", "printed an unusable first line: contains a control character"},
		{"failure", "echo hunter2; exit 3", "", `command "echo" failed: exit status 3`},
		{"never exits", "sleep 5", "", `command "sleep" did not finish within 500ms`},
		{"prints without end", "yes hunter2", "", `command "yes" did not finish within 500ms`},
		{"never exits, child holds stdout", "sleep 5 & sleep 5", "", `command "sleep" did not finish within 500ms`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := timeout
			if strings.Contains(tc.wantErr, "did not finish") {
				limit = hangTimeout
			}
			src := SecretSources{PasswordCommand: tc.command, CommandTimeout: limit}
			start := time.Now()
			got, err := src.Password(t.Context(), "u@example.com")
			// Generous: the timeout, the pipe's grace period and a loaded machine.
			if d := time.Since(start); d > limit+20*time.Second {
				t.Errorf("took %v, want it bounded by the %v timeout", d, limit)
			}
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %.40q, %v; want %.40q", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %.40q, %v; want an error containing %q", got, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") || len(err.Error()) > 200 {
				t.Errorf("error %.300q shows the output or is too long", err)
			}
		})
	}
}

// TestAskpassOutput guards issue #5 item 4 and the reference's prompts: GCORE_ASKPASS gets the prompt as its
// argument, and its output meets the same bounds as a password_command's.
func TestAskpassOutput(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the askpass programs are POSIX shell scripts")
	}
	dir := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return path
	}
	echo := script("echo-prompt", `printf '%s\n' "$1"`)
	huge := script("huge", `head -c 3000000 /dev/zero | tr '\0' s`)
	hang := script("hang", `sleep 5`)

	src := SecretSources{Askpass: echo, CommandTimeout: 10 * time.Second}
	if got, err := src.Ask(t.Context(), "Passphrase for the store: "); err != nil || got != "Passphrase for the store: " {
		t.Errorf("askpass answer = %q, %v; want the prompt it was given", got, err)
	}
	src.Askpass = huge
	if _, err := src.Ask(t.Context(), "p"); err == nil || !strings.Contains(err.Error(), "GCORE_ASKPASS program \""+huge+"\" printed an unusable first line: longer than 4096 bytes") {
		t.Errorf("askpass printing megabytes: %v", err)
	}
	src.Askpass, src.CommandTimeout = hang, 300*time.Millisecond
	if _, err := src.Ask(t.Context(), "p"); err == nil || !strings.Contains(err.Error(), "did not finish within 300ms") {
		t.Errorf("askpass that never exits: %v", err)
	}
}

// TestSecretCommandCancelled guards the reference's prompts (Ctrl-C ends a login): cancelling the caller's
// context ends the command and says so, rather than as a timeout.
func TestSecretCommandCancelled(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the command is POSIX shell")
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := SecretSources{PasswordCommand: "sleep 5"}.Password(ctx, "u@example.com")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an error wrapping context.Canceled", err)
	}
}

// TestPromptAnswerChecked guards issue #5 item 4: a terminal answer meets the same bounds.
func TestPromptAnswerChecked(t *testing.T) {
	answer := "hunter2\x1b[A\n"
	src := SecretSources{Prompt: func(context.Context, string, bool) (string, error) { return answer, nil }}
	_, err := src.Password(t.Context(), "u@example.com")
	if err == nil || err.Error() != "answer: contains a control character" {
		t.Fatalf("got %v, want the answer refused", err)
	}
	answer = "hunter2\r\n"
	if got, err := src.Password(t.Context(), "u@example.com"); err != nil || got != "hunter2" {
		t.Fatalf("got %q, %v; want the answer without its line end", got, err)
	}
}

// TestHeadWriter guards issue #5 item 4: a command's output costs at most the bound in memory.
func TestHeadWriter(t *testing.T) {
	w := &headWriter{max: 10}
	chunk := []byte(strings.Repeat("x", 4096))
	for range 1000 {
		if n, err := w.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v; want the whole chunk taken", n, err)
		}
	}
	if string(w.buf) != "xxxxxxxxxx" || cap(w.buf) > 4096 {
		t.Fatalf("kept %d bytes (capacity %d), want the first 10", len(w.buf), cap(w.buf))
	}
}

// FuzzCheckSecret guards issue #5 item 4: what CheckSecret accepts is bounded UTF-8 without
// control characters, and its errors never contain the value.
func FuzzCheckSecret(f *testing.F) {
	for _, s := range []string{"hunter2", "", "\xff", "a\x00b", "pässwörd", "\u2028", strings.Repeat("x", MaxSecretLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckSecret(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("CheckSecret error %q contains the value", err)
			}
			return
		}
		if len(s) > MaxSecretLen || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
			t.Fatalf("CheckSecret accepted %q", s)
		}
	})
}
