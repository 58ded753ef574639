package cache

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func runPlatformChild(role string, env func(string) string) error {
	switch role {
	case "keyload":
		kc, err := NewKernelKeyCache()
		if err != nil {
			return err
		}
		key, err := kc.Load(env("STORE_ID"))
		if err != nil {
			return err
		}
		fmt.Println(hex.EncodeToString(key))
		return nil
	}
	return fmt.Errorf("unknown child role %q", role)
}

// kernelKeyCache returns the kernel key cache or skips the test when this
// kernel or sandbox refuses keyctl.
func kernelKeyCacheOrSkip(t testing.TB) KeyCache {
	t.Helper()
	kc, err := NewKernelKeyCache()
	if err != nil {
		t.Skipf("kernel keyring not usable here (keyctl refused): %v", err)
	}
	return kc
}

// testStoreID returns a fresh id, and forgets its kernel key after the test.
func testStoreID(t testing.TB, kc KeyCache) string {
	id := "test" + rand.Text()
	t.Cleanup(func() { _ = kc.Forget(id) })
	return id
}

func TestKernelKeyCache(t *testing.T) {
	kc := kernelKeyCacheOrSkip(t)
	id := testStoreID(t, kc)
	if _, err := kc.Load(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load before Save = %v, want ErrNotFound", err)
	}
	for _, key := range [][]byte{bytes.Repeat([]byte{1}, keySize), bytes.Repeat([]byte{2}, keySize)} {
		if err := kc.Save(id, key, time.Hour); err != nil {
			t.Fatal(err)
		}
		if got, err := kc.Load(id); err != nil || !bytes.Equal(got, key) {
			t.Fatalf("Load = %x, %v; want %x", got, err, key)
		}
	}
	if err := kc.Forget(id); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Load(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Forget = %v, want ErrNotFound", err)
	}
	if err := kc.Forget(id); err != nil {
		t.Errorf("Forget of a forgotten key: %v", err)
	}
}

func TestKernelKeyCacheAcrossProcesses(t *testing.T) {
	kc := kernelKeyCacheOrSkip(t)
	id := testStoreID(t, kc)
	key := bytes.Repeat([]byte{0xab}, keySize)
	if err := kc.Save(id, key, time.Hour); err != nil {
		t.Fatal(err)
	}
	out, err := child(t, "keyload", "STORE_ID="+id).CombinedOutput()
	if err != nil {
		t.Fatalf("child Load: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != hex.EncodeToString(key) {
		t.Errorf("child loaded %s, want %x", got, key)
	}
}

func TestKernelKeyCacheExpires(t *testing.T) {
	kc := kernelKeyCacheOrSkip(t)
	id := testStoreID(t, kc)
	// The kernel counts whole seconds, so a key lives between ttl-1s and ttl.
	if err := kc.Save(id, []byte("k"), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Load(id); err != nil {
		t.Fatalf("Load right after Save: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := kc.Load(id)
		if errors.Is(err, ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("key saved for 3s still loads after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKernelKeyCachePermissions(t *testing.T) {
	kc := kernelKeyCacheOrSkip(t)
	id := testStoreID(t, kc)
	if err := kc.Save(id, []byte("k"), time.Hour); err != nil {
		t.Fatal(err)
	}
	kid, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", keyDescPrefix+id, 0)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, kid)
	if err != nil {
		t.Fatal(err)
	}
	// type;uid;gid;perm;description
	if f := strings.Split(desc, ";"); len(f) < 5 || f[3] != "3f3f0000" {
		t.Errorf("key description %q, want permissions 3f3f0000 (possessor and user only)", desc)
	}
}

func TestFileStoreWithKernelKeyCache(t *testing.T) {
	kc := kernelKeyCacheOrSkip(t)
	opts := FileOptions{Dir: filepath.Join(t.TempDir(), "store"), Passphrase: passphrase(testPass), KeyCache: kc, KDF: testKDF}
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = LockStore(opts.Dir, kc) })
	if err := s.Put("a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	opts.Passphrase = noPrompt(t)
	s, err = OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !s.KeyCached() {
		t.Error("KeyCached() = false on the second open")
	}
	if got, err := s.Get("a"); err != nil || string(got) != "1" {
		t.Errorf("Get = %q, %v", got, err)
	}
}
