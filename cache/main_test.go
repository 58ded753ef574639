package cache

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// Child processes are this test binary re-executed with childEnv naming a
// role; their parameters travel in further environment variables.
const childEnv = "GCORE_CACHE_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(role, os.Getenv); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testKDF is the cheapest setting the reference allows.
var testKDF = KDFParams{Time: minKDFTime, MemoryKiB: minKDFMemoryKiB, Threads: 1}

const testPass = "correct horse battery staple"

func passphrase(p string) func(string, bool) (string, error) {
	return func(string, bool) (string, error) { return p, nil }
}

// noPrompt fails the test if the store asks for a passphrase.
func noPrompt(t *testing.T) func(string, bool) (string, error) {
	return func(prompt string, _ bool) (string, error) {
		t.Errorf("unexpected passphrase prompt %q", prompt)
		return "", errors.New("no passphrase in this test")
	}
}

// fileKeyCache is a KeyCache fake that child processes can share: one file
// per store id.
type fileKeyCache struct{ dir string }

func (c fileKeyCache) Load(id string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(c.dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(string(data))
}

func (c fileKeyCache) Save(id string, key []byte, _ time.Duration) error {
	return atomicfile.Write(filepath.Join(c.dir, id), []byte(hex.EncodeToString(key)), 0o600)
}

func (c fileKeyCache) Forget(id string) error {
	err := os.Remove(filepath.Join(c.dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// testStore is a store in a fresh directory whose key is already in a
// fileKeyCache, so further opens (also by children) skip the KDF.
type testStore struct {
	*FileStore
	opts FileOptions
}

func newTestStore(t *testing.T) testStore {
	t.Helper()
	base := t.TempDir()
	opts := FileOptions{
		Dir:        filepath.Join(base, "store"),
		Passphrase: passphrase(testPass),
		KeyCache:   fileKeyCache{dir: base},
		KDF:        testKDF,
	}
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	return testStore{FileStore: s, opts: opts}
}

// reopen opens the same store again through the key cache.
func (ts testStore) reopen(t *testing.T) *FileStore {
	t.Helper()
	opts := ts.opts
	opts.Passphrase = noPrompt(t)
	s, err := OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// childEnvFor tells a child how to open ts.
func (ts testStore) childEnv() []string {
	return []string{"STORE_DIR=" + ts.opts.Dir, "KEYCACHE_DIR=" + ts.opts.KeyCache.(fileKeyCache).dir}
}

// child prepares this test binary to run role with the extra environment.
func child(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	return cmd
}

// runAll starts all commands at once and waits for them, failing the test
// with each failure's stderr.
func runAll(t *testing.T, cmds []*exec.Cmd) {
	t.Helper()
	stderr := make([]bytes.Buffer, len(cmds))
	for i, cmd := range cmds {
		cmd.Stderr = &stderr[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, stderr[i].String())
		}
	}
}

// startReady starts cmd and waits until it prints "ready".
func startReady(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child did not get ready: %q, %v", line, err)
	}
}

// killLoopValue is what the putloop child writes in its i-th round: big
// values alternate with small ones, so a torn write could not go unnoticed.
func killLoopValue(i int) []byte {
	if i%2 == 1 {
		return []byte("B")
	}
	return bytes.Repeat([]byte("A"), 256<<10)
}

func runChild(role string, env func(string) string) error {
	openStore := func() (*FileStore, error) {
		return OpenFile(FileOptions{
			Dir:        env("STORE_DIR"),
			Passphrase: passphrase(testPass),
			KeyCache:   fileKeyCache{dir: env("KEYCACHE_DIR")},
			KDF:        testKDF,
		})
	}
	n, _ := strconv.Atoi(env("COUNT"))
	switch role {
	case "put":
		s, err := openStore()
		if err != nil {
			return err
		}
		p := env("PREFIX")
		for i := range n {
			v := []byte(fmt.Sprintf("%s-%d", p, i))
			if err := s.Put(string(v), v); err != nil {
				return err
			}
			if err := s.Put("shared", v); err != nil {
				return err
			}
		}
		return nil
	case "create":
		s, err := OpenFile(FileOptions{Dir: env("STORE_DIR"), Passphrase: passphrase(testPass), KDF: testKDF})
		if err != nil {
			return err
		}
		return s.Put("created-"+env("PREFIX"), []byte(env("PREFIX")))
	case "unlockcount":
		// Counts passphrase asks (each one is a KDF run) in the file ASKS.
		ask := func(string, bool) (string, error) {
			f, err := os.OpenFile(env("ASKS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				return "", err
			}
			defer f.Close()
			_, err = f.WriteString("ask\n")
			return testPass, err
		}
		s, err := OpenFile(FileOptions{Dir: env("STORE_DIR"), Passphrase: ask, KeyCache: fileKeyCache{env("KEY_DIR")}, KDF: testKDF})
		if err != nil {
			return err
		}
		_, err = s.Get("k")
		return err
	case "putloop":
		s, err := openStore()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		for i := 0; ; i++ {
			if err := s.Put("k", killLoopValue(i)); err != nil {
				return err
			}
		}
	case "deleteloop":
		// Deletes k over and over. A hard link of TEMPLATE, a copy of k's entry file, brings
		// it back at once, atomically and without a Put's fsyncs, so kills land in Delete.
		s, err := openStore()
		if err != nil {
			return err
		}
		fmt.Println("ready")
		for {
			if err := os.Link(env("TEMPLATE"), s.entryPath("k")); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := s.Delete("k"); err != nil {
				return err
			}
		}
	case "createonce":
		// Creates the store in the empty STORE_DIR, caching its key in KEYCACHE_DIR.
		fmt.Println("ready")
		_, err := openStore()
		return err
	case "lockcount":
		l := Locker{Dir: env("LOCK_DIR")}
		counter := env("COUNTER")
		for range n {
			unlock, err := l.Lock(context.Background(), "k")
			if err != nil {
				return err
			}
			data, err := os.ReadFile(counter)
			if err != nil {
				return err
			}
			c, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				return err
			}
			// Widen the window in which a second holder would be caught.
			time.Sleep(time.Millisecond)
			if err := os.WriteFile(counter, []byte(strconv.Itoa(c+1)), 0o600); err != nil {
				return err
			}
			unlock()
		}
		return nil
	case "lockhold":
		l := Locker{Dir: env("LOCK_DIR")}
		if _, err := l.Lock(context.Background(), "k"); err != nil {
			return err
		}
		fmt.Println("ready")
		time.Sleep(time.Minute)
		return nil
	default:
		if strings.HasPrefix(role, conformanceRolePrefix) {
			return runConformanceChild(role, env)
		}
		return runPlatformChild(role, env)
	}
}
