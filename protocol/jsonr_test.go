package protocol

import (
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// unmarshal is the reference reader: encoding/json into an any.
func unmarshal(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// checkSameAsEncodingJSON fails unless parseJSON and encoding/json agree on
// whether b is valid and, if so, on its value.
func checkSameAsEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	got, err := parseJSON(b)
	want, wantErr := unmarshal(b)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("parseJSON(%q): error %v, encoding/json: error %v", b, err, wantErr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("parseJSON(%q) mismatch (-encoding/json +got):\n%s", b, diff)
	}
}

func TestParseJSONSameAsEncodingJSON(t *testing.T) {
	for _, in := range []string{
		// valid
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e3`, `1E-2`, `-12.25e+1`, `1e-400`, `true`, `false`, `null`,
		" \t\r\n{ \"a\" : [ 1 , {\"b\":null} ] } \n", `{"a":1,"a":2}`, `[[],{}]`,
		`"\"\\\/\b\f\n\r\t\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`,
		`"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, "\"é€😀\"", "\"bad\xffutf8\"", "\"\xed\xa0\x80\"",
		"\"\u2028\"", `"\u0000"`, `{"":""}`,
		// invalid
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[1 2]`, `01`, `-`,
		`1.`, `.5`, `+1`, `1e`, `1e+`, `0x10`, `1e400`, `-1e400`, `NaN`, `Infinity`, `tru`, `nul`,
		`truex`, `"abc`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"tab\there\"", "\"nl\n\"", `'a'`, `1 2`,
		`{"a":1}}`, "\xef\xbb\xbf{}", "\x00", `[`, `"\`, `{"a"`, `{"a":`, `[1`,
	} {
		t.Run(strconv.Quote(in), func(t *testing.T) { checkSameAsEncodingJSON(t, []byte(in)) })
	}
}

func TestParseJSONLimits(t *testing.T) {
	nested := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	if _, err := parseJSON(nested(maxJSONDepth)); err != nil {
		t.Errorf("depth %d: %v", maxJSONDepth, err)
	}
	if _, err := parseJSON(nested(maxJSONDepth + 1)); !errors.Is(err, errJSONTooDeep) {
		t.Errorf("depth %d: got %v, want %v", maxJSONDepth+1, err, errJSONTooDeep)
	}
	// Depth is nesting, not the count of containers: siblings do not add up.
	if _, err := parseJSON([]byte("[" + strings.Repeat("[[]],", 100) + "[]]")); err != nil {
		t.Errorf("many shallow siblings: %v", err)
	}
	fits := []byte(`"` + strings.Repeat("a", maxJSONSize-2) + `"`)
	if _, err := parseJSON(fits); err != nil {
		t.Errorf("%d bytes: %v", len(fits), err)
	}
	if _, err := parseJSON(append(fits, ' ')); !errors.Is(err, errJSONTooLarge) {
		t.Errorf("%d bytes: got %v, want %v", len(fits)+1, err, errJSONTooLarge)
	}
}

func TestParseJSONErrorHidesInput(t *testing.T) {
	for _, in := range []string{`{"Secret":"hunter2"`, `{"Secret":"hunter2\q"}`, `{"Secret":hunter2}`} {
		if _, err := parseJSON([]byte(in)); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("parseJSON(%q) = %v, want an error without the input", in, err)
		}
	}
}

// TestNoEncodingJSON guards the cache-hit paths: encoding/json's first use
// costs a fresh process ~50 µs, so only tests may import it.
func TestNoEncodingJSON(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"encoding/json"` {
				t.Errorf("%s imports encoding/json", name)
			}
		}
	}
}

func FuzzJSONReader(f *testing.F) {
	for _, s := range []string{`{"kind":"ExecCredential","spec":{"interactive":false}}`, `[1,-2.5e3,"\u00e9\ud83d\ude00",true,null]`,
		`"\ud83d"`, "\"\xff\"", `{"a":{"b":[{}]}}`, `1e400`, ` 0 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseJSON(b); errors.Is(err, errJSONTooDeep) || errors.Is(err, errJSONTooLarge) {
			return // our limits, deliberately tighter than encoding/json's
		}
		checkSameAsEncodingJSON(t, b)
	})
}
