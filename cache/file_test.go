package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFileStoreOperations(t *testing.T) {
	type op struct {
		do      string // "put", "get" or "delete"
		key     string
		value   string // put: value to store; get: value expected
		wantErr error  // get: expected error
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"get missing", []op{{do: "get", key: "a", wantErr: ErrNotFound}}},
		{"round trip", []op{{do: "put", key: "a", value: "1"}, {do: "get", key: "a", value: "1"}}},
		{"replace", []op{
			{do: "put", key: "a", value: "1"}, {do: "put", key: "a", value: "2"}, {do: "get", key: "a", value: "2"},
		}},
		{"keys are distinct", []op{
			{do: "put", key: "a", value: "1"}, {do: "put", key: "b", value: "2"},
			{do: "get", key: "a", value: "1"}, {do: "get", key: "b", value: "2"},
		}},
		{"delete", []op{
			{do: "put", key: "a", value: "1"}, {do: "delete", key: "a"}, {do: "get", key: "a", wantErr: ErrNotFound},
		}},
		{"delete missing", []op{{do: "delete", key: "a"}}},
		{"empty value", []op{{do: "put", key: "a", value: ""}, {do: "get", key: "a", value: ""}}},
		{"odd key", []op{
			{do: "put", key: "../x/\x00y\n%", value: "1"}, {do: "get", key: "../x/\x00y\n%", value: "1"},
		}},
		{"large value", []op{
			{do: "put", key: "a", value: strings.Repeat("x", 1<<20)}, {do: "get", key: "a", value: strings.Repeat("x", 1<<20)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			for i, o := range tt.ops {
				switch o.do {
				case "put":
					if err := s.Put(o.key, []byte(o.value)); err != nil {
						t.Fatalf("op %d: %v", i, err)
					}
				case "delete":
					if err := s.Delete(o.key); err != nil {
						t.Fatalf("op %d: %v", i, err)
					}
				case "get":
					got, err := s.Get(o.key)
					if !errors.Is(err, o.wantErr) {
						t.Fatalf("op %d: Get error = %v, want %v", i, err, o.wantErr)
					}
					if err == nil && string(got) != o.value {
						t.Fatalf("op %d: Get = %.20q…, want %.20q…", i, got, o.value)
					}
				}
			}
		})
	}
}

func TestFileStoreBackend(t *testing.T) {
	if got := newTestStore(t).Backend(); got != "file" {
		t.Errorf("Backend() = %q, want file", got)
	}
}

// prompt records passphrase requests.
type prompt struct {
	Confirm bool
	Prompt  string
}

func recordingPassphrase(pass string, log *[]prompt) func(string, bool) (string, error) {
	return func(p string, confirm bool) (string, error) {
		*log = append(*log, prompt{Confirm: confirm, Prompt: p})
		return pass, nil
	}
}

