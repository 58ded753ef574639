//go:build linux

package cache

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/testkeyring"
	"golang.org/x/sys/unix"
)

// The backend conformance suite (issue #5, item 1; the reference's storage): one behavioural
// test, run against every backend this machine can host. The file store and
// the kernel keyring run in this process; a Secret Service and pass need a
// daemon or a GPG home in their environment from the start (the D-Bus
// library keeps one session connection per process), so for them this test
// binary runs again, inside that environment, with conformanceBackendEnv
// naming the backend.
const (
	conformanceBackendEnv = "GCORE_CONFORMANCE_BACKEND"
	conformanceRolePrefix = "conformance-"
	// conformanceTimeout bounds each keyring operation in the suite: long
	// enough for gpg on a loaded machine, short enough that the locked and
	// unreachable cases end quickly.
	conformanceTimeout = 10 * time.Second
)

// TestBackendConformance guards the reference's storage and issue #5 item 1: every backend
// stores, reads back, replaces and deletes; keeps odd keys apart; survives a
// new process; serves concurrent readers whole values while a writer
// replaces them; holds large values (split where the backend caps items);
// and, locked or unreachable, fails with ErrUnavailable in bounded time and
// loses nothing.
func TestBackendConformance(t *testing.T) {
	if backend := os.Getenv(conformanceBackendEnv); backend != "" {
		runConformance(t, backend, os.Getenv)
		return
	}
	t.Run("file", func(t *testing.T) {
		base := t.TempDir()
		runConformance(t, "file", overlay(os.Getenv, map[string]string{
			"STORE_DIR": filepath.Join(base, "store"), "KEYCACHE_DIR": base,
		}))
	})
	t.Run("keyctl", func(t *testing.T) {
		if _, err := NewKernelKeyCache(); err != nil {
			testkeyring.Unavailable(t, "keyctl", err)
		}
		service := uniqueService(t)
		t.Cleanup(func() { forgetKeyctlRing(service) })
		runConformance(t, "keyctl", overlay(os.Getenv, map[string]string{"SERVICE": service}))
	})
	t.Run("secret-service", func(t *testing.T) {
		ss, err := testkeyring.StartSecretService(t)
		if err != nil {
			testkeyring.Unavailable(t, "secret-service", err)
		}
		rerun(t, "secret-service", append(ss.Env(), "SERVICE="+uniqueService(t), "KEYRING_PASSWORD="+ss.Password)...)
	})
	t.Run("kwallet", func(t *testing.T) {
		service := uniqueService(t)
		kw, err := testkeyring.StartKWallet(t, service)
		if err != nil {
			testkeyring.Unavailable(t, "kwallet", err)
		}
		rerun(t, "kwallet", append(kw.Env(), "SERVICE="+service)...)
	})
	t.Run("pass", func(t *testing.T) {
		env, err := testkeyring.Pass(t)
		if err != nil {
			testkeyring.Unavailable(t, "pass", err)
		}
		rerun(t, "pass", append(env, "SERVICE="+uniqueService(t))...)
	})
}

// rerun runs TestBackendConformance for backend in a new process of this test
// binary with env added, and fails t if it fails or skips.
func rerun(t *testing.T, backend string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBackendConformance$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), conformanceBackendEnv+"="+backend), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s suite in its own process:\n%s", backend, out)
	if err != nil {
		t.Fatalf("%s suite failed: %v", backend, err)
	}
	if bytes.Contains(out, []byte("--- SKIP")) {
		t.Fatalf("%s suite skipped cases", backend)
	}
}

func uniqueService(t *testing.T) string {
	return "gcore-credential-helper-test-" + strings.ToLower(rand.Text()[:10])
}

// forgetKeyctlRing drops the test's keyring from the user keyring, which
// outlives the test.
func forgetKeyctlRing(service string) {
	if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", service, 0); err == nil {
		_, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
	}
}

// overlay reads vars first, then base.
func overlay(base func(string) string, vars map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return base(k)
	}
}

