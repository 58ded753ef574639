package harness_test

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
)

// builds is shared by every test in this run, as end-to-end test packages share theirs.
var builds *harness.Builder

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "harness-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builds = &harness.Builder{Dir: dir}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(t *testing.T, pkg string) string {
	t.Helper()
	bin, err := builds.Build(t.Context(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runners returns the runners to test: direct always, through the launcher on Linux.
func runners(t *testing.T) map[string]harness.Runner {
	t.Helper()
	rs := map[string]harness.Runner{"direct": {}}
	if runtime.GOOS == "linux" {
		rs["launcher"] = harness.Runner{Launcher: build(t, harness.LauncherPackage)}
	}
	return rs
}

func TestBaselineIsStaticAndPrintsAbout1KBOfJSON(t *testing.T) {
	bin := build(t, harness.BaselinePackage)
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a program interpreter: not statically linked", bin)
			}
		}
	}
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			res := r.Run(t.Context(), harness.Cmd{Bin: bin})
			if err := res.Check(); err != nil {
				t.Fatal(err)
			}
			if n := len(res.Stdout); n < 900 || n > 1200 {
				t.Errorf("baseline printed %d bytes, want about 1 KB", n)
			}
			var doc struct {
				Kind   string
				Status struct{ Token string }
			}
			if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil {
				t.Fatalf("baseline output is not JSON: %v", err)
			}
			if doc.Kind != "ExecCredential" || doc.Status.Token == "" {
				t.Errorf("baseline printed %+v, want an ExecCredential with a token", doc)
			}
			if res.Stderr != "" || res.Wall <= 0 || res.MaxRSSKiB <= 0 {
				t.Errorf("stderr %q, wall %v, max RSS %d KiB: want nothing, positive, positive", res.Stderr, res.Wall, res.MaxRSSKiB)
			}
		})
	}
}

func TestBuilder(t *testing.T) {
	first := build(t, harness.BaselinePackage)
	if again := build(t, harness.BaselinePackage); again != first {
		t.Errorf("second build at %s, first at %s", again, first)
	}
	if filepath.Base(first) != "baseline" {
		t.Errorf("binary named %s, want the package's last element", filepath.Base(first))
	}
	if _, err := builds.Build(t.Context(), "github.com/G-Core/gcore-credential-helper/elsewhere/baseline"); err == nil {
		t.Error("building a second package named baseline into the same directory succeeded")
	}
	if _, err := builds.Build(t.Context(), "github.com/G-Core/gcore-credential-helper/no/such/package"); err == nil {
		t.Error("building a missing package succeeded")
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		cmd     harness.Cmd
		timeout time.Duration
		want    harness.Result // Wall, MaxRSSKiB and Err are checked separately
		wantErr bool
	}{
		{
			name: "stdin to stdout",
			cmd:  harness.Cmd{Bin: "cat", Stdin: "hello\n"},
			want: harness.Result{Stdout: "hello\n"},
		},
		{
			name: "exit status and stderr",
			cmd:  harness.Cmd{Bin: "sh", Args: []string{"-c", "echo oops >&2; exit 3"}},
			want: harness.Result{Stderr: "oops\n", ExitCode: 3},
		},
		{
			name: "exactly the given environment",
			cmd:  harness.Cmd{Bin: "env", Env: []string{"A=1", "B=two words"}},
			want: harness.Result{Stdout: "A=1\nB=two words\n"},
		},
		{
			name: "nil environment is empty",
			cmd:  harness.Cmd{Bin: "env"},
		},
		{
			name: "no controlling terminal",
			cmd:  harness.Cmd{Bin: "sh", Args: []string{"-c", ": </dev/tty"}},
			want: harness.Result{Stderr: "*", ExitCode: 2},
		},
		{
			name:    "missing program",
			cmd:     harness.Cmd{Bin: "/nonexistent/program"},
			want:    harness.Result{ExitCode: -1},
			wantErr: true,
		},
		{
			name:    "killed when the context ends",
			cmd:     harness.Cmd{Bin: "sleep", Args: []string{"60"}},
			timeout: 200 * time.Millisecond,
			want:    harness.Result{ExitCode: -1},
			wantErr: true,
		},
	}
	for name, r := range runners(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				res := r.Run(ctx, tt.cmd)
				if (res.Err != nil) != tt.wantErr {
					t.Fatalf("Err = %v, want error: %v", res.Err, tt.wantErr)
				}
				if tt.want.Stderr == "*" && res.Stderr != "" {
					res.Stderr = "*" // the shell's wording is its own
				}
				got := harness.Result{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				if !tt.wantErr && (res.Wall <= 0 || res.MaxRSSKiB <= 0) {
					t.Errorf("wall %v, max RSS %d KiB: want both positive", res.Wall, res.MaxRSSKiB)
				}
			})
		}
	}
}

