package protocol

import (
	"fmt"
	"io"
	"strings"
)

// EnvVar is one environment variable to export.
type EnvVar struct{ Name, Value string }

// Export formats accepted by WriteExport.
const (
	ExportSh     = "sh"
	ExportFish   = "fish"
	ExportPwsh   = "pwsh"
	ExportDotenv = "dotenv"
	ExportJSON   = "json"
)

// WriteExport writes vars as statements of format, one per line, or as one
// JSON object. Values are tokens, which may hold any of $ ' " \, so each is
// quoted for its shell; nothing is written if a name or value is refused.
func WriteExport(w io.Writer, format string, vars []EnvVar) error {
	var line func(EnvVar) string
	switch format {
	case ExportSh:
		line = func(v EnvVar) string { return "export " + v.Name + "=" + QuoteSh(v.Value) + "\n" }
	case ExportFish:
		line = func(v EnvVar) string { return "set -gx " + v.Name + " " + QuoteFish(v.Value) + "\n" }
	case ExportPwsh:
		line = func(v EnvVar) string { return "$Env:" + v.Name + " = " + QuotePwsh(v.Value) + "\n" }
	case ExportDotenv:
		line = func(v EnvVar) string { return v.Name + "=" + QuoteDotenv(v.Value) + "\n" }
	case ExportJSON:
	default:
		return fmt.Errorf("unknown export format %q (want sh, fish, pwsh, dotenv or json)", format)
	}
	for _, v := range vars {
		if !validEnvName(v.Name) {
			return fmt.Errorf("invalid environment variable name %q", v.Name)
		}
		// The environment cannot hold a NUL; a shell would cut the value there.
		if strings.IndexByte(v.Value, 0) >= 0 {
			return fmt.Errorf("value of %s contains a NUL byte", v.Name)
		}
	}
	var out []byte
	if format == ExportJSON {
		o := newObject()
		for _, v := range vars {
			o.str(v.Name, v.Value)
		}
		out = append(o.bytes(), '\n')
	} else {
		for _, v := range vars {
			out = append(out, line(v)...)
		}
	}
	_, err := w.Write(out)
	return err
}

// validEnvName reports whether name matches [A-Za-z_][A-Za-z0-9_]*, the
// names every shell here accepts unquoted.
func validEnvName(name string) bool {
	for i, c := range []byte(name) {
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return name != ""
}

// QuoteSh quotes s as one POSIX shell word: single quotes, in which nothing
// is special, each ' in s closing them, escaped with a backslash, and
// reopening them.
func QuoteSh(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteFish quotes s as one fish word: single quotes, in which fish still
// reads \\ and \' as escapes.
func QuoteFish(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// QuotePwsh quotes s as a PowerShell verbatim (single-quoted) string.
// PowerShell takes the typographic U+2018, U+2019, U+201A and U+201B for a
// single quote too, so each of them is doubled like ' itself.
func QuotePwsh(s string) string {
	r := strings.NewReplacer("'", "''", "\u2018", "\u2018\u2018", "\u2019", "\u2019\u2019",
		"\u201a", "\u201a\u201a", "\u201b", "\u201b\u201b")
	return "'" + r.Replace(s) + "'"
}

// QuoteDotenv quotes s as a double-quoted dotenv value, escaping what dotenv
// readers interpret there. Line breaks are written as \n and \r, which they
// all decode, because some take a raw CR for the end of a line.
func QuoteDotenv(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`).Replace(s) + `"`
}
