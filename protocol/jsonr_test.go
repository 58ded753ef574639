package protocol

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testObject has a member of each kind decodeObject's callers use.
type testObject struct {
	Secret string           `json:"Secret"`
	Any    any              `json:"any"`
	Flag   *bool            `json:"flag"`
	Inner  *struct{ N any } `json:"inner"`
}

func TestDecodeObjectErrors(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct{ name, in, want string }{
		{"not JSON", `kind: ExecCredential`, "invalid json at offset 0: unexpected character"},
		{"invalid UTF-8 outside a string", "{\xff}", "invalid json at offset 1: unexpected character"},
		{"NUL", "{\"Secret\":\"s\"\x00}", "invalid json at offset 13: unexpected character"},
		{"trailing data", `{"Secret":"s"} {}`, "invalid json at offset 15: unexpected character"},
		{"cut short", `{"Secret":`, "invalid json at offset 10: unexpected end of input"},
		{"empty", ``, "invalid json at offset 0: unexpected end of input"},
		{"blank", " \n", "invalid json at offset 2: unexpected end of input"},
		{"null", `null`, "not a JSON object"},
		{"array", `["Secret"]`, "not a JSON object"},
		{"string", `"Secret"`, "not a JSON object"},
		{"number", `1`, "not a JSON object"},
		{"number out of range", `{"any":[1e400]}`, "invalid json: number out of range"},
		{"not a boolean", `{"flag":"true"}`, "flag is not a boolean"},
		{"wrong type", `{"Secret":1}`, "Secret has the wrong type"},
		{"wrong type, nested", `{"inner":[]}`, "inner has the wrong type"},
		// encoding/json keeps the first type error even when a later
		// repeat of the member is right; the hand reader took the last.
		{"wrong type, then right", `{"flag":"yes","flag":true}`, "flag is not a boolean"},
		{"too large", `{"Secret":"` + strings.Repeat("x", maxJSONSize) + `"}`, "json larger than 65536 bytes"},
		// encoding/json's own limit, which bounds the decoder's recursion: maxJSONDepth
		// levels are read (and found not to be an object), one more is refused.
		{"as deep as allowed", nested(maxJSONDepth), "not a JSON object"},
		{"too deep", nested(maxJSONDepth + 1), "invalid json at offset 10000: nested deeper than 10000 levels"},
		{"too deep in a member", `{"any":` + nested(maxJSONDepth) + `}`, "invalid json at offset 10006: nested deeper than 10000 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeObject[testObject]([]byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got error %v, want %q", err, tc.want)
			}
		})
	}
}

// encoding/json's own messages quote the character at a syntax error and the
// digits of a number out of range; ours must not, since the input may be a
// secret.
func TestDecodeObjectErrorsHideInput(t *testing.T) {
	for _, tc := range []struct{ in, shown string }{
		{`{"Secret":Qhunter2}`, "Q"},
		{`{"Secret":"a\Zb"}`, "Z"},
		{`{"Secret":"s"}W`, "W"},
		{`{"any":7e77777}`, "7e77777"},
	} {
		var v testObject
		if err := json.Unmarshal([]byte(tc.in), &v); err == nil || !strings.Contains(err.Error(), tc.shown) {
			t.Fatalf("encoding/json no longer shows %q of %q (%v): this test needs new inputs", tc.shown, tc.in, err)
		}
		if _, err := decodeObject[testObject]([]byte(tc.in)); err == nil || strings.Contains(err.Error(), tc.shown) {
			t.Errorf("decodeObject(%q) = %v, want an error without %q", tc.in, err, tc.shown)
		}
	}
}

// What encoding/json decides, decodeObject keeps: names match
// case-insensitively, the last of repeated members wins and a repeated object
// is merged, null leaves a member absent, unknown members are ignored.
func TestDecodeObjectSemantics(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name, in string
		want     testObject
	}{
		{"names fold case", `{"SECRET":"s","Flag":true}`, testObject{Secret: "s", Flag: &yes}},
		{"last wins", `{"Secret":"a","Secret":"b"}`, testObject{Secret: "b"}},
		{"last wins across case", `{"Secret":"a","secret":"b"}`, testObject{Secret: "b"}},
		{"repeated objects merge", `{"inner":{"N":1},"inner":{"M":2}}`, testObject{Inner: &struct{ N any }{N: 1.0}}},
		{"null is absent", `{"Secret":null,"any":null,"flag":null,"inner":null}`, testObject{}},
		{"null after a value", `{"flag":true,"flag":null}`, testObject{}},
		{"unknown members", `{"other":[{"deep":1}],"Secret":"s"}`, testObject{Secret: "s"}},
		{"invalid UTF-8 in a string", "{\"Secret\":\"a\xffb\"}", testObject{Secret: "a\ufffdb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeObject[testObject]([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The messages decodeObject can give, with every number as #: none of them
// carries any part of the input.
var decodeMessages = regexp.MustCompile(`^(json larger than # bytes|not a JSON object|invalid json|` +
	`invalid json: number out of range|invalid json at offset #(: (unexpected character|unexpected end of input|nested deeper than # levels))?|` +
	`(kind|apiVersion|spec|spec\.interactive|spec\.cluster|spec\.cluster\.server|spec\.cluster\.config) (is not a boolean|has the wrong type))$`)

var digits = regexp.MustCompile(`[0-9]+`)

func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
		`{"spec":{"cluster":{"server":"s","config":{"a":[1,{"b":null}]}}}}`, `{"spec":{"interactive":1}}`,
		`{"spec":{"cluster":[]}}`, `[1,-2.5e3,"\u00e9\ud83d\ude00",true,null]`, `{"kind":1e400}`, "\"\xff\"", ` {} `, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeObject[execInfoJSON](b)
		if err != nil && !decodeMessages.MatchString(digits.ReplaceAllString(err.Error(), "#")) {
			t.Fatalf("decodeObject(%q): unexpected message %q", b, err)
		}
		var want *execInfoJSON
		if json.Unmarshal(b, &want) != nil || want == nil {
			if err == nil {
				t.Fatalf("decodeObject(%q) accepted what encoding/json refuses", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("decodeObject(%q): %v; encoding/json accepts it", b, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decodeObject(%q) mismatch (-encoding/json +got):\n%s", b, diff)
		}
	})
}