// openConformanceStore opens backend as env describes: STORE_DIR and
// KEYCACHE_DIR for the file store, SERVICE for the keyrings, PASSPHRASE to
// unlock the file store with another passphrase than testPass. With
// GUARD_DIR it opens instead the encrypted store there whose key the keyring
// backend keeps (see guardedOptions).
func openConformanceStore(backend string, env func(string) string) (Store, error) {
	if env("GUARD_DIR") != "" {
		return OpenFile(guardedOptions(backend, env))
	}
	if backend == "file" {
		pass := testPass
		if p := env("PASSPHRASE"); p != "" {
			pass = p
		}
		return OpenFile(FileOptions{Dir: env("STORE_DIR"), Passphrase: passphrase(pass), KeyCache: fileKeyCache{dir: env("KEYCACHE_DIR")}, KDF: testKDF})
	}
	return OpenKeyring(backend, KeyringOptions{ServiceName: env("SERVICE"), Env: env, Timeout: conformanceTimeout})
}

// guardedOptions open the store in GUARD_DIR, its key kept by the keyring
// backend and cached in KEYCACHE_DIR; no passphrase may be asked.
func guardedOptions(backend string, env func(string) string) FileOptions {
	return FileOptions{
		Dir: env("GUARD_DIR"), Guardian: backend, KeyCache: fileKeyCache{dir: env("KEYCACHE_DIR")},
		KeyringOptions: KeyringOptions{ServiceName: env("SERVICE"), Env: env, Timeout: conformanceTimeout},
		Passphrase:     func(string, bool) (string, error) { return "", errors.New("a guarded store asked for a passphrase") },
	}
}

// conformance is one run of the suite: the backend, how to open it, and the
// environment a child process needs to open the same store.
type conformance struct {
	backend string
	env     func(string) string
	vars    []string // for children: the variables the store is opened by
}

func runConformance(t *testing.T, backend string, env func(string) string) {
	c := conformance{backend: backend, env: env}
	for _, k := range []string{"STORE_DIR", "KEYCACHE_DIR", "SERVICE"} {
		if v := env(k); v != "" {
			c.vars = append(c.vars, k+"="+v)
		}
	}
	s := c.open(t)
	if s.Backend() != backend {
		t.Errorf("Backend() = %q, want %q", s.Backend(), backend)
	}
	t.Run("contract", func(t *testing.T) { conformContract(t, s) })
	t.Run("odd keys stay apart", func(t *testing.T) { conformKeys(t, s) })
	t.Run("binary and large values", func(t *testing.T) { conformValues(t, s) })
	t.Run("split values", func(t *testing.T) { conformSplit(t, s) })
	t.Run("another process", func(t *testing.T) { c.conformProcesses(t, s) })
	t.Run("readers and a writer", func(t *testing.T) { c.conformConcurrent(t, s) })
	if backend != "file" {
		t.Run("guarding a store", func(t *testing.T) { c.conformGuardian(t) })
	}
	// Last: KWallet's closed wallet cannot be reopened here.
	t.Run("locked or unreachable", func(t *testing.T) { c.conformUnavailable(t, s) })
	t.Logf("conformance suite ran on backend %s", backend)
}

func (c conformance) open(t *testing.T) Store {
	t.Helper()
	s, err := openConformanceStore(c.backend, c.env)
	if err != nil {
		t.Fatalf("open %s: %v", c.backend, err)
	}
	return s
}

const conformKey = "session/https://api.gcore.com/me@example.com/0/default"

func conformContract(t *testing.T, s Store) {
	mustBeGone(t, s, conformKey)
	if err := s.Delete(conformKey); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	for _, v := range []string{"one", "two, replacing one"} {
		mustPut(t, s, conformKey, []byte(v))
		mustGet(t, s, conformKey, []byte(v))
	}
	if err := s.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, s, conformKey)
}

func conformKeys(t *testing.T, s Store) {
	keys := []string{
		conformKey, "session/https://api.gcore.com/me@example.com/1/default",
		"a/../b", "a%2F..%2Fb", ".hidden", "with space", "ключ", "tab\there",
		`back\slash`, strings.Repeat("long", 50),
	}
	for i, k := range keys {
		mustPut(t, s, k, []byte("value "+strconv.Itoa(i)))
	}
	for i, k := range keys {
		mustGet(t, s, k, []byte("value "+strconv.Itoa(i)))
	}
	for _, k := range keys {
		if err := s.Delete(k); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
		mustBeGone(t, s, k)
	}
}

