package kong

import (
	"regexp"
	"strings"
	"testing"
)

// upstreamInterpolation is the expression upstream kong interpolates with; the
// scanner in interpolate.go replaces it and must read every string the same way.
var upstreamInterpolation = regexp.MustCompile(`(\$\$)|((?:\${([[:alpha:]_][[:word:]]*))(?:(=)([^}]*))?})|(\$)|([^$]+)`)

// upstreamParts renders upstream's reading of s: literals as themselves, and
// each variable as <name> or <name=fallback>.
func upstreamParts(s string) string {
	var out strings.Builder
	for _, m := range upstreamInterpolation.FindAllStringSubmatch(s, -1) {
		switch {
		case m[1] != "":
			out.WriteString("$")
		case m[3] != "" && m[4] != "":
			out.WriteString("<" + m[3] + "=" + m[5] + ">")
		case m[3] != "":
			out.WriteString("<" + m[3] + ">")
		default:
			out.WriteString(m[0])
		}
	}
	return out.String()
}

func scannedParts(s string) string {
	var out strings.Builder
	eachInterpolationPart(s, func(text string) { out.WriteString(text) }, func(ref varRef) bool {
		if ref.hasDefault {
			out.WriteString("<" + ref.name + "=" + ref.fallback + ">")
		} else {
			out.WriteString("<" + ref.name + ">")
		}
		return true
	})
	return out.String()
}

var interpolationCases = []string{
	"", "plain", "$", "$$", "$$$", "${", "${}", "${a", "${a}", "${a=}", "${a=b}", "${a=b=c}",
	"${a=b", "${_x9}", "${9x}", "${a-b}", "${a }", "x${a}y${b=2}z", "$${a}", "$$${a}", "${a}}",
	"${a=}b}", "${a=\n}", "${ä}", "\xff${a=\xfe}", "price: $5", "${name=Bobby Brown} and ${age}",
}

func TestInterpolationScannerReadsAsUpstream(t *testing.T) {
	for _, s := range interpolationCases {
		if got, want := scannedParts(s), upstreamParts(s); got != want {
			t.Errorf("%q: scanner reads %q, upstream's expression %q", s, got, want)
		}
	}
}

func FuzzInterpolationScanner(f *testing.F) {
	for _, s := range interpolationCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := scannedParts(s), upstreamParts(s); got != want {
			t.Fatalf("%q: scanner reads %q, upstream's expression %q", s, got, want)
		}
	})
}