func TestLauncherMeasuresTheChildNotTheHarness(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the launcher is for Linux")
	}
	r := harness.Runner{Launcher: build(t, harness.LauncherPackage)}
	res := r.Run(t.Context(), harness.Cmd{Bin: "true"})
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	// true needs about 1 MiB and the launcher about 2; this test binary far more than 8.
	if res.MaxRSSKiB <= 0 || res.MaxRSSKiB > 8<<10 {
		t.Errorf("true through the launcher peaked at %d KiB, want a few MiB at most", res.MaxRSSKiB)
	}
}

func TestRunParallel(t *testing.T) {
	const n = 12
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			results := r.RunParallel(t.Context(), n, func(i int) harness.Cmd {
				return harness.Cmd{Bin: "sh", Args: []string{"-c", "echo $N"}, Env: []string{"N=" + strconv.Itoa(i)}}
			})
			if len(results) != n {
				t.Fatalf("got %d results, want %d", len(results), n)
			}
			for i, res := range results {
				if err := res.Check(); err != nil {
					t.Errorf("process %d: %v", i, err)
				}
				if want := strconv.Itoa(i) + "\n"; res.Stdout != want {
					t.Errorf("process %d printed %q, want %q", i, res.Stdout, want)
				}
				if res.Wall <= 0 {
					t.Errorf("process %d: wall %v, want positive", i, res.Wall)
				}
			}
		})
	}
}

func TestSandboxEnvLeaksNothing(t *testing.T) {
	t.Setenv("HOME", "/leak/home")
	t.Setenv("XDG_CONFIG_HOME", "/leak/config")
	t.Setenv("GCORE_PASSWORD", "leak")
	t.Setenv("GCORE_PROFILE", "leak")
	t.Setenv("GCORE_KEYRING_PASSPHRASE", "leak")
	sb, err := harness.NewSandbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res := harness.Runner{}.Run(t.Context(), harness.Cmd{Bin: "env", Env: sb.Env("CI=false", "GCORE_OTP=123456")})
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for line := range strings.Lines(res.Stdout) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		got[k] = v
	}
	want := map[string]string{
		"PATH":                     sb.Bin + ":/usr/local/bin:/usr/bin:/bin",
		"HOME":                     sb.Home,
		"XDG_CONFIG_HOME":          sb.ConfigHome,
		"XDG_CACHE_HOME":           sb.CacheHome,
		"XDG_DATA_HOME":            sb.DataHome,
		"DBUS_SESSION_BUS_ADDRESS": "disabled:",
		"GCORE_KEYRING_PASSPHRASE": harness.Passphrase,
		"CI":                       "false",
		"GCORE_OTP":                "123456",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("child environment (-want +got):\n%s", diff)
	}
}

func TestSandboxWriteConfig(t *testing.T) {
	sb, err := harness.NewSandbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const toml = "[profiles.default]\nusername = \"demo@example.com\"\n"
	if err := sb.WriteConfig(toml); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(sb.ConfigHome, "gcore-credential-helper", "config.toml")
	if sb.ConfigPath() != want {
		t.Errorf("ConfigPath() = %s, want %s", sb.ConfigPath(), want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != toml {
		t.Errorf("config holds %q, want %q", b, toml)
	}
	for path, mode := range map[string]os.FileMode{want: 0o600, filepath.Dir(want): 0o700 | os.ModeDir, sb.DataHome: 0o700 | os.ModeDir} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode(), mode)
		}
	}
}

func TestPaired(t *testing.T) {
	const rounds = 6
	baseline := build(t, harness.BaselinePackage)
	log := filepath.Join(t.TempDir(), "order")
	logged := func(name, bin string) harness.Cmd {
		// Each command notes its name, so the test can see the order within every round.
		return harness.Cmd{Name: name, Bin: "sh", Args: []string{"-c", `echo "$0" >>"$1" && exec "$2" >/dev/null`, name, log, bin}}
	}
	cmds := []harness.Cmd{logged("baseline", baseline), logged("true", "true")}
	for name, r := range runners(t) {
		t.Run(name, func(t *testing.T) {
			os.Remove(log)
			rep, err := r.Paired(t.Context(), rounds, rand.New(rand.NewPCG(1, 2)), cmds)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Runs) != rounds {
				t.Errorf("report has %d rounds, want %d", len(rep.Runs), rounds)
			}
			for _, name := range rep.Names {
				st := rep.Stat(name)
				if st.N != rounds || st.Median <= 0 || st.P90 < st.Median || st.Max < st.P90 || st.MaxRSSKiB <= 0 {
					t.Errorf("Stat(%q) = %+v, want %d runs, positive median ≤ p90 ≤ max, positive RSS", name, st, rounds)
				}
			}
			if got := rep.Ratio("true", "true"); got != 1 {
				t.Errorf("Ratio of a command to itself = %v, want 1", got)
			}
			if got := rep.Ratio("baseline", "true"); !(got > 0) {
				t.Errorf("Ratio(baseline, true) = %v, want positive", got)
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Fields(string(b))
			if len(lines) != 2*(harness.WarmupRounds+rounds) {
				t.Fatalf("commands ran %d times, want %d", len(lines), 2*(harness.WarmupRounds+rounds))
			}
			firsts := map[string]int{}
			for i := 0; i < len(lines); i += 2 {
				if lines[i] == lines[i+1] {
					t.Errorf("round %d ran %s twice", i/2+1, lines[i])
				}
				firsts[lines[i]]++
			}
			if firsts["baseline"] == 0 || firsts["true"] == 0 {
				t.Errorf("rounds began with %v: want each command first sometimes", firsts)
			}
		})
	}
}

