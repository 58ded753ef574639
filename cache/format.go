package cache

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"

	"golang.org/x/crypto/argon2"

	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// On-disk format. The metadata file (a tlv record, read on every cache hit,
// so no JSON: see package tlv) records a random store id, who guards the
// store's data key, and a verifier sealed with that key; each entry file is
// entryVersion || 12-byte nonce || AES-256-GCM ciphertext under the data key,
// authenticated together with the entry's key name so that files cannot be
// swapped.
//
// Version 2 is an envelope: the data key is random, and its guardian keeps
// it. The passphrase guardian ("file") seals it with a key derived from the
// passphrase (argon2id, parameters and salt in the metadata); an OS keyring
// guardian keeps it as one item. Version 1 (earlier releases) derived the data
// key itself from the passphrase: such a store is still read, and becomes
// version 2 when its passphrase or guardian changes, its data key unchanged.
const (
	metaVersion1 = 1
	metaVersion2 = 2
	entryVersion = 1
	metaName     = "store.meta"
	entrySuffix  = ".entry"
	kdfArgon2id  = "argon2id"

	// GuardianPassphrase is the guardian of a store whose key the passphrase
	// seals; the other guardians are the OS keyring backends' names.
	GuardianPassphrase = "file"

	saltSize = 16
	// keySize covers the AES-256 key followed by the HMAC key that names
	// entry files; both come from one KDF run.
	keySize    = 64
	encKeySize = 32

	nonceSize         = 12
	tagSize           = 16
	verifierPlaintext = "gcore-credential-helper store verifier"
)

// Argon2id bounds. The minimums are the reference's floor; the maximums keep a
// damaged or hostile metadata file from asking for absurd memory or time.
const (
	minKDFTime, maxKDFTime           = 2, 64
	minKDFMemoryKiB, maxKDFMemoryKiB = 19 * 1024, 4 * 1024 * 1024
	minKDFThreads, maxKDFThreads     = 1, 64
)

// KDFParams are the argon2id costs for deriving a new store's key from its
// passphrase. The zero value selects the defaults (3 passes over 64 MiB, one
// thread: about 150 ms on the build machine); explicit values must meet the
// minimums of 2 passes and 19 MiB. An existing store keeps the parameters
// recorded in its metadata.
type KDFParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

func (p KDFParams) orDefault() KDFParams {
	if p == (KDFParams{}) {
		return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 1}
	}
	return p
}

func (p KDFParams) validate() error {
	switch {
	case p.Time < minKDFTime || p.Time > maxKDFTime:
		return fmt.Errorf("argon2id time %d outside [%d, %d]", p.Time, minKDFTime, maxKDFTime)
	case p.MemoryKiB < minKDFMemoryKiB || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB outside [%d, %d]", p.MemoryKiB, minKDFMemoryKiB, maxKDFMemoryKiB)
	case p.Threads < minKDFThreads || p.Threads > maxKDFThreads:
		return fmt.Errorf("argon2id threads %d outside [%d, %d]", p.Threads, minKDFThreads, maxKDFThreads)
	}
	return nil
}

type kdfRecord struct {
	Name string
	KDFParams
	Salt []byte
}

func (k kdfRecord) derive(passphrase string) []byte {
	return argon2.IDKey([]byte(passphrase), k.Salt, k.Time, k.MemoryKiB, k.Threads, keySize)
}

type metadata struct {
	Version  int
	ID       string
	Guardian string    // GuardianPassphrase or a keyring backend
	KDF      kdfRecord // the passphrase guardian's
	Wrapped  []byte    // version 2, passphrase guardian: the data key, sealed
	Verifier []byte    // sealed with the data key
}

// metaMagic starts the metadata file: "GCM" and the record layout version
// (the store's format version is a field of its own).
var metaMagic = [4]byte{'G', 'C', 'M', 1}

// Metadata field tags. Never reuse a number.
const (
	metaTagVersion   = 1
	metaTagID        = 2
	metaTagKDFName   = 3
	metaTagKDFTime   = 4
	metaTagKDFMemory = 5
	metaTagKDFThread = 6
	metaTagSalt      = 7
	metaTagVerifier  = 8
	metaTagGuardian  = 9
	metaTagWrapped   = 10
)

