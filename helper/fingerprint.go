package helper

import (
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint names a secret in status output and logs without revealing it:
// the first 12 hex digits of its SHA-256. An empty secret has none.
func Fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:6])
}
