package protocol

import (
	"strconv"
	"unicode/utf8"
)

// The answers here are a few small objects of strings, written by hand rather
// than through encoding/json: one is printed on every cache hit, and
// encoding/json's first use in a fresh process (faulting its code in,
// building the encoder for the type) measured ~0.2 ms more per get or docker
// get hit (README, "Where we chose our own code instead of a library").
// appendString is held to encoding/json's output by a fuzz test, and
// TestWritersAvoidEncodingJSON keeps encoding/json out of the writers.

// object builds a JSON object with its fields in the order they are added.
type object struct{ b []byte }

func newObject() *object { return &object{b: append(make([]byte, 0, 2048), '{')} }

func (o *object) key(k string) {
	if len(o.b) > 1 {
		o.b = append(o.b, ',')
	}
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

// str adds a string field.
func (o *object) str(k, v string) *object {
	o.key(k)
	o.b = appendString(o.b, v)
	return o
}

// obj adds a field whose value is the object v, which it closes.
func (o *object) obj(k string, v *object) *object {
	o.key(k)
	o.b = append(o.b, v.bytes()...)
	return o
}

// bytes closes the object; call it once.
func (o *object) bytes() []byte { return append(o.b, '}') }

// appendString appends s as a JSON string, escaped exactly as encoding/json
// does with HTML escaping off: quotes, backslashes, control characters,
// U+2028/U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = strconv.AppendInt(b, int64(r&0xf), 16)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
