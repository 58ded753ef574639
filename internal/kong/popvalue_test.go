package kong

import (
	"testing"
	"unicode/utf8"
)

// popInto pops value, as the scanner's only token, into target.
func popInto(value any, target any) error {
	return ScanFromTokens(Token{Type: FlagValueToken, Value: value}).PopValueInto("value", target)
}

// FuzzPopValueIntoString holds the patched PopValueInto to upstream's reading
// of a string into a *string, through JSON, for every valid UTF-8 string, and
// checks that invalid UTF-8 is kept instead of becoming U+FFFD.
func FuzzPopValueIntoString(f *testing.F) {
	for _, s := range []string{"", "json", "a b", `"quoted"`, `back\slash`, "<&>", "\u2028", "\x00", "\xff", "caf\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := popInto(s, &got); err != nil {
			t.Fatalf("PopValueInto(%q): %v", s, err)
		}
		if got != s {
			t.Fatalf("PopValueInto(%q) = %q", s, got)
		}
		if !utf8.ValidString(s) {
			return
		}
		var upstream string
		if err := jsonTranscode(s, &upstream); err != nil {
			t.Fatalf("jsonTranscode(%q): %v", s, err)
		}
		if upstream != got {
			t.Fatalf("PopValueInto(%q) = %q, upstream's reading %q", s, got, upstream)
		}
	})
}

// TestPopValueIntoOtherTargets: anything but a string into a *string still
// goes through JSON, as upstream.
func TestPopValueIntoOtherTargets(t *testing.T) {
	var n int
	if err := popInto(42, &n); err != nil || n != 42 {
		t.Fatalf("int into *int: %d, %v", n, err)
	}
	var s string
	if err := popInto(42, &s); err == nil {
		t.Fatalf("int into *string: %q, want JSON's type error", s)
	}
	type named string
	var v named
	if err := popInto("x", &v); err != nil || v != "x" {
		t.Fatalf("string into a named string type: %q, %v", v, err)
	}
}
