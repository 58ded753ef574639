package cache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Some keyrings cap the size of one item: Windows Credential Manager keeps at
// most 2560 bytes per credential blob, the kernel's "user" keys 32767. A
// session record is near the first limit and a cluster's client certificate
// well over it, so values that do not fit are split across several items.
//
// A split value is stored as a head under its own key and parts under keys
// derived from the key and a digest of the whole value:
//
//	head:  chunkMagic | part count (uint16) | digest (16 bytes) | nonce (8 bytes) | first piece
//	parts: key + "#" + hex(digest[:8]) + "." + i, for i = 1 … count-1
//
// Parts are named by content, so a new value never overwrites the parts an
// older head points to: a writer stores its parts, then its head, and only then
// deletes the parts of the value it replaced. A reader that meets a head whose
// parts are gone reads the head again: if it changed, a writer replaced the
// value meanwhile and the reader starts over; if it did not, nobody wrote and
// the parts are really gone. The random nonce makes every write's head
// distinct, so a value written again (A, B, A) still reads as a change.
const (
	chunkMagic   = "\x00gcchunk"
	digestLen    = 16
	nonceLen     = 8
	chunkHeadLen = len(chunkMagic) + 2 + digestLen + nonceLen
	// chunkReadAttempts only guards against a writer that never stops: each
	// re-read follows a completed write, and writers are rare and serialised.
	chunkReadAttempts = 100
)

// chunkedStore splits values larger than limit bytes across several items of
// the Store it wraps.
type chunkedStore struct {
	Store
	limit int
}

// newChunkedStore wraps s so that no item it writes exceeds limit bytes; limit
// 0 means items of any size, and s is returned as it is.
func newChunkedStore(s Store, limit int) Store {
	if limit == 0 {
		return s
	}
	return chunkedStore{Store: s, limit: limit}
}

// chunkHead is a decoded head item.
type chunkHead struct {
	parts  int
	digest [digestLen]byte
	first  []byte
}

// parseChunkHead decodes item when it is a head; ok is false for a plain
// value.
func parseChunkHead(item []byte) (h chunkHead, ok bool, err error) {
	if !bytes.HasPrefix(item, []byte(chunkMagic)) {
		return chunkHead{}, false, nil
	}
	if len(item) < chunkHeadLen {
		return chunkHead{}, true, errors.New("split value: truncated head")
	}
	rest := item[len(chunkMagic):]
	h.parts = int(binary.BigEndian.Uint16(rest))
	if h.parts == 0 {
		return chunkHead{}, true, errors.New("split value: zero parts")
	}
	copy(h.digest[:], rest[2:])
	h.first = rest[2+digestLen+nonceLen:]
	return h, true, nil
}

func (h chunkHead) partKey(key string, i int) string {
	return fmt.Sprintf("%s#%x.%d", key, h.digest[:8], i)
}

func valueDigest(value []byte) (d [digestLen]byte) {
	sum := sha256.Sum256(value)
	copy(d[:], sum[:])
	return d
}

func (s chunkedStore) Get(key string) ([]byte, error) {
	var previous []byte // the head of the last attempt, if its parts did not match
	for range chunkReadAttempts {
		item, err := s.Store.Get(key)
		if err != nil {
			return nil, err
		}
		if previous != nil && bytes.Equal(item, previous) {
			break // nobody wrote since the parts failed to match: damage, not a race
		}
		h, split, err := parseChunkHead(item)
		if err != nil {
			return nil, s.corrupt(key, err.Error())
		}
		if !split {
			return item, nil
		}
		value, err := s.join(key, h)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && valueDigest(value) == h.digest {
			return value, nil
		}
		previous = item
	}
	return nil, s.corrupt(key, "split value: parts missing or not matching their head")
}

func (s chunkedStore) join(key string, h chunkHead) ([]byte, error) {
	value := bytes.Clone(h.first)
	for i := 1; i < h.parts; i++ {
		part, err := s.Store.Get(h.partKey(key, i))
		if err != nil {
			return nil, err
		}
		value = append(value, part...)
	}
	return value, nil
}

