package kong

import (
	"fmt"
	"strings"
)

// Patched: upstream matches variables with a regular expression,
//
//	(\$\$)|((?:\${([[:alpha:]_][[:word:]]*))(?:(=)([^}]*))?})|(\$)|([^$]+)
//
// which links regexp, and with it the unicode tables that regexp/syntax
// builds at package initialisation, into every program that links kong. The
// scanner below reads the same language: "$$" is a "$", "${name}" and
// "${name=default}" are variables, and any other "$" is itself.
// FuzzInterpolationScanner checks it against that expression.

// varRef is a ${name} or ${name=default} at the start of a string.
type varRef struct {
	name       string
	hasDefault bool
	fallback   string
	length     int // bytes of the string the reference takes, 0 when there is none
}

// scanVarRef reads the variable reference s starts with, if any.
func scanVarRef(s string) varRef {
	if !strings.HasPrefix(s, "${") {
		return varRef{}
	}
	end := 2
	for end < len(s) && isWordByte(s[end], end > 2) {
		end++
	}
	if end == 2 {
		return varRef{}
	}
	ref := varRef{name: s[2:end]}
	if end < len(s) && s[end] == '=' {
		closing := strings.IndexByte(s[end+1:], '}')
		if closing < 0 {
			return varRef{}
		}
		ref.hasDefault, ref.fallback = true, s[end+1:end+1+closing]
		end += 1 + closing
	}
	if end >= len(s) || s[end] != '}' {
		return varRef{}
	}
	ref.length = end + 1
	return ref
}

// isWordByte reports whether b may be in a variable name: a letter or "_",
// and after the first byte also a digit ([[:alpha:]_][[:word:]]*).
func isWordByte(b byte, afterFirst bool) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_':
		return true
	case '0' <= b && b <= '9':
		return afterFirst
	}
	return false
}

// eachInterpolationPart calls literal for text that stands for itself and
// variable for each reference, in order, until one returns false.
func eachInterpolationPart(s string, literal func(string), variable func(varRef) bool) {
	for s != "" {
		dollar := strings.IndexByte(s, '$')
		if dollar < 0 {
			literal(s)
			return
		}
		if dollar > 0 {
			literal(s[:dollar])
			s = s[dollar:]
		}
		if strings.HasPrefix(s, "$$") {
			literal("$")
			s = s[2:]
			continue
		}
		ref := scanVarRef(s)
		if ref.length == 0 {
			literal("$")
			s = s[1:]
			continue
		}
		if !variable(ref) {
			return
		}
		s = s[ref.length:]
	}
}

// HasInterpolatedVar returns true if the variable "v" is interpolated in "s".
func HasInterpolatedVar(s string, v string) bool {
	found := false
	eachInterpolationPart(s, func(string) {}, func(ref varRef) bool {
		found = ref.name == v
		return !found
	})
	return found
}

// Interpolate variables from vars into s for substrings in the form ${var} or ${var=default}.
func interpolate(s string, vars Vars, updatedVars map[string]string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	for key, val := range updatedVars {
		if vars[key] != val {
			vars = vars.CloneWith(updatedVars)
			break
		}
	}
	var out strings.Builder
	var err error
	eachInterpolationPart(s, func(text string) { out.WriteString(text) }, func(ref varRef) bool {
		value, ok := vars[ref.name]
		if !ok {
			// Check for "=" rather than an empty default, as "${name=}" is an empty default.
			if !ref.hasDefault {
				err = fmt.Errorf("undefined variable ${%s}", ref.name)
				return false
			}
			value = ref.fallback
		}
		out.WriteString(value)
		return true
	})
	if err != nil {
		return "", err
	}
	return out.String(), nil
}