func TestFileStoreReopen(t *testing.T) {
	t.Run("without key cache every open asks", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		var prompts []prompt
		opts := FileOptions{Dir: dir, Passphrase: recordingPassphrase(testPass, &prompts), KDF: testKDF}
		s, err := OpenFile(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Put("a", []byte("1")); err != nil {
			t.Fatal(err)
		}
		s, err = OpenFile(opts)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get("a"); err != nil || string(got) != "1" {
			t.Errorf("Get after reopen = %q, %v", got, err)
		}
		if s.KeyCached() {
			t.Error("KeyCached() = true without a key cache")
		}
		want := []prompt{
			{Confirm: true, Prompt: PromptNewPassphrase},
			{Confirm: false, Prompt: PromptPassphrase},
		}
		if diff := cmp.Diff(want, prompts); diff != "" {
			t.Errorf("prompts (-want +got):\n%s", diff)
		}
	})
	t.Run("cached key skips the passphrase until LockStore", func(t *testing.T) {
		ts := newTestStore(t)
		if ts.KeyCached() {
			t.Error("KeyCached() = true for a store just created")
		}
		if err := ts.Put("a", []byte("1")); err != nil {
			t.Fatal(err)
		}
		s := ts.reopen(t)
		if !s.KeyCached() {
			t.Error("KeyCached() = false after reopening with the key cached")
		}
		if got, err := s.Get("a"); err != nil || string(got) != "1" {
			t.Errorf("Get after reopen = %q, %v", got, err)
		}
		if err := LockStore(ts.opts.Dir, ts.opts.KeyCache); err != nil {
			t.Fatal(err)
		}
		var prompts []prompt
		opts := ts.opts
		opts.Passphrase = recordingPassphrase(testPass, &prompts)
		if s, err := OpenFile(opts); err != nil || s.KeyCached() {
			t.Fatalf("open after LockStore: KeyCached %v, %v", s != nil && s.KeyCached(), err)
		}
		if len(prompts) != 1 {
			t.Errorf("open after LockStore asked %d times, want 1", len(prompts))
		}
		ts.reopen(t) // cached again
	})
	t.Run("stale cached key is replaced", func(t *testing.T) {
		ts := newTestStore(t)
		m, err := readMeta(ts.opts.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.opts.KeyCache.Save(m.ID, bytes.Repeat([]byte{7}, keySize), time.Hour); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFile(ts.opts)
		if err != nil {
			t.Fatal(err)
		}
		if s.KeyCached() {
			t.Error("KeyCached() = true with a stale key")
		}
		if !ts.reopen(t).KeyCached() {
			t.Error("the right key was not cached after unlocking")
		}
	})
}

func TestFileStorePassphraseErrors(t *testing.T) {
	ts := newTestStore(t)
	tests := []struct {
		name       string
		passphrase func(string, bool) (string, error)
		wantIs     error
		wantText   string
	}{
		{"wrong", passphrase("not the passphrase"), ErrWrongPassphrase, "wrong passphrase"},
		{"empty", passphrase(""), nil, "empty passphrase"},
		{"source fails", func(string, bool) (string, error) { return "", errors.New("no tty") }, nil, "no tty"},
		{"no source", nil, nil, "no passphrase source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ts.opts
			opts.KeyCache = nil
			opts.Passphrase = tt.passphrase
			_, err := OpenFile(opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("OpenFile error = %v, want one containing %q", err, tt.wantText)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("OpenFile error = %v, want errors.Is %v", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), "not the passphrase") {
				t.Errorf("error reveals the passphrase: %v", err)
			}
		})
	}
}

// TestFileStorePassphraseAttempts: a person who mistypes the passphrase is
// asked again, up to PassphraseAttempts; a script (one attempt) is not.
func TestFileStorePassphraseAttempts(t *testing.T) {
	ts := newTestStore(t)
	answers := func(list ...string) (func(string, bool) (string, error), *[]string) {
		var asked []string
		return func(prompt string, _ bool) (string, error) {
			asked = append(asked, prompt)
			if len(asked) > len(list) {
				return "", errors.New("asked once too often")
			}
			return list[len(asked)-1], nil
		}, &asked
	}
	tests := []struct {
		name      string
		attempts  int
		answers   []string
		wantErr   error
		wantAsked []string
	}{
		{"script: one try", 0, []string{"typo", testPass}, ErrWrongPassphrase, []string{PromptPassphrase}},
		{"person: second try", 3, []string{"typo", testPass}, nil, []string{PromptPassphrase, PromptPassphraseAgain}},
		{"person: three wrong", 3, []string{"a", "b", "c", testPass}, ErrWrongPassphrase,
			[]string{PromptPassphrase, PromptPassphraseAgain, PromptPassphraseAgain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ts.opts
			opts.KeyCache = nil
			opts.PassphraseAttempts = tt.attempts
			var asked *[]string
			opts.Passphrase, asked = answers(tt.answers...)
			s, err := OpenFile(opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("OpenFile error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantAsked, *asked); diff != "" {
				t.Errorf("prompts (-want +got):\n%s", diff)
			}
			if err == nil {
				if _, err := s.Get("missing"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get after unlock = %v, want ErrNotFound", err)
				}
			}
		})
	}
}

func TestFileStoreRefusesWeakKDF(t *testing.T) {
	tests := []KDFParams{
		{Time: 1, MemoryKiB: minKDFMemoryKiB, Threads: 1},
		{Time: 2, MemoryKiB: 8 * 1024, Threads: 1},
		{Time: 2, MemoryKiB: minKDFMemoryKiB, Threads: 0},
	}
	for _, p := range tests {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			_, err := OpenFile(FileOptions{Dir: t.TempDir(), Passphrase: passphrase(testPass), KDF: p})
			if err == nil || !strings.Contains(err.Error(), "argon2id") {
				t.Errorf("OpenFile error = %v, want a KDF parameter error", err)
			}
		})
	}
}