func TestPairedErrors(t *testing.T) {
	tests := []struct {
		name   string
		rounds int
		cmds   []harness.Cmd
		want   string
	}{
		{"no rounds", 0, []harness.Cmd{{Bin: "true"}}, "at least one round"},
		{"no commands", 3, nil, "at least one round"},
		{"same name twice", 3, []harness.Cmd{{Bin: "true"}, {Name: "true", Bin: "false"}}, `two commands named "true"`},
		{"a failing command", 3, []harness.Cmd{{Bin: "true"}, {Name: "broken", Bin: "sh", Args: []string{"-c", "echo bad >&2; exit 1"}}}, "broken: exit status 1: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := harness.Runner{}.Paired(t.Context(), tt.rounds, rand.New(rand.NewPCG(1, 2)), tt.cmds)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Paired error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSummarizeAndRatio(t *testing.T) {
	ms := func(walls ...int) []harness.Result {
		rs := make([]harness.Result, len(walls))
		for i, w := range walls {
			rs[i] = harness.Result{Wall: time.Duration(w) * time.Millisecond, MaxRSSKiB: int64(100 * w)}
		}
		return rs
	}
	tests := []struct {
		name string
		runs []harness.Result
		want harness.Stat
	}{
		{"none", nil, harness.Stat{}},
		{"one", ms(7), harness.Stat{N: 1, Median: 7 * time.Millisecond, P90: 7 * time.Millisecond, Max: 7 * time.Millisecond, MaxRSSKiB: 700}},
		{"odd", ms(5, 1, 3, 2, 4), harness.Stat{N: 5, Median: 3 * time.Millisecond, P90: 5 * time.Millisecond, Max: 5 * time.Millisecond, MaxRSSKiB: 500}},
		{"even takes the lower middle", ms(4, 1, 3, 2), harness.Stat{N: 4, Median: 2 * time.Millisecond, P90: 4 * time.Millisecond, Max: 4 * time.Millisecond, MaxRSSKiB: 400}},
		{"p90 of ten is the ninth", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), harness.Stat{N: 10, Median: 5 * time.Millisecond, P90: 9 * time.Millisecond, Max: 10 * time.Millisecond, MaxRSSKiB: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, harness.Summarize(tt.runs)); diff != "" {
				t.Errorf("Summarize (-want +got):\n%s", diff)
			}
		})
	}

	a, b := ms(2, 4, 6), ms(1, 1, 2) // per-round ratios 2, 4, 3
	rep := harness.Report{Names: []string{"a", "b"}}
	for k := range a {
		rep.Runs = append(rep.Runs, []harness.Result{a[k], b[k]})
	}
	if got := rep.Ratio("a", "b"); got != 3 {
		t.Errorf("Ratio(a, b) = %v, want the median per-round ratio 3", got)
	}
	if got := rep.Ratio("a", "c"); got == got {
		t.Errorf("Ratio against an unknown command = %v, want NaN", got)
	}
	if diff := cmp.Diff(harness.Summarize(a), rep.Stat("a")); diff != "" {
		t.Errorf("Stat(a) (-want +got):\n%s", diff)
	}
}

func TestCopyExecutable(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	content := []byte("#!/bin/sh\necho copied\n")
	if err := os.WriteFile(src, content, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := harness.CopyExecutable(src, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != string(content) {
		t.Fatalf("copy holds %q (%v), want %q", got, err, content)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("copy's mode is %v (%v), want it executable", fi.Mode(), err)
	}
	if err := harness.CopyExecutable(src, dst); err == nil {
		t.Error("copying over an existing file succeeded, want an error")
	}
}
