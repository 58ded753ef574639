package protocol

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// exportValues are values that break naive quoting in at least one shell.
var exportValues = []string{
	"", "plain", "42_a$b'c\"d\\e", "$HOME", "${HOME}", "$(id)", "`id`", "'", "''", `"`, `\`, `\\`, `\'`,
	"trailing\\", "a\nb", "\n", "\r\n", "tab\there", "a b", "*", "~", "!x", "x;y|z&", "#c",
	"é€😀", "‘’‚‛“”", "quote’); Remove-Item x; ('", "\xff\xfe",
}

func TestWriteExportGolden(t *testing.T) {
	vars := []EnvVar{
		{"GCORE_CUSTOM_HEADERS", "Authorization: Bearer eyJ.x.y"},
		{"GCORE_ACCESS_TOKEN", `42_a$b'c"d\e`},
		{"GCORE_TOKEN_EXPIRES_AT", "2026-01-02T15:04:05Z"},
		{"GCORE_BASE_URL", "https://api.gcore.com"},
		{"ODD_VALUE", "line1\nline2 ’ $(id) `id` é"},
	}
	for _, tc := range []struct{ name, format string }{
		{"export.sh", ExportSh}, {"export.fish", ExportFish}, {"export.ps1", ExportPwsh},
		{"export.env", ExportDotenv}, {"export.json", ExportJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteExport(&buf, tc.format, vars); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
		})
	}
}

func TestWriteExportJSON(t *testing.T) {
	var vars []EnvVar
	want := map[string]string{}
	for i, v := range exportValues {
		name := "V" + strconv.Itoa(i)
		vars = append(vars, EnvVar{name, v})
		want[name] = string([]rune(v)) // invalid UTF-8 as U+FFFD, byte by byte
	}
	var buf bytes.Buffer
	if err := WriteExport(&buf, ExportJSON, vars); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteExportRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		v            EnvVar
	}{
		{"unknown format", "yaml", EnvVar{"A", "v"}},
		{"empty name", ExportSh, EnvVar{"", "v"}},
		{"leading digit", ExportSh, EnvVar{"1A", "v"}},
		{"dash", ExportFish, EnvVar{"A-B", "v"}},
		{"injection", ExportSh, EnvVar{"A=1; rm -rf x; B", "v"}},
		{"non-ASCII", ExportPwsh, EnvVar{"É", "v"}},
		{"JSON too", ExportJSON, EnvVar{"A B", "v"}},
		{"NUL in value", ExportDotenv, EnvVar{"A", "a\x00b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteExport(&buf, tc.format, []EnvVar{{"FIRST", "ok"}, tc.v}); err == nil || buf.Len() != 0 {
				t.Fatalf("got error %v and output %q, want an error and no output", err, buf.Bytes())
			}
		})
	}
}

// realShell evaluates WriteExport's output for a variable X in a real shell
// and prints the value the shell then holds.
type realShell struct {
	prog, format string
	args         func(script string) []string
	utf8Only     bool // the shell reads its script as text, so cannot hold invalid UTF-8
}

func realShells() []realShell {
	posix := func(s string) []string { return []string{"-c", s + `printf %s "$X"`} }
	return []realShell{
		{prog: "sh", format: ExportSh, args: posix},
		{prog: "bash", format: ExportSh, args: posix},
		{prog: "fish", format: ExportFish, args: func(s string) []string { return []string{"--no-config", "-c", s + "printf %s $X"} }},
		{prog: "pwsh", format: ExportPwsh, utf8Only: true, args: func(s string) []string {
			return []string{"-NoProfile", "-NonInteractive", "-Command", s + "[Console]::Out.Write($Env:X)"}
		}},
	}
}