// largeValue is bigger than a cluster's kubeconfig and than Windows'
// 2560-byte item, and small enough for a non-root user's kernel key quota.
const largeValue = 12 << 10

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func conformValues(t *testing.T, s Store) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	for name, v := range map[string][]byte{"every byte": every, "large": randomBytes(t, largeValue)} {
		mustPut(t, s, conformKey, v)
		mustGet(t, s, conformKey, v)
		t.Logf("%s value (%d bytes) read back", name, len(v))
	}
	if err := s.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
}

// conformSplit stores values over a small item limit, as on Windows, on the
// real backend: replaced and deleted values leave no parts behind.
func conformSplit(t *testing.T, s Store) {
	const limit = 1024
	// Split the backend's own items: keyctl's store already splits at its
	// kernel limit, and a split store over it could not list the keyring.
	if c, ok := s.(chunkedStore); ok {
		s = c.Store
	}
	split := newChunkedStore(s, limit)
	big, bigger := randomBytes(t, largeValue), randomBytes(t, largeValue+limit)
	mustPut(t, split, conformKey, big)
	mustGet(t, split, conformKey, big)
	oldParts := partKeys(t, s, conformKey)
	if len(oldParts) != largeValue/limit {
		t.Errorf("%d parts for %d bytes in items of %d", len(oldParts), largeValue, limit)
	}
	mustPut(t, split, conformKey, bigger)
	mustGet(t, split, conformKey, bigger)
	for _, k := range oldParts {
		mustBeGone(t, s, k)
	}
	newParts := partKeys(t, s, conformKey)
	mustPut(t, split, conformKey, []byte("small again"))
	mustGet(t, s, conformKey, []byte("small again"))
	for _, k := range newParts {
		mustBeGone(t, s, k)
	}
	mustPut(t, split, conformKey, big)
	lastParts := partKeys(t, s, conformKey)
	if err := split.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
	for _, k := range append(lastParts, conformKey) {
		mustBeGone(t, s, k)
	}

	// A writer that died after its parts and before its head left parts no
	// head names; deleting the value deletes them too where the backend can
	// list its items.
	if _, ok := s.(keyLister); !ok {
		t.Logf("%s cannot list its items: stray parts stay until overwritten", s.Backend())
		return
	}
	stray := (chunkHead{digest: valueDigest(bigger)}).partKey(conformKey, 1)
	mustPut(t, s, stray, randomBytes(t, limit))
	if err := split.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
	mustBeGone(t, s, stray)
}

// partKeys names the parts key's head points to in s.
func partKeys(t *testing.T, s Store, key string) []string {
	t.Helper()
	item, err := s.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	h, ok, err := parseChunkHead(item)
	if !ok || err != nil {
		t.Fatalf("%q holds no head: %v", key, err)
	}
	var keys []string
	for i := 1; i < h.parts; i++ {
		keys = append(keys, h.partKey(key, i))
	}
	return keys
}

