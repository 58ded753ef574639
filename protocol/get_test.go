package protocol

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", name, got, want)
	}
}

func TestWriteGetGolden(t *testing.T) {
	jwt := Credential{TokenType: "Bearer", AccessToken: "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln",
		ExpiresAt: time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("x", 3600)), Profile: "default"}
	apiKey := Credential{TokenType: "APIKey", AccessToken: `42_a$b'c"d\e`, Profile: "tf"}
	for _, tc := range []struct {
		name, format string
		c            Credential
	}{
		{"get-jwt.json", FormatJSON, jwt},
		{"get-jwt.token", FormatToken, jwt},
		{"get-jwt.header", FormatHeader, jwt},
		{"get-apikey.json", FormatJSON, apiKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteGet(&buf, tc.c, tc.format); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
			if tc.format == FormatJSON && !json.Valid(buf.Bytes()) {
				t.Fatalf("invalid JSON: %s", buf.Bytes())
			}
		})
	}
}

func TestWriteGetUnknownFormat(t *testing.T) {
	if err := WriteGet(&bytes.Buffer{}, Credential{}, "yaml"); err == nil {
		t.Fatal("want an error for an unknown format")
	}
}
