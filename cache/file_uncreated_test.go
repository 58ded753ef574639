package cache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// onDemandOptions are the options of a store that does not exist yet, with
// no key cache, so every unlock would have to ask for the passphrase.
func onDemandOptions(t *testing.T, pass func(string, bool) (string, error)) FileOptions {
	return FileOptions{Dir: filepath.Join(t.TempDir(), "store"), Passphrase: pass, KDF: testKDF}
}

// TestOnDemandReadsNothingWithoutAStore guards exit 3 (the reference's exit codes) for someone
// who never logged in: without a store, reads find nothing and deletes do
// nothing, no passphrase is asked for and no store is created.
func TestOnDemandReadsNothingWithoutAStore(t *testing.T) {
	opts := onDemandOptions(t, noPrompt(t))
	s, err := OpenFileOnDemand(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	if err := s.Delete("k"); err != nil {
		t.Errorf("Delete = %v, want nil", err)
	}
	if s.Backend() != "file" {
		t.Errorf("Backend() = %q, want file", s.Backend())
	}
	if storeCreated(opts.Dir) {
		t.Error("reading created a store")
	}
}

// TestOnDemandCreatesOnFirstPut: the first Put creates the store with a new,
// confirmed passphrase, and an ordinary OpenFile reads the value back.
func TestOnDemandCreatesOnFirstPut(t *testing.T) {
	var confirmed bool
	opts := onDemandOptions(t, func(_ string, confirm bool) (string, error) {
		confirmed = confirmed || confirm
		return testPass, nil
	})
	s, err := OpenFileOnDemand(opts)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", []byte("v"))
	if !confirmed {
		t.Error("a new store's passphrase was not asked for with confirmation")
	}
	mustGet(t, s, "k", []byte("v"))
	opts.Passphrase = passphrase(testPass)
	again, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	mustGet(t, again, "k", []byte("v"))
}

// TestOnDemandSeesAStoreMadeMeanwhile: a store another process creates after
// this one looked is read, not shadowed by "nothing here".
func TestOnDemandSeesAStoreMadeMeanwhile(t *testing.T) {
	opts := onDemandOptions(t, passphrase(testPass))
	s, err := OpenFileOnDemand(opts)
	if err != nil {
		t.Fatal(err)
	}
	other, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, other, "k", []byte("from the other process"))
	mustGet(t, s, "k", []byte("from the other process"))
	if err := s.Delete("k"); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, other, "k")
}

// TestOnDemandExistingStoreIsOpenFile: once a store exists, opening on demand
// unlocks it at once, so a wrong passphrase is reported as OpenFile does.
func TestOnDemandExistingStoreIsOpenFile(t *testing.T) {
	opts := onDemandOptions(t, passphrase(testPass))
	if _, err := OpenFile(opts); err != nil {
		t.Fatal(err)
	}
	opts.Passphrase = passphrase("wrong")
	if _, err := OpenFileOnDemand(opts); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("OpenFileOnDemand with a wrong passphrase = %v, want ErrWrongPassphrase", err)
	}
}

// TestOnDemandRefusesUnsafeDir: the directory checks of OpenFile apply
// before anything is read.
func TestOnDemandRefusesUnsafeDir(t *testing.T) {
	dir := mkdir(t, t.TempDir(), 0o777)
	_, err := OpenFileOnDemand(FileOptions{Dir: dir, Passphrase: noPrompt(t), KDF: testKDF})
	var ue *UnsafePathError
	if !errors.As(err, &ue) {
		t.Errorf("OpenFileOnDemand in a world-writable dir = %v, want an *UnsafePathError", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files created in a refused dir: %v", entries)
	}
}

// TestPrepareWriteMakesTheStoreNow: PrepareWrite makes an uncreated store at
// once (so a login can ask for its passphrase before IAM), and fails, making
// nothing, when no passphrase can be had.
func TestPrepareWriteMakesTheStoreNow(t *testing.T) {
	type preparer interface{ PrepareWrite() error }
	opts := onDemandOptions(t, passphrase(testPass))
	s, err := OpenFileOnDemand(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(preparer).PrepareWrite(); err != nil {
		t.Fatal(err)
	}
	if !storeCreated(opts.Dir) {
		t.Fatal("PrepareWrite made no store")
	}
	fail := onDemandOptions(t, func(string, bool) (string, error) { return "", errors.New("no terminal") })
	u, err := OpenFileOnDemand(fail)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.(preparer).PrepareWrite(); err == nil || storeCreated(fail.Dir) {
		t.Errorf("PrepareWrite without a passphrase = %v, store made %v; want an error and no store", err, storeCreated(fail.Dir))
	}
}

// TestAbandonUnmakesOnlyAnEmptyStoreItMade: a store made for a login that
// then failed is removed with its key; a store that was there before, or
// that holds an entry, is kept.
func TestAbandonUnmakesOnlyAnEmptyStoreItMade(t *testing.T) {
	type preparer interface {
		PrepareWrite() error
		Abandon()
	}
	open := func(t *testing.T, opts FileOptions) preparer {
		t.Helper()
		s, err := OpenFileOnDemand(opts)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := s.(preparer)
		if !ok {
			t.Fatalf("OpenFileOnDemand on %s returned %T, want a store made on demand", opts.Dir, s)
		}
		return p
	}

	opts := onDemandOptions(t, passphrase(testPass))
	s := open(t, opts)
	if err := s.PrepareWrite(); err != nil {
		t.Fatal(err)
	}
	s.Abandon()
	if storeCreated(opts.Dir) {
		t.Error("Abandon kept the empty store it made")
	}
	if _, err := os.Stat(opts.Dir); err != nil {
		t.Errorf("Abandon removed the directory (and its lock files): %v", err)
	}

	// Made, then a value put: kept.
	s = open(t, opts)
	if err := s.PrepareWrite(); err != nil {
		t.Fatal(err)
	}
	if err := s.(Store).Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Abandon()
	if !storeCreated(opts.Dir) {
		t.Fatal("Abandon removed a store holding an entry")
	}

	// Made meanwhile by another process: kept even when empty.
	other := onDemandOptions(t, passphrase(testPass))
	late := open(t, other)
	if _, err := OpenFile(other); err != nil {
		t.Fatal(err)
	}
	if err := late.PrepareWrite(); err != nil {
		t.Fatal(err)
	}
	late.Abandon()
	if !storeCreated(other.Dir) {
		t.Error("Abandon removed a store another process made")
	}
}
