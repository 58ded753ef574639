package protocol

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON we read (KUBERNETES_EXEC_INFO, docker's `store` input) is parsed
// by hand for the same reason it is written by hand (see jsonw.go). The
// parser accepts exactly what json.Unmarshal into an `any` accepts, and yields
// the same values, except that it refuses input deeper or larger than the
// limits below: a caller cannot make it recurse or allocate without bound.

const (
	maxJSONDepth = 64
	maxJSONSize  = 64 << 10
)

var (
	errJSONTooDeep  = fmt.Errorf("json nested deeper than %d levels", maxJSONDepth)
	errJSONTooLarge = fmt.Errorf("json larger than %d bytes", maxJSONSize)
)

// parseJSON parses one JSON value, surrounded by optional white space, into
// map[string]any, []any, string, float64, bool or nil. Its errors give an
// offset, never the input: that may hold a secret.
func parseJSON(b []byte) (any, error) {
	if len(b) > maxJSONSize {
		return nil, errJSONTooLarge
	}
	p := jsonParser{b: b}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.space(); p.i < len(p.b) {
		return nil, p.fail("unexpected data after the top-level value")
	}
	return v, nil
}

type jsonParser struct {
	b     []byte
	i     int
	depth int
}

func (p *jsonParser) fail(what string) error {
	return fmt.Errorf("invalid json at offset %d: %s", p.i, what)
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end (0 is never valid there).
func (p *jsonParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *jsonParser) value() (any, error) {
	switch c := p.peek(); {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == 0 && p.i == len(p.b):
		return nil, p.fail("unexpected end of input")
	default:
		return nil, p.fail("unexpected character")
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return p.fail("invalid literal")
	}
	p.i += len(word)
	return nil
}

// nest enters an object or array, past its opening bracket and white space.
func (p *jsonParser) nest() error {
	if p.depth++; p.depth > maxJSONDepth {
		return errJSONTooDeep
	}
	p.i++
	p.space()
	return nil
}

// next is called after a member or element: it consumes a comma and reports
// true, or the closing byte and reports false.
func (p *jsonParser) next(closing byte) (bool, error) {
	p.space()
	switch p.peek() {
	case ',':
		p.i++
		p.space()
		return true, nil
	case closing:
		p.i++
		p.depth--
		return false, nil
	}
	return false, p.fail("want ',' or '" + string(closing) + "'")
}

func (p *jsonParser) object() (any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	m := map[string]any{}
	if p.peek() == '}' {
		p.i++
		p.depth--
		return m, nil
	}
	for {
		if p.peek() != '"' {
			return nil, p.fail("want an object key")
		}
		k, err := p.string()
		if err != nil {
			return nil, err
		}
		if p.space(); p.peek() != ':' {
			return nil, p.fail("want ':'")
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v // the last of duplicate keys wins, as in encoding/json
		if more, err := p.next('}'); !more {
			return m, err
		}
	}
}

func (p *jsonParser) array() (any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	a := []any{}
	if p.peek() == ']' {
		p.i++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if more, err := p.next(']'); !more {
			return a, err
		}
	}
}

// number accepts RFC 8259's grammar and, like encoding/json, refuses values
// beyond float64's range.
func (p *jsonParser) number() (any, error) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case '1' <= c && c <= '9':
		p.digits()
	default:
		return nil, p.fail("invalid number")
	}
	if p.peek() == '.' {
		p.i++
		if p.digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if p.digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		p.i = start
		return nil, p.fail("number out of range")
	}
	return f, nil
}

func (p *jsonParser) digits() int {
	n := 0
	for c := p.peek(); '0' <= c && c <= '9'; c = p.peek() {
		p.i++
		n++
	}
	return n
}

// string decodes a string as encoding/json does: invalid UTF-8 and unpaired
// surrogate escapes become U+FFFD.
func (p *jsonParser) string() (string, error) {
	p.i++ // the opening quote
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(p.b[start : p.i-1]), nil
		case c == '\\' || c < 0x20:
			return p.slowString(start)
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return p.slowString(start)
			}
			p.i += size
		}
	}
	return "", p.fail("unterminated string")
}

func (p *jsonParser) slowString(start int) (string, error) {
	s := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(s), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c == '\\':
			var err error
			if s, err = p.escape(s); err != nil {
				return "", err
			}
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			s = utf8.AppendRune(s, r) // RuneError for an invalid byte
			p.i += size
		}
	}
	return "", p.fail("unterminated string")
}

// escape decodes the escape at p.i, appending it to s.
func (p *jsonParser) escape(s []byte) ([]byte, error) {
	if p.i+1 >= len(p.b) {
		return nil, p.fail("unterminated string")
	}
	c := p.b[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return append(s, c), nil
	case 'b':
		return append(s, '\b'), nil
	case 'f':
		return append(s, '\f'), nil
	case 'n':
		return append(s, '\n'), nil
	case 'r':
		return append(s, '\r'), nil
	case 't':
		return append(s, '\t'), nil
	case 'u':
		r, ok := hex4(p.b[p.i:])
		if !ok {
			return nil, p.fail("invalid escape in string")
		}
		p.i += 4
		if utf16.IsSurrogate(r) {
			// Only a following \u escape can complete the pair.
			if len(p.b)-p.i >= 6 && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				if r2, ok := hex4(p.b[p.i+2:]); ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						p.i += 6
						return utf8.AppendRune(s, pair), nil
					}
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(s, r), nil
	}
	p.i -= 2
	return nil, p.fail("invalid escape in string")
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
