package helper

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

func sampleSession() *Session {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return &Session{Auth: "password", Username: "me@example.com", UserID: 7, AccountID: 1001, Account: "Demo",
		Access: "eyJ.access.sig", AccessExp: at.Add(time.Hour), Refresh: "eyJ.refresh.sig", RefreshExp: at.Add(24 * time.Hour),
		Rejected: "eyJ.old.sig", APIToken: "42_secret", AccessIssued: at}
}

func TestSessionCodecRoundTrip(t *testing.T) {
	for _, s := range []*Session{sampleSession(), {}, {AccountID: -1, Access: "x"}} {
		got, err := decodeSession(s.encode())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestSessionCodecSkipsUnknownFields(t *testing.T) {
	s := sampleSession()
	data := append(s.encode(), 200, 3, 'n', 'e', 'w')
	got, err := decodeSession(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestSessionCodecRejectsDamage(t *testing.T) {
	full := sampleSession().encode()
	for name, data := range map[string][]byte{
		"empty":          nil,
		"json":           []byte(`{"v":1}`),
		"other version":  append([]byte{'G', 'C', 'S', 2}, full[4:]...),
		"truncated":      full[:len(full)-3],
		"huge length":    append(append([]byte(nil), full[:4]...), 6, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"bad number":     append(append([]byte(nil), full[:4]...), tagUserID, 1, 0x80),
		"length no body": append(append([]byte(nil), full[:4]...), tagAccess, 5, 'a'),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeSession(data); !errors.Is(err, tlv.ErrMalformed) {
				t.Fatalf("err = %v, want tlv.ErrMalformed", err)
			}
		})
	}
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(sampleSession().encode())
	f.Add([]byte("GCS\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSession(data)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		again, err := decodeSession(s.encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(again.encode(), s.encode()) {
			t.Fatal("encoding is not stable")
		}
	})
}