// child runs a conformance role in a new process of this test binary, with
// this run's store variables and extra, and returns its stdout.
func (c conformance) child(t *testing.T, role string, extra ...string) (string, error) {
	t.Helper()
	cmd := child(t, conformanceRolePrefix+role, append(append([]string{conformanceBackendEnv + "=" + c.backend}, c.vars...), extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", role, err, stderr.String())
	}
	return string(out), nil
}

func (c conformance) conformProcesses(t *testing.T, s Store) {
	v := randomBytes(t, 300)
	mustPut(t, s, conformKey, v)
	out, err := c.child(t, "get", "KEY="+conformKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := "value " + hex.EncodeToString(v) + "\n"; out != want {
		t.Fatalf("another process read %.60q, want %.60q", out, want)
	}
	w := randomBytes(t, 300)
	if _, err := c.child(t, "put", "KEY="+conformKey, "VALUE="+hex.EncodeToString(w)); err != nil {
		t.Fatal(err)
	}
	mustGet(t, c.open(t), conformKey, w)
	if err := s.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
	if out, err := c.child(t, "get", "KEY="+conformKey); err != nil || out != "notfound\n" {
		t.Fatalf("another process after Delete: %q, %v; want notfound", out, err)
	}
}

// The concurrent case: one writer alternates two values, readers must only
// ever see one of them whole.
const (
	concurrentReaders = 3
	concurrentRounds  = 15
)

func concurrentValue(i int) []byte {
	if i%2 == 0 {
		return bytes.Repeat([]byte("A"), 4000)
	}
	return []byte("B")
}

func (c conformance) conformConcurrent(t *testing.T, s Store) {
	mustPut(t, s, conformKey, concurrentValue(0))
	outs := make([]string, concurrentReaders+1)
	errs := make([]error, concurrentReaders+1)
	var wg sync.WaitGroup
	for i := range outs {
		role := "readloop"
		if i == 0 {
			role = "putloop"
		}
		wg.Go(func() {
			outs[i], errs[i] = c.child(t, role, "KEY="+conformKey, "COUNT="+strconv.Itoa(concurrentRounds))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}
	t.Logf("writer: %q; readers: %q", outs[0], outs[1:])
	if err := s.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
}

func (c conformance) conformUnavailable(t *testing.T, s Store) {
	v := []byte("survives the outage")
	mustPut(t, s, conformKey, v)
	outages := c.outages(t) // name → the child's extra environment
	if c.backend == "file" {
		outages = map[string][]string{"wrong passphrase": {"KEYCACHE_DIR=" + t.TempDir(), "PASSPHRASE=not the passphrase"}}
	}
	for name, env := range outages {
		c.expectUnavailable(t, name, env...)
	}
	if c.backend == "secret-service" {
		ss := testkeyring.SecretService{Addr: c.env("DBUS_SESSION_BUS_ADDRESS"), Password: c.env("KEYRING_PASSWORD")}
		if err := ss.Lock(); err != nil {
			t.Fatal(err)
		}
		c.expectUnavailable(t, "locked collection")
		if err := ss.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	mustGet(t, c.open(t), conformKey, v)
	if err := s.Delete(conformKey); err != nil {
		t.Fatal(err)
	}
	if c.backend == "kwallet" {
		// Last, because it cannot be undone here: opening a closed wallet
		// asks for its password in a dialog, and kwalletd answers nothing
		// else while that dialog waits.
		kw := testkeyring.KWallet{Addr: c.env("DBUS_SESSION_BUS_ADDRESS")}
		if err := kw.Close(); err != nil {
			t.Fatal(err)
		}
		c.expectUnavailable(t, "closed wallet")
	}
}

// conformGuardian guards the reference's storage and issue #9 item 1 on a real keyring: it
// keeps the key of an encrypted store (one item, no passphrase); another
// process reads the store with the key cached, and, without it, by asking
// the keyring; in an outage the cached key still serves, and without it the
// store says which keyring to unlock, in bounded time, losing nothing.
func (c conformance) conformGuardian(t *testing.T) {
	dir, cached := filepath.Join(t.TempDir(), "store"), t.TempDir()
	vars := []string{"GUARD_DIR=" + dir, "KEYCACHE_DIR=" + cached}
	opts := guardedOptions(c.backend, overlay(c.env, map[string]string{"GUARD_DIR": dir, "KEYCACHE_DIR": cached}))
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ring, err := opts.keyring(c.backend); err == nil {
			_ = ring.Delete(keyItem(s.id))
		}
	})
	if s.Guardian() != c.backend {
		t.Fatalf("guardian %q, want %s", s.Guardian(), c.backend)
	}
	v := randomBytes(t, 2000)
	mustPut(t, s, conformKey, v)
	want := "value " + hex.EncodeToString(v) + "\n"
	read := func(what string, env ...string) {
		t.Helper()
		out, err := c.child(t, "get", append(append([]string{"KEY=" + conformKey}, vars...), env...)...)
		if err != nil || out != want {
			t.Errorf("%s: another process read %.60q, %v", what, out, err)
		}
	}
	read("with the key cached")
	read("asking the keyring", "KEYCACHE_DIR="+t.TempDir())
	for name, env := range c.outages(t) {
		read(name+", with the key cached", env...)
		start := time.Now()
		out, err := c.child(t, "get", append(append([]string{"KEY=" + conformKey}, vars...), append(env, "KEYCACHE_DIR="+t.TempDir())...)...)
		if err != nil || !strings.HasPrefix(out, "unavailable: the credential store in "+dir+" is locked: its key is kept by "+GuardianName(c.backend)) {
			t.Errorf("%s, no cached key: %.200q, %v; want the store locked, naming the keyring", name, out, err)
		}
		if took := time.Since(start); took > 3*conformanceTimeout {
			t.Errorf("%s: took %v", name, took)
		}
	}
	read("after the outages", "KEYCACHE_DIR="+t.TempDir())
}

// outages are the ways the backend can be unreachable for a process, as the
// extra environment of a child: no bus, a bus that never answers, a GPG key
// that is gone.
func (c conformance) outages(t *testing.T) map[string][]string {
	switch c.backend {
	case "secret-service":
		return map[string][]string{
			"no bus":       {"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")},
			"hung bus":     {"DBUS_SESSION_BUS_ADDRESS=unix:path=" + silentSocket(t)},
			"bus disabled": {"DBUS_SESSION_BUS_ADDRESS=disabled:"},
		}
	case "kwallet":
		return map[string][]string{"no bus": {"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")}}
	case "pass":
		return map[string][]string{"GPG key missing": {"GNUPGHOME=" + t.TempDir()}}
	}
	t.Log("the kernel keyring has no locked state, and is reachable wherever the suite runs")
	return nil
}

// expectUnavailable runs a reading child in an outage and wants a refusal
// that says so, within the keyring timeout and some slack for the process.
func (c conformance) expectUnavailable(t *testing.T, outage string, env ...string) {
	t.Helper()
	start := time.Now()
	out, err := c.child(t, "get", append([]string{"KEY=" + conformKey}, env...)...)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%s: %v", outage, err)
	}
	want := "unavailable"
	if c.backend == "file" {
		want = "wrong passphrase"
	}
	if !strings.HasPrefix(out, want) {
		t.Errorf("%s: child read %.80q, want %s", outage, out, want)
	}
	if took > 3*conformanceTimeout {
		t.Errorf("%s: took %v, want at most about %v", outage, took, conformanceTimeout)
	}
	t.Logf("%s: %q after %v", outage, strings.TrimSpace(out), took.Round(time.Millisecond))
}

