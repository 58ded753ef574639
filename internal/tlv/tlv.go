// Package tlv is the tiny tag-length-value encoding of the helper's own
// files that are read on every cache hit (the session record and the store's
// metadata). It exists because encoding/json's first use in a fresh process
// costs a hit more than decoding these records does: the README's table of
// our own code instead of a library gives the figure.
//
// A record is a 4-byte magic (three letters and a version) followed by
// fields: a tag byte, a uvarint length, the bytes. Numbers are varints inside
// a field. Readers skip tags they do not know, so a newer writer's fields do
// not break an older reader; a changed meaning gets a new tag.
package tlv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed record")

// MaxField bounds one field so a corrupt record cannot ask for a huge
// allocation.
const MaxField = 64 << 10

// Writer builds a record.
type Writer struct{ b []byte }

// NewWriter starts a record with magic.
func NewWriter(magic [4]byte) *Writer { return &Writer{b: append(make([]byte, 0, 512), magic[:]...)} }

// Bytes writes tag with raw bytes; empty values are omitted.
func (w *Writer) Bytes(tag byte, v []byte) {
	if len(v) > 0 {
		w.b = append(w.b, tag)
		w.b = binary.AppendUvarint(w.b, uint64(len(v)))
		w.b = append(w.b, v...)
	}
}

// String writes tag with a string; empty strings are omitted.
func (w *Writer) String(tag byte, v string) {
	if v != "" {
		w.b = append(w.b, tag)
		w.b = binary.AppendUvarint(w.b, uint64(len(v)))
		w.b = append(w.b, v...)
	}
}

// Int writes tag with a signed number; zero is omitted.
func (w *Writer) Int(tag byte, v int64) {
	if v != 0 {
		var tmp [binary.MaxVarintLen64]byte
		w.Bytes(tag, tmp[:binary.PutVarint(tmp[:], v)])
	}
}

// Encoded returns the record.
func (w *Writer) Encoded() []byte { return w.b }

// Decode checks magic and calls field for every field in order. field gets
// the raw bytes, which alias data; Int converts a number field.
func Decode(data []byte, magic [4]byte, field func(tag byte, v []byte) error) error {
	if len(data) < len(magic) || [4]byte(data[:4]) != magic {
		return fmt.Errorf("%w: unknown format", ErrMalformed)
	}
	for rest := data[4:]; len(rest) > 0; {
		tag := rest[0]
		n, k := binary.Uvarint(rest[1:])
		if k <= 0 || n > MaxField || uint64(len(rest)-1-k) < n {
			return fmt.Errorf("%w: bad length in field %d", ErrMalformed, tag)
		}
		v := rest[1+k : 1+k+int(n)]
		rest = rest[1+k+int(n):]
		if err := field(tag, v); err != nil {
			return err
		}
	}
	return nil
}

// Int reads a number field.
func Int(tag byte, v []byte) (int64, error) {
	n, k := binary.Varint(v)
	if k != len(v) || k == 0 {
		return 0, fmt.Errorf("%w: bad number in field %d", ErrMalformed, tag)
	}
	return n, nil
}
