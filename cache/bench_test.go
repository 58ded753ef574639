package cache

import (
	"path/filepath"
	"testing"
)

// BenchmarkHit measures what a cache hit costs a fresh process on top of
// starting: open the store with its key in the kernel keyring (or, where
// keyctl is refused, a file), then read and decrypt one entry.
func BenchmarkHit(b *testing.B) {
	base := b.TempDir()
	var kc KeyCache = fileKeyCache{dir: base}
	if k, err := NewKernelKeyCache(); err == nil {
		kc = k
	} else {
		b.Logf("kernel keyring not usable (%v); caching the key in a file", err)
	}
	opts := FileOptions{Dir: filepath.Join(base, "store"), Passphrase: passphrase(testPass), KeyCache: kc, KDF: testKDF}
	s, err := OpenFile(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = LockStore(opts.Dir, kc) })
	token := make([]byte, 2048) // an access+refresh pair with metadata
	if err := s.Put("session", token); err != nil {
		b.Fatal(err)
	}
	opts.Passphrase = nil // a hit must not need it
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenFileOnDemand(opts) // as the CLI opens it
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get("session"); err != nil {
			b.Fatal(err)
		}
	}
}
