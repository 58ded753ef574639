package cache

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzKey is a fixed store key, so fuzzing needs no KDF.
func fuzzKey() []byte { return bytes.Repeat([]byte{0x42}, keySize) }

func FuzzDecodeEntry(f *testing.F) {
	aead, err := newAEAD(fuzzKey())
	if err != nil {
		f.Fatal(err)
	}
	valid := encodeEntry(aead, "k", []byte("value"))
	f.Add("k", valid)
	f.Add("other", valid)
	f.Add("k", valid[:len(valid)-1])
	f.Add("k", []byte{})
	f.Add("k", []byte{entryVersion})
	f.Add("k", []byte{9, 1, 2, 3})
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		value, err := decodeEntry(aead, key, data)
		if err == nil {
			// Only what encodeEntry wrote for this key authenticates.
			if key != "k" || !bytes.Equal(value, []byte("value")) {
				t.Fatalf("decodeEntry accepted forged data for %q: %q", key, value)
			}
			return
		}
		if err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}

func FuzzParseMeta(f *testing.F) {
	key := fuzzKey()
	m, err := newMetadata(GuardianPassphrase, key)
	if err == nil {
		err = m.sealWithPassphrase(key, testPass, testKDF)
	}
	if err != nil {
		f.Fatal(err)
	}
	valid := m.encode()
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	ring, _ := newMetadata("secret-service", key)
	f.Add(ring.encode())
	v1 := m
	v1.Version, v1.Wrapped = metaVersion1, nil
	f.Add(v1.encode())
	f.Add([]byte("GCM\x01"))
	f.Add([]byte("GCM\x01\x05\x05\xfe\xff\xff\xff\x1f"))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMeta(data)
		if err != nil {
			return
		}
		// Whatever parses is within bounds and survives a round trip.
		if err := m.KDF.validate(); m.Guardian == GuardianPassphrase && err != nil {
			t.Fatalf("parseMeta accepted %+v: %v", m.KDF, err)
		}
		if !validGuardian(m.Guardian) {
			t.Fatalf("parseMeta accepted guardian %q", m.Guardian)
		}
		m2, err := parseMeta(m.encode())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzKeyringName(f *testing.F) {
	for _, s := range []string{"", "default", "https://api.gcore.com/x", "..", `a\b%c`, "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		name := keyringName(key)
		if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
			t.Fatalf("keyringName(%q) = %q is not a flat name", key, name)
		}
		for _, c := range []byte(name) {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("keyringName(%q) = %q holds byte %#x", key, name, c)
			}
		}
		// Percent-decoding recovers the key, so distinct keys get distinct
		// names.
		if back, err := url.PathUnescape(name); err != nil || back != key {
			t.Fatalf("PathUnescape(keyringName(%q)) = %q, %v", key, back, err)
		}
	})
}

func FuzzBusSockets(f *testing.F) {
	for _, s := range []string{"unix:path=/run/user/1000/bus", "unix:abstract=/tmp/x,guid=1;tcp:host=a", "unix:path=%", ";;:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		for _, s := range busSockets(addr) {
			if !strings.HasPrefix(s, "/") && (!strings.HasPrefix(s, "@") || len(s) < 2) {
				t.Fatalf("busSockets(%q) returned %q, neither an absolute path nor an abstract name", addr, s)
			}
		}
	})
}

// FuzzChunkedStore stores any value under a small item limit and reads it
// back, then deletes it and finds no item left; any stored head bytes,
// parsed, never panic, and every part key is recognised as one.
func FuzzChunkedStore(f *testing.F) {
	f.Add([]byte("value"), 40)
	f.Add([]byte(chunkMagic+"\x00\x02"), 30)
	f.Fuzz(func(t *testing.T, value []byte, limit int) {
		limit = chunkHeadLen + 1 + int(uint(limit)%200)
		m := newMapStore()
		s := newChunkedStore(m, limit)
		if err := s.Put("k", value); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get("k")
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("Get = %q, %v; want %q", got, err, value)
		}
		if m.largest > limit {
			t.Fatalf("item of %d bytes over limit %d", m.largest, limit)
		}
		for _, k := range m.keys() {
			if k != "k" && !isPartKey("k", k) {
				t.Fatalf("item %q is neither the head nor a part", k)
			}
		}
		if err := s.Delete("k"); err != nil {
			t.Fatal(err)
		}
		if left := m.keys(); len(left) != 0 {
			t.Fatalf("items left after Delete: %q", left)
		}
		_, _, _ = parseChunkHead(value)
	})
}