func (sh realShell) eval(t *testing.T, path, value string) string {
	t.Helper()
	var script bytes.Buffer
	if err := WriteExport(&script, sh.format, []EnvVar{{"X", value}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, sh.args(script.String())...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "LC_ALL=C.UTF-8"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s on %q: %v\n%s", sh.prog, script.Bytes(), err, stderr.Bytes())
	}
	return string(out)
}

func TestExportThroughRealShells(t *testing.T) {
	for _, sh := range realShells() {
		t.Run(sh.prog, func(t *testing.T) {
			path, err := exec.LookPath(sh.prog)
			if err != nil {
				t.Skipf("%s is not installed, so %s quoting is checked only against the grammar (FuzzQuote*)", sh.prog, sh.format)
			}
			for _, v := range exportValues {
				if sh.utf8Only && !utf8.ValidString(v) {
					continue
				}
				if got := sh.eval(t, path, v); got != v {
					t.Errorf("%s: exported %q, shell sees %q", sh.prog, v, got)
				}
			}
		})
	}
}

// The reference readers below follow each format's grammar for the forms
// the quoting functions produce, and refuse anything else: text that a shell
// would expand, split or end early.

// unquoteSh reads a word of single-quoted strings and backslash escapes.
func unquoteSh(q string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				return "", false
			}
			b.WriteString(q[i+1 : i+1+j])
			i += j + 1
		case '\\':
			if i+1 == len(q) || q[i+1] == '\n' {
				return "", false
			}
			i++
			b.WriteByte(q[i])
		default:
			return "", false
		}
	}
	return b.String(), q != ""
}

// unquoteFish reads a fish single-quoted string, where only \\ and \' are
// escapes.
func unquoteFish(q string) (string, bool) {
	body, ok := strings.CutPrefix(q, "'")
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\'':
			return b.String(), i == len(body)-1
		case c == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\''):
			i++
			b.WriteByte(body[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// unquotePwsh reads a PowerShell verbatim string as its tokenizer does: any
// of five quote characters ends it, unless followed by another, which is
// then taken literally.
func unquotePwsh(q string) (string, bool) {
	isQuote := func(r rune) bool { return r == '\'' || '\u2018' <= r && r <= '\u201b' }
	first, n := utf8.DecodeRuneInString(q)
	if !isQuote(first) {
		return "", false
	}
	var b strings.Builder
	for i := n; i < len(q); {
		r, n := utf8.DecodeRuneInString(q[i:])
		i += n
		if isQuote(r) {
			next, n := utf8.DecodeRuneInString(q[i:])
			if !isQuote(next) {
				return b.String(), i == len(q)
			}
			r = next
			i += n
		}
		b.WriteRune(r)
	}
	return "", false
}

// unquoteDotenv reads a double-quoted dotenv value: \n and \r are line
// breaks, any other escaped character stands for itself, and a bare $ or line break is
// refused as some readers would expand or end the value there.
func unquoteDotenv(q string) (string, bool) {
	body, ok := strings.CutPrefix(q, `"`)
	if !ok {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '"':
			return b.String(), i == len(body)-1
		case '$', '\n', '\r':
			return "", false
		case '\\':
			if i++; i == len(body) {
				return "", false
			}
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(body[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// fuzzQuote checks that quote's output reads back through unquote, and
// through the real shell when eval is not nil.
func fuzzQuote(f *testing.F, quote func(string) string, unquote func(string) (string, bool), utf8Only bool, eval func(*testing.T, string) string) {
	for _, v := range exportValues {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8Only && !utf8.ValidString(s) {
			return
		}
		q := quote(s)
		if got, ok := unquote(q); !ok || got != s {
			t.Fatalf("quoted %q as %s, which reads back as %q (ok %v)", s, q, got, ok)
		}
		if eval != nil && strings.IndexByte(s, 0) < 0 { // WriteExport refuses NUL
			if got := eval(t, s); got != s {
				t.Fatalf("exported %q, the shell sees %q", s, got)
			}
		}
	})
}

// realEval returns an eval for fuzzQuote that runs the shell prog, or nil
// when prog is not installed.
func realEval(f *testing.F, prog string) func(*testing.T, string) string {
	for _, sh := range realShells() {
		if sh.prog != prog {
			continue
		}
		path, err := exec.LookPath(prog)
		if err != nil {
			f.Logf("%s is not installed; checking against the grammar only", prog)
			return nil
		}
		return func(t *testing.T, s string) string { return sh.eval(t, path, s) }
	}
	panic("no shell " + prog)
}

// sh and fish start fast enough to run on every input; pwsh does not, and is
// left to TestExportThroughRealShells.
func FuzzQuoteSh(f *testing.F)     { fuzzQuote(f, QuoteSh, unquoteSh, false, realEval(f, "sh")) }
func FuzzQuoteFish(f *testing.F)   { fuzzQuote(f, QuoteFish, unquoteFish, false, realEval(f, "fish")) }
func FuzzQuotePwsh(f *testing.F)   { fuzzQuote(f, QuotePwsh, unquotePwsh, true, nil) }
func FuzzQuoteDotenv(f *testing.F) { fuzzQuote(f, QuoteDotenv, unquoteDotenv, false, nil) }