func (m metadata) encode() []byte {
	w := tlv.NewWriter(metaMagic)
	w.Int(metaTagVersion, int64(m.Version))
	w.String(metaTagID, m.ID)
	if m.Version >= metaVersion2 {
		w.String(metaTagGuardian, m.Guardian)
	}
	if m.Guardian == GuardianPassphrase {
		w.String(metaTagKDFName, m.KDF.Name)
		w.Int(metaTagKDFTime, int64(m.KDF.Time))
		w.Int(metaTagKDFMemory, int64(m.KDF.MemoryKiB))
		w.Int(metaTagKDFThread, int64(m.KDF.Threads))
		w.Bytes(metaTagSalt, m.KDF.Salt)
		w.Bytes(metaTagWrapped, m.Wrapped)
	}
	w.Bytes(metaTagVerifier, m.Verifier)
	return w.Encoded()
}

// setField decodes one metadata field; numbers out of their type's range are
// reported as such rather than silently truncated.
func (m *metadata) setField(tag byte, v []byte) error {
	var num int64
	switch tag {
	case metaTagVersion, metaTagKDFTime, metaTagKDFMemory, metaTagKDFThread:
		n, err := tlv.Int(tag, v)
		if err != nil {
			return err
		}
		if n < 0 || n > math.MaxUint32 || (tag == metaTagKDFThread && n > math.MaxUint8) {
			return fmt.Errorf("field %d out of range", tag)
		}
		num = n
	}
	switch tag {
	case metaTagVersion:
		m.Version = int(num)
	case metaTagID:
		m.ID = string(v)
	case metaTagKDFName:
		m.KDF.Name = string(v)
	case metaTagKDFTime:
		m.KDF.Time = uint32(num)
	case metaTagKDFMemory:
		m.KDF.MemoryKiB = uint32(num)
	case metaTagKDFThread:
		m.KDF.Threads = uint8(num)
	case metaTagSalt:
		m.KDF.Salt = bytes.Clone(v)
	case metaTagVerifier:
		m.Verifier = bytes.Clone(v)
	case metaTagGuardian:
		m.Guardian = string(v)
	case metaTagWrapped:
		m.Wrapped = bytes.Clone(v)
	}
	return nil
}

// newDataKey makes a store's random data key: the AES-256 key and the HMAC
// key that names entry files.
func newDataKey() []byte {
	key := make([]byte, keySize)
	rand.Read(key)
	return key
}

// newMetadata describes a new store whose data key is key, guarded by
// guardian; seal, for the passphrase guardian, is set by sealWithPassphrase.
func newMetadata(guardian string, key []byte) (metadata, error) {
	m := metadata{Version: metaVersion2, ID: rand.Text(), Guardian: guardian}
	aead, err := newAEAD(key)
	if err != nil {
		return metadata{}, err
	}
	m.Verifier = seal(aead, []byte(verifierPlaintext), m.verifierAD())
	return m, nil
}

// sealWithPassphrase makes the passphrase the guardian of m's data key: key
// is sealed with a key derived from passphrase with params and a new salt.
func (m *metadata) sealWithPassphrase(key []byte, passphrase string, params KDFParams) error {
	if err := params.validate(); err != nil {
		return err
	}
	m.Version, m.Guardian = metaVersion2, GuardianPassphrase
	m.KDF = kdfRecord{Name: kdfArgon2id, KDFParams: params, Salt: make([]byte, saltSize)}
	rand.Read(m.KDF.Salt)
	wrap, err := newAEAD(m.KDF.derive(passphrase))
	if err != nil {
		return err
	}
	m.Wrapped = seal(wrap, key, m.wrappedAD())
	return nil
}

