package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
)

// passStore makes pass's writes atomic. pass has gpg write an entry's file
// in place, so a reader meeting a write half done fails to decrypt, and a
// crash leaves the entry unreadable (the conformance suite caught both).
// Entries are inserted under a temporary name, then moved over the real one
// with `pass mv -f`: a rename, which in a git-backed store pass also commits,
// as it does its own inserts and removals.
type passStore struct {
	keyringStore
	root   string // the password store, as PASSWORD_STORE_DIR
	cmd    string // the pass program
	folder string // our folder in the store
}

func newPassStore(s keyringStore, root, cmd, folder string) passStore {
	if cmd == "" {
		cmd = "pass"
	}
	return passStore{keyringStore: s, root: root, cmd: cmd, folder: folder}
}

func (s passStore) Put(key string, value []byte) error {
	// keyringName escapes a leading dot, so no entry's name can be tmp.
	tmp := "." + rand.Text() + ".tmp"
	if err := s.set(tmp, key, value); err != nil {
		return err
	}
	if err := s.move(tmp, s.name(key)); err != nil {
		_ = s.ring.Remove(tmp)
		return fmt.Errorf("write pass entry %q: %w: %w", key, ErrUnavailable, err)
	}
	return nil
}

// move renames entry from to to within our folder, within the keyring
// timeout.
func (s passStore) move(from, to string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.cmd, "mv", "-f", path.Join(s.folder, from), path.Join(s.folder, to))
	cmd.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+s.root)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdout, which names the entries, is dropped
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pass mv: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
