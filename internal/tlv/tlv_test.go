package tlv

import (
	"errors"
	"go/parser"
	"go/token"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var magic = [4]byte{'T', 'S', 'T', 1}

type field struct {
	Tag byte
	V   string
}

func decodeAll(data []byte) ([]field, error) {
	var got []field
	err := Decode(data, magic, func(tag byte, v []byte) error {
		got = append(got, field{tag, string(v)})
		return nil
	})
	return got, err
}

func TestRoundTrip(t *testing.T) {
	w := NewWriter(magic)
	w.String(1, "hello")
	w.String(2, "")
	w.Int(3, -300)
	w.Int(4, 0)
	w.Bytes(5, []byte{0, 1})
	got, err := decodeAll(w.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	n, err := Int(3, []byte(got[1].V))
	if err != nil || n != -300 {
		t.Fatalf("Int = %d, %v", n, err)
	}
	want := []field{{1, "hello"}, {3, got[1].V}, {5, "\x00\x01"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestMalformed(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":        nil,
		"wrong magic":  []byte("TST\x02"),
		"no length":    []byte("TST\x01\x01"),
		"short body":   []byte("TST\x01\x01\x05ab"),
		"huge length":  []byte("TST\x01\x01\xff\xff\xff\xff\x0f"),
		"varint flood": []byte("TST\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeAll(data); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
	for _, v := range [][]byte{nil, {0x80}, {1, 2}} {
		if _, err := Int(1, v); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Int(%v): err = %v, want ErrMalformed", v, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	w := NewWriter(magic)
	w.String(1, "x")
	w.Int(2, 42)
	f.Add(w.Encoded())
	f.Add([]byte("TST\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, err := decodeAll(data)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same fields.
		w := NewWriter(magic)
		for _, f := range fields {
			w.Bytes(f.Tag, []byte(f.V))
		}
		again, err := decodeAll(w.Encoded())
		if err != nil {
			t.Fatal(err)
		}
		var nonEmpty []field
		for _, f := range fields {
			if f.V != "" {
				nonEmpty = append(nonEmpty, f)
			}
		}
		if diff := cmp.Diff(nonEmpty, again); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}

// TestHitPathRecordsAvoidEncodingJSON guards why this package exists (README, "Where we chose
// our own code instead of a library"): the records read on every cache hit are tlv, because
// encoding/json's first use in a fresh process costs a hit more than decoding them.
func TestHitPathRecordsAvoidEncodingJSON(t *testing.T) {
	for _, name := range []string{
		"../../helper/codec.go", // the session record
		"../../cache/format.go", // the store's metadata
	} {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		var usesTLV bool
		for _, imp := range f.Imports {
			switch imp.Path.Value {
			case `"encoding/json"`:
				t.Errorf("%s imports encoding/json; encode its record with tlv", name)
			case `"github.com/G-Core/gcore-credential-helper/internal/tlv"`:
				usesTLV = true
			}
		}
		if !usesTLV {
			t.Errorf("%s no longer encodes its record with tlv", name)
		}
	}
}