// silentSocket is a unix socket that accepts connections and never answers,
// as a hung bus does.
func silentSocket(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "bus")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	return path
}

// runConformanceChild is a child process of the suite: it opens the store
// named by the environment and prints what it found.
func runConformanceChild(role string, env func(string) string) error {
	s, err := openConformanceStore(env(conformanceBackendEnv), env)
	if err != nil {
		fmt.Println(classify(err))
		return nil
	}
	key := env("KEY")
	n, _ := strconv.Atoi(env("COUNT"))
	switch strings.TrimPrefix(role, conformanceRolePrefix) {
	case "get":
		v, err := s.Get(key)
		if err != nil {
			fmt.Println(classify(err))
			return nil
		}
		fmt.Println("value " + hex.EncodeToString(v))
		return nil
	case "put":
		v, err := hex.DecodeString(env("VALUE"))
		if err != nil {
			return err
		}
		return s.Put(key, v)
	case "putloop":
		for i := range n {
			if err := s.Put(key, concurrentValue(i+1)); err != nil {
				return err
			}
		}
		fmt.Printf("%d writes\n", n)
		return nil
	case "readloop":
		for range n {
			v, err := s.Get(key)
			if err != nil {
				return fmt.Errorf("read during writes: %w", err)
			}
			if !bytes.Equal(v, concurrentValue(0)) && !bytes.Equal(v, concurrentValue(1)) {
				return fmt.Errorf("read a torn value of %d bytes", len(v))
			}
		}
		fmt.Printf("%d whole reads\n", n)
		return nil
	}
	return fmt.Errorf("unknown child role %q", role)
}

// classify names an error the way the suite's assertions expect.
func classify(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "notfound"
	case errors.Is(err, ErrWrongPassphrase):
		return "wrong passphrase: " + err.Error()
	case errors.Is(err, ErrUnavailable):
		return "unavailable: " + err.Error()
	}
	return "error: " + err.Error()
}