// openWithPassphrase returns the data key the passphrase unseals: the
// derived key itself in a version 1 store.
func (m metadata) openWithPassphrase(passphrase string) ([]byte, error) {
	derived := m.KDF.derive(passphrase)
	if m.Version == metaVersion1 {
		return derived, nil
	}
	wrap, err := newAEAD(derived)
	if err != nil {
		return nil, err
	}
	key, err := open(wrap, m.Wrapped, m.wrappedAD())
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return key, nil
}

func (m metadata) wrappedAD() []byte { return []byte("wrapped\x00" + m.ID) }

// parseMeta decodes a metadata file; its errors describe what is wrong for a
// CorruptError.
func parseMeta(data []byte) (metadata, error) {
	var m metadata
	if err := tlv.Decode(data, metaMagic, m.setField); err != nil {
		return metadata{}, err
	}
	switch m.Version {
	case metaVersion1:
		if m.Guardian != "" {
			return metadata{}, errors.New("a version 1 store names a guardian")
		}
		m.Guardian = GuardianPassphrase
	case metaVersion2:
		if !validGuardian(m.Guardian) {
			return metadata{}, fmt.Errorf("unknown guardian %.32q", m.Guardian)
		}
	default:
		return metadata{}, fmt.Errorf("unsupported format version %d", m.Version)
	}
	if !validID(m.ID) {
		return metadata{}, errors.New("invalid store id")
	}
	if m.Guardian == GuardianPassphrase {
		if m.KDF.Name != kdfArgon2id {
			return metadata{}, fmt.Errorf("unsupported kdf %q", m.KDF.Name)
		}
		if err := m.KDF.validate(); err != nil {
			return metadata{}, err
		}
		if len(m.KDF.Salt) < saltSize || len(m.KDF.Salt) > 4*saltSize {
			return metadata{}, fmt.Errorf("invalid salt length %d", len(m.KDF.Salt))
		}
		if m.Version == metaVersion2 && len(m.Wrapped) != nonceSize+keySize+tagSize {
			return metadata{}, fmt.Errorf("invalid sealed key length %d", len(m.Wrapped))
		}
	}
	if len(m.Verifier) != nonceSize+len(verifierPlaintext)+tagSize {
		return metadata{}, fmt.Errorf("invalid verifier length %d", len(m.Verifier))
	}
	return m, nil
}

// validGuardian reports whether name can guard a store: the passphrase or
// an OS keyring backend.
func validGuardian(name string) bool {
	return name == GuardianPassphrase || slices.Contains(KeyringBackends(), name)
}

// validID accepts what rand.Text produces, with room to spare; the id ends up
// in a kernel key description, so it stays plain ASCII.
func validID(id string) bool {
	if len(id) < 16 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (m metadata) verifierAD() []byte { return []byte("verifier\x00" + m.ID) }

// unlocks reports whether aead is the store's key, by authenticating the
// verifier.
func (m metadata) unlocks(aead cipher.AEAD) bool {
	pt, err := open(aead, m.Verifier, m.verifierAD())
	return err == nil && string(pt) == verifierPlaintext
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("derived key has %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key[:encKeySize])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal returns nonce || ciphertext. Nonces are random: 96 bits are ample for
// the few thousand writes a credential store sees.
func seal(aead cipher.AEAD, plaintext, ad []byte) []byte {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	rand.Read(out)
	return aead.Seal(out, out, plaintext, ad)
}

func open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+tagSize {
		return nil, fmt.Errorf("truncated (%d bytes)", len(sealed))
	}
	pt, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], ad)
	if err != nil {
		return nil, errors.New("authentication failed: damaged, or copied from another entry")
	}
	return pt, nil
}

func entryAD(key string) []byte { return []byte("entry\x00" + key) }

func encodeEntry(aead cipher.AEAD, key string, value []byte) []byte {
	return append([]byte{entryVersion}, seal(aead, value, entryAD(key))...)
}

// decodeEntry returns the value of an entry file; its errors describe what is
// wrong for a CorruptError.
func decodeEntry(aead cipher.AEAD, key string, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	if data[0] != entryVersion {
		return nil, fmt.Errorf("unsupported format version %d", data[0])
	}
	return open(aead, data[1:], entryAD(key))
}