// entryFiles lists the entry files of the store in dir.
func entryFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"+entrySuffix))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFileStoreCorruptEntry(t *testing.T) {
	tests := []struct {
		name   string
		damage func([]byte) []byte
		reason string
	}{
		{"empty", func([]byte) []byte { return nil }, "empty"},
		{"truncated header", func(b []byte) []byte { return b[:5] }, "truncated"},
		{"truncated tag", func(b []byte) []byte { return b[:len(b)-1] }, "authentication failed"},
		{"flipped bit", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, "authentication failed"},
		{"unknown version", func(b []byte) []byte { b[0] = 9; return b }, "unsupported format version 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			if err := s.Put("a", []byte("some value")); err != nil {
				t.Fatal(err)
			}
			path := entryFiles(t, s.opts.Dir)[0]
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = s.Get("a")
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Get error = %v, want a *CorruptError", err)
			}
			if ce.Path != path || !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("CorruptError = %+v, want path %s and reason containing %q", ce, path, tt.reason)
			}
			if msg := err.Error(); !strings.Contains(msg, "corrupt") || !strings.Contains(msg, path) {
				t.Errorf("error %q does not say that %s is corrupt", msg, path)
			}
			if err := s.Put("a", []byte("fresh")); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get("a"); err != nil || string(got) != "fresh" {
				t.Errorf("Get after rewriting = %q, %v", got, err)
			}
		})
	}
}

func TestFileStoreRejectsSwappedEntries(t *testing.T) {
	s := newTestStore(t)
	for _, k := range []string{"a", "b"} {
		if err := s.Put(k, []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(s.entryPath("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.entryPath("a"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := s.Get("a"); !errors.As(err, &ce) {
		t.Errorf("Get of a swapped entry: %v, want a *CorruptError", err)
	}
}

func TestFileStoreCorruptMeta(t *testing.T) {
	// edit rewrites a field of a valid metadata file.
	edit := func(f func(m *metadata)) func([]byte) []byte {
		return func(b []byte) []byte {
			m, err := parseMeta(b)
			if err != nil {
				panic(err)
			}
			f(&m)
			return m.encode()
		}
	}
	tests := []struct {
		name   string
		damage func([]byte) []byte
		reason string
	}{
		{"empty", func([]byte) []byte { return nil }, "malformed record"},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "malformed record"},
		{"garbage", func([]byte) []byte { return []byte("\x00\xffnot a store") }, "malformed record"},
		{"future version", edit(func(m *metadata) { m.Version = 3 }), "unsupported format version 3"},
		{"unknown guardian", edit(func(m *metadata) { m.Guardian = "floppy" }), `unknown guardian "floppy"`},
		{"sealed key cut", edit(func(m *metadata) { m.Wrapped = m.Wrapped[:10] }), "invalid sealed key length 10"},
		{"bad id", edit(func(m *metadata) { m.ID = "../../x" }), "invalid store id"},
		{"unknown kdf", edit(func(m *metadata) { m.KDF.Name = "pbkdf2" }), `unsupported kdf "pbkdf2"`},
		{"weak kdf", edit(func(m *metadata) { m.KDF.Time = 1 }), "argon2id time 1"},
		{"huge memory", edit(func(m *metadata) { m.KDF.MemoryKiB = 1 << 31 }), "argon2id memory"},
		{"short salt", edit(func(m *metadata) { m.KDF.Salt = []byte{1, 2, 3} }), "invalid salt length"},
		{"no verifier", edit(func(m *metadata) { m.Verifier = nil }), "invalid verifier length 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			path := filepath.Join(s.opts.Dir, metaName)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = OpenFile(s.opts)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("OpenFile error = %v, want a *CorruptError", err)
			}
			if ce.Path != path || !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("CorruptError = %+v, want path %s and reason containing %q", ce, path, tt.reason)
			}
		})
	}
}

