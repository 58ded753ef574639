package helper

import "testing"

func TestMayPrompt(t *testing.T) {
	yes, no := true, false
	tty := func() bool { return true }
	noTTY := func() bool { return false }
	for _, tc := range []struct {
		name string
		s    Signals
		want bool
	}{
		{"terminal", Signals{TTY: tty}, true},
		{"no terminal", Signals{TTY: noTTY}, false},
		{"--non-interactive", Signals{NonInteractiveFlag: true, TTY: tty}, false},
		{"docker get", Signals{DockerGet: true, TTY: tty}, false},
		{"kubectl interactive", Signals{KubeInteractive: &yes, TTY: tty}, true},
		{"kubectl non-interactive", Signals{KubeInteractive: &no, TTY: tty}, false},
		{"GIT_TERMINAL_PROMPT=0", Signals{GitTerminalPrompt: "0", TTY: tty}, false},
		{"credential.interactive=false", Signals{GitCredentialInteractive: func() string { return "false" }, TTY: tty}, false},
		{"credential.interactive=auto", Signals{GitCredentialInteractive: func() string { return "auto" }, TTY: tty}, true},
		{"CI", Signals{CI: "true", TTY: tty}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MayPrompt(tc.s); got != tc.want {
				t.Fatalf("MayPrompt = %v, want %v", got, tc.want)
			}
		})
	}
}
