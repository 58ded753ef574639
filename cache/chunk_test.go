package cache

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
)

// mapStore is an in-memory Store that records the largest item written.
// beforeGet, when set, runs before each Get, outside the lock, so a test can
// interleave a writer at an exact point of a read.
type mapStore struct {
	mu        sync.Mutex
	items     map[string][]byte
	largest   int
	beforeGet func(key string)
}

func newMapStore() *mapStore { return &mapStore{items: map[string][]byte{}} }

func (m *mapStore) Get(key string) ([]byte, error) {
	if m.beforeGet != nil {
		m.beforeGet(key)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[key]
	if !ok {
		return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (m *mapStore) Put(key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[key] = bytes.Clone(value)
	m.largest = max(m.largest, len(value))
	return nil
}

func (m *mapStore) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
	return nil
}

func (m *mapStore) Backend() string { return "map" }

func (m *mapStore) keysWithPrefix(prefix string) ([]string, error) {
	return slices.DeleteFunc(m.keys(), func(k string) bool { return !strings.HasPrefix(k, prefix) }), nil
}

func (m *mapStore) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.items))
}

// TestChunkedStoreWindowsLimit guards issue #5 item 1 (Windows blobs cap at
// 2560 bytes): values of every size round-trip in items no larger than the
// limit, and replacing or deleting a value leaves only its own items.
func TestChunkedStoreWindowsLimit(t *testing.T) {
	const limit = 2560
	sizes := []int{0, 1, limit - chunkHeadLen, limit - 1, limit, limit + 1, 2*limit - chunkHeadLen, 2*limit - chunkHeadLen + 1, 40 << 10}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := newMapStore()
			s := newChunkedStore(m, limit)
			v := bytes.Repeat([]byte{'x'}, n)
			mustPut(t, s, "k", v)
			mustGet(t, s, "k", v)
			if m.largest > limit {
				t.Errorf("an item of %d bytes was written, limit %d", m.largest, limit)
			}
			if want := (n + chunkHeadLen + limit - 1) / limit; n > limit && len(m.keys()) != want {
				t.Errorf("%d items for %d bytes, want %d", len(m.keys()), n, want)
			}
			mustPut(t, s, "k", []byte("small"))
			if got := m.keys(); !slices.Equal(got, []string{"k"}) {
				t.Errorf("items after replacing with a small value: %q", got)
			}
			mustPut(t, s, "k", v)
			mustPut(t, s, "k", v) // the same value again keeps its parts
			mustGet(t, s, "k", v)
			if err := s.Delete("k"); err != nil {
				t.Fatal(err)
			}
			if got := m.keys(); len(got) != 0 {
				t.Errorf("items after Delete: %q", got)
			}
		})
	}
}

// TestChunkedStoreValueLikeAHead guards against a stored value being taken
// for a head: one that starts with the head's magic is always split.
func TestChunkedStoreValueLikeAHead(t *testing.T) {
	s := newChunkedStore(newMapStore(), 2560)
	for _, v := range []string{chunkMagic, chunkMagic + "\x00\x01" + strings.Repeat("d", digestLen+nonceLen) + "rest"} {
		mustPut(t, s, "k", []byte(v))
		mustGet(t, s, "k", []byte(v))
	}
}

// TestChunkedStoreDamage guards the reference's storage (damage is reported, never served):
// a head whose parts are missing or do not match is a *CorruptError.
func TestChunkedStoreDamage(t *testing.T) {
	tests := map[string]func(m *mapStore, parts []string){
		"part missing":  func(m *mapStore, parts []string) { delete(m.items, parts[0]) },
		"part replaced": func(m *mapStore, parts []string) { m.items[parts[0]] = bytes.Repeat([]byte{'y'}, 100) },
		"head truncated": func(m *mapStore, _ []string) {
			m.items["k"] = m.items["k"][:chunkHeadLen-1]
		},
		"zero parts": func(m *mapStore, _ []string) { m.items["k"][len(chunkMagic)], m.items["k"][len(chunkMagic)+1] = 0, 0 },
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			m := newMapStore()
			s := newChunkedStore(m, 100)
			mustPut(t, s, "k", bytes.Repeat([]byte{'x'}, 1000))
			damage(m, slices.DeleteFunc(m.keys(), func(k string) bool { return k == "k" }))
			_, err := s.Get("k")
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Get = %v, want a *CorruptError", err)
			}
			mustPut(t, s, "k", []byte("fresh"))
			mustGet(t, s, "k", []byte("fresh"))
		})
	}
}