func (s chunkedStore) corrupt(key, reason string) error {
	return fmt.Errorf("read %s entry %q: %w", s.Backend(), key, &CorruptError{Path: s.Backend() + ":" + key, Reason: reason})
}

// Put writes the parts, then the head, then removes the parts of the value it
// replaces. A crash in between leaves unreferenced parts, never a head whose
// parts are missing.
func (s chunkedStore) Put(key string, value []byte) error {
	old := s.head(key)
	if len(value) <= s.limit && !bytes.HasPrefix(value, []byte(chunkMagic)) {
		if err := s.Store.Put(key, value); err != nil {
			return err
		}
		return s.deleteParts(key, old)
	}
	h := chunkHead{digest: valueDigest(value)}
	firstLen := min(len(value), s.limit-chunkHeadLen)
	pieces := [][]byte{value[:firstLen]}
	for rest := value[firstLen:]; len(rest) > 0; {
		n := min(len(rest), s.limit)
		pieces, rest = append(pieces, rest[:n]), rest[n:]
	}
	if len(pieces) > 0xffff {
		return fmt.Errorf("write %s entry %q: %d bytes is too large for this keyring", s.Backend(), key, len(value))
	}
	h.parts = len(pieces)
	for i := 1; i < h.parts; i++ {
		if err := s.Store.Put(h.partKey(key, i), pieces[i]); err != nil {
			return err
		}
	}
	item := make([]byte, 0, chunkHeadLen+len(pieces[0]))
	item = append(item, chunkMagic...)
	item = binary.BigEndian.AppendUint16(item, uint16(h.parts))
	item = append(item, h.digest[:]...)
	var nonce [nonceLen]byte
	rand.Read(nonce[:]) // never fails (crypto/rand)
	item = append(item, nonce[:]...)
	item = append(item, pieces[0]...)
	if err := s.Store.Put(key, item); err != nil {
		return err
	}
	if old.digest == h.digest {
		return nil // same value again: the parts just written are the old ones
	}
	return s.deleteParts(key, old)
}

// Delete removes the head, its parts, and any parts a writer that died
// before writing its head left behind (where the store can list its keys):
// parts hold pieces of secrets, so logging out must leave none.
func (s chunkedStore) Delete(key string) error {
	old := s.head(key)
	if err := s.Store.Delete(key); err != nil {
		return err
	}
	if err := s.deleteParts(key, old); err != nil {
		return err
	}
	return s.deleteStrayParts(key)
}

// keyLister is a Store that can list its keys: the OS keyrings can, the
// encrypted file (whose names are keyed hashes) cannot.
type keyLister interface {
	keysWithPrefix(prefix string) ([]string, error)
}

// deleteStrayParts deletes every part of key the store lists, whatever head
// it belonged to. Only Delete calls it: during a Put, a part not named by the
// current head may be another writer's, written just before its head.
func (s chunkedStore) deleteStrayParts(key string) error {
	lister, ok := s.Store.(keyLister)
	if !ok {
		return nil
	}
	keys, err := lister.keysWithPrefix(key + "#")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if !isPartKey(key, k) {
			continue
		}
		if err := s.Store.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// isPartKey reports whether k has the form of a part of key's value:
// key#<16 hex digits>.<index>.
func isPartKey(key, k string) bool {
	rest, ok := strings.CutPrefix(k, key+"#")
	if !ok {
		return false
	}
	digest, index, ok := strings.Cut(rest, ".")
	if !ok || len(digest) != 16 || index == "" {
		return false
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return false
	}
	n, err := strconv.Atoi(index)
	return err == nil && n >= 1 && strconv.Itoa(n) == index
}

// head is key's current head, or the zero head when key holds a plain value,
// nothing, or something unreadable (whose parts, if any, cannot be named).
func (s chunkedStore) head(key string) chunkHead {
	item, err := s.Store.Get(key)
	if err != nil {
		return chunkHead{}
	}
	h, _, err := parseChunkHead(item)
	if err != nil {
		return chunkHead{}
	}
	return h
}

func (s chunkedStore) deleteParts(key string, h chunkHead) error {
	for i := 1; i < h.parts; i++ {
		if err := s.Store.Delete(h.partKey(key, i)); err != nil {
			return err
		}
	}
	return nil
}