func TestFileStorePermissions(t *testing.T) {
	s := newTestStore(t)
	if err := s.Put("a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{s.opts.Dir: 0o700, filepath.Join(s.opts.Dir, metaName): 0o600}
	for _, f := range entryFiles(t, s.opts.Dir) {
		want[f] = 0o600
	}
	got := map[string]os.FileMode{}
	for path := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		got[path] = fi.Mode().Perm()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
	if len(want) != 3 {
		t.Errorf("found %d entry files, want 1", len(want)-2)
	}
}

func TestFileStoreRefusesUnsafeDir(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, base string) string
	}{
		{"symlink", func(t *testing.T, base string) string {
			link := filepath.Join(base, "link")
			if err := os.Symlink(mkdir(t, base, 0o700), link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{"world-writable", func(t *testing.T, base string) string { return mkdir(t, base, 0o777) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			_, err := OpenFile(FileOptions{Dir: dir, Passphrase: noPrompt(t), KDF: testKDF})
			var ue *UnsafePathError
			if !errors.As(err, &ue) || ue.Path != dir {
				t.Errorf("OpenFile = %v, want an *UnsafePathError for %s", err, dir)
			}
		})
	}
}

// assertStoreFiles checks that dir holds only the metadata, entry and lock
// files: every write was renamed into place.
func assertStoreFiles(t *testing.T, dir string, entries int) {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	n := 0
	for _, e := range names {
		switch name := e.Name(); {
		case strings.HasSuffix(name, entrySuffix):
			n++
		case name != metaName && !strings.HasSuffix(name, ".lock"):
			got = append(got, name)
		}
	}
	if len(got) > 0 {
		t.Errorf("unexpected files in the store: %q", got)
	}
	if n != entries {
		t.Errorf("store holds %d entries, want %d", n, entries)
	}
}

func TestFileStoreConcurrentGoroutines(t *testing.T) {
	ts := newTestStore(t)
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		// Half the workers use a store of their own, as another caller
		// of OpenFile in the same process would.
		s := ts.FileStore
		if w%2 == 1 {
			s = ts.reopen(t)
		}
		wg.Go(func() {
			for i := range rounds {
				v := []byte(fmt.Sprintf("w%d-%d", w, i))
				if err := s.Put(string(v[:2]), v); err != nil {
					t.Error(err)
					return
				}
				if err := s.Put("shared", v); err != nil {
					t.Error(err)
					return
				}
				if got, err := s.Get(string(v[:2])); err != nil || !bytes.Equal(got, v) {
					t.Errorf("Get = %q, %v; want %q", got, err, v)
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		want := fmt.Sprintf("w%d-%d", w, rounds-1)
		if got, err := ts.Get(want[:2]); err != nil || string(got) != want {
			t.Errorf("Get(%q) = %q, %v; want %q", want[:2], got, err, want)
		}
	}
	if got, err := ts.Get("shared"); err != nil || !strings.HasSuffix(string(got), fmt.Sprintf("-%d", rounds-1)) {
		t.Errorf("Get(shared) = %q, %v; want some worker's last value", got, err)
	}
	assertStoreFiles(t, ts.opts.Dir, workers+1)
}

func TestFileStoreConcurrentProcesses(t *testing.T) {
	ts := newTestStore(t)
	const procs, rounds = 4, 20
	var cmds []*exec.Cmd
	for p := range procs {
		cmds = append(cmds, child(t, "put", append(ts.childEnv(), fmt.Sprintf("PREFIX=p%d", p), fmt.Sprintf("COUNT=%d", rounds))...))
	}
	runAll(t, cmds)
	var lasts []string
	for p := range procs {
		for i := range rounds {
			k := fmt.Sprintf("p%d-%d", p, i)
			if got, err := ts.Get(k); err != nil || string(got) != k {
				t.Errorf("Get(%q) = %q, %v", k, got, err)
			}
		}
		lasts = append(lasts, fmt.Sprintf("p%d-%d", p, rounds-1))
	}
	if got, err := ts.Get("shared"); err != nil || !slices.Contains(lasts, string(got)) {
		t.Errorf("Get(shared) = %q, %v; want one of %q", got, err, lasts)
	}
	assertStoreFiles(t, ts.opts.Dir, procs*rounds+1)
}

func TestFileStoreCreateRace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	const procs = 4
	var cmds []*exec.Cmd
	for p := range procs {
		cmds = append(cmds, child(t, "create", "STORE_DIR="+dir, fmt.Sprintf("PREFIX=%d", p)))
	}
	runAll(t, cmds)
	// Had two processes each published a store, the others' entries would
	// not decrypt with the one metadata file left.
	s, err := OpenFile(FileOptions{Dir: dir, Passphrase: passphrase(testPass)})
	if err != nil {
		t.Fatal(err)
	}
	for p := range procs {
		k := fmt.Sprintf("created-%d", p)
		if got, err := s.Get(k); err != nil || string(got) != fmt.Sprint(p) {
			t.Errorf("Get(%q) = %q, %v", k, got, err)
		}
	}
	assertStoreFiles(t, dir, procs)
}

// A burst of processes that all find the key missing from the cache runs
// the KDF once: the first unlocks and caches, the others wait and reuse it.
func TestFileStoreUnlockBurstDerivesOnce(t *testing.T) {
	root := t.TempDir()
	dir, keys, asks := filepath.Join(root, "store"), filepath.Join(root, "keys"), filepath.Join(root, "asks")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(FileOptions{Dir: dir, Passphrase: passphrase(testPass), KDF: testKDF})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	const procs = 6
	var cmds []*exec.Cmd
	for range procs {
		cmds = append(cmds, child(t, "unlockcount", "STORE_DIR="+dir, "KEY_DIR="+keys, "ASKS="+asks))
	}
	runAll(t, cmds)
	data, err := os.ReadFile(asks)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "ask\n"); n != 1 {
		t.Fatalf("%d processes asked for the passphrase (ran the KDF) %d times, want 1", procs, n)
	}
}

func TestLockStore(t *testing.T) {
	root := t.TempDir()
	dir, keys := filepath.Join(root, "store"), fileKeyCache{root}
	if err := LockStore(dir, keys); err != nil {
		t.Fatalf("LockStore of a missing store: %v", err)
	}
	if _, err := OpenFile(FileOptions{Dir: dir, Passphrase: passphrase(testPass), KeyCache: keys, KDF: testKDF}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(FileOptions{Dir: dir, Passphrase: noPrompt(t), KeyCache: keys})
	if err != nil || !s.KeyCached() {
		t.Fatalf("second open: cached=%v err=%v, want the cached key", s != nil && s.KeyCached(), err)
	}
	if err := LockStore(dir, keys); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(FileOptions{Dir: dir, Passphrase: passphrase("wrong"), KeyCache: keys})
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("open after LockStore with a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
}

// TestFileStoreSweepsAbandonedTemporaries guards issue #5 item 3 (nothing a crash leaves behind
// piles up): unlocking with the passphrase removes temporary files older than abandonedAge and
// leaves younger ones, which may belong to a write in progress.
func TestFileStoreSweepsAbandonedTemporaries(t *testing.T) {
	ts := newTestStore(t)
	now := time.Now()
	old := filepath.Join(ts.opts.Dir, ".abc.entry.tmp-123")
	young := filepath.Join(ts.opts.Dir, ".abc.entry.tmp-456")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("half a write"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, now.Add(-2*abandonedAge), now.Add(-2*abandonedAge)); err != nil {
		t.Fatal(err)
	}
	// A hit through the cached key sweeps nothing.
	ts.reopen(t)
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("a cache hit swept: %v", err)
	}
	opts := ts.opts
	opts.KeyCache, opts.Now = nil, func() time.Time { return now }
	if _, err := OpenFile(opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("abandoned temporary file still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temporary file removed: %v", err)
	}
}
