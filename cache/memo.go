package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// FailureMemo remembers, per key and for a short while, that a
// non-interactive login failed, so a burst of callers fails fast instead of
// each trying again. It stores when and the message shown to the user: the
// caller must not pass secrets in the message.
type FailureMemo struct {
	// Dir holds one small file per remembered key.
	Dir string
}

type memoRecord struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

func (m FailureMemo) path(key string) string {
	return filepath.Join(m.Dir, hashName(key)+".failed")
}

// Remember records that the login for key failed at the given time with
// message.
func (m FailureMemo) Remember(key string, at time.Time, message string) error {
	if err := EnsurePrivateDir(m.Dir); err != nil {
		return fmt.Errorf("remember failed login: %w", err)
	}
	data, err := json.Marshal(memoRecord{At: at, Message: message})
	if err != nil {
		return fmt.Errorf("remember failed login: %w", err)
	}
	if err := atomicfile.Write(m.path(key), data, 0o600); err != nil {
		return fmt.Errorf("remember failed login: %w", err)
	}
	return nil
}

// Recall returns the message and time of a failure for key remembered no
// longer than within before now. A missing, unreadable or stale record is
// simply not recalled.
func (m FailureMemo) Recall(key string, now time.Time, within time.Duration) (message string, at time.Time, ok bool) {
	// A memory others could have written is not believed: it would make
	// logins fail without trying.
	if checkPrivateDir(m.Dir) != nil {
		return "", time.Time{}, false
	}
	data, err := readPrivateFile(m.path(key))
	if err != nil {
		return "", time.Time{}, false
	}
	var r memoRecord
	if json.Unmarshal(data, &r) != nil {
		return "", time.Time{}, false
	}
	if age := now.Sub(r.At); age < 0 || age >= within {
		return "", time.Time{}, false
	}
	return r.Message, r.At, true
}

// Forget drops the record for key, e.g. after a successful login.
func (m FailureMemo) Forget(key string) error {
	err := os.Remove(m.path(key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget failed login: %w", err)
	}
	return nil
}