// TestChunkedStoreReadersDuringWrites guards the reference's token engine (readers never wait for
// writers) for split values: a reader racing a writer gets a whole value.
func TestChunkedStoreReadersDuringWrites(t *testing.T) {
	s := newChunkedStore(newMapStore(), 64)
	values := [][]byte{bytes.Repeat([]byte{'a'}, 1000), bytes.Repeat([]byte{'b'}, 700)}
	mustPut(t, s, "k", values[0])
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 500 {
			if err := s.Put("k", values[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 500 {
				got, err := s.Get("k")
				if err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(got, values[0]) && !bytes.Equal(got, values[1]) {
					t.Errorf("read a mix of %d bytes", len(got))
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestChunkedStoreValueWrittenAgain guards the reader's race rule: a value
// replaced and then written again (A, B, A) while a reader holds A's first
// head is read whole, not reported as damage because the head looks the same.
func TestChunkedStoreValueWrittenAgain(t *testing.T) {
	m := newMapStore()
	s := newChunkedStore(m, 64)
	a, b := bytes.Repeat([]byte{'a'}, 300), bytes.Repeat([]byte{'b'}, 300)
	mustPut(t, s, "k", a)
	step := 0
	var hook func(key string)
	hook = func(key string) {
		m.beforeGet = nil // the writer's own reads must not re-enter the hook
		defer func() { m.beforeGet = hook }()
		switch {
		case step == 0 && key != "k":
			// The reader holds A's head and is about to read a part:
			// replace A, so its parts are gone and this read misses.
			mustPut(t, s, "k", b)
			step = 1
		case step == 1 && key == "k":
			// The reader reads the head again: write A once more first.
			mustPut(t, s, "k", a)
			step = 2
		}
	}
	m.beforeGet = hook
	got, err := s.Get("k")
	if err != nil {
		t.Fatalf("Get after A, B, A: %v", err)
	}
	if !bytes.Equal(got, a) {
		t.Fatalf("Get = %.20q…, want A's value", got)
	}
	if step != 2 {
		t.Fatalf("the writer ran %d of its 2 steps inside the read: the test proves nothing", step)
	}
}

// TestChunkedStoreDeleteSweepsStrayParts guards the reference's security rules (logout leaves no
// secret behind): parts a writer wrote before dying, which no head names, are
// deleted with the value; keys that only look alike are left alone.
func TestChunkedStoreDeleteSweepsStrayParts(t *testing.T) {
	m := newMapStore()
	s := newChunkedStore(m, 64)
	mustPut(t, s, "k", bytes.Repeat([]byte{'a'}, 300))
	stray := []string{"k#0123456789abcdef.1", "k#0123456789abcdef.2"}
	kept := []string{"k2#0123456789abcdef.1", "k#note", "k#0123456789abcdef.0", "k#0123456789abcdeg.1", "k#0123456789abcdef.01"}
	for _, k := range append(slices.Clone(stray), kept...) {
		mustPut(t, m, k, []byte("piece of a secret"))
	}
	if err := s.Delete("k"); err != nil {
		t.Fatal(err)
	}
	if got := m.keys(); !slices.Equal(got, slices.Sorted(slices.Values(kept))) {
		t.Errorf("items after Delete = %q, want only %q", got, kept)
	}
}

// mustGet fails t unless key holds want.
func mustGet(t *testing.T, s Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes %.40q, want %d bytes %.40q", key, len(got), got, len(want), want)
	}
}

func mustPut(t *testing.T, s Store, key string, value []byte) {
	t.Helper()
	if err := s.Put(key, value); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustBeGone(t *testing.T, s Store, key string) {
	t.Helper()
	if _, err := s.Get(key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%q) = %v, want ErrNotFound", key, err)
	}
}
