// Package clientsetup owns the configuration snippets that point kubectl, docker and git at the
// credential helper: it prints them, and applies them to the user's files idempotently, keeping
// every unrelated setting, backing a file up before its first change and replacing it atomically.
package clientsetup

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// backupLayout is the UTC timestamp in a backup's name: sortable and free of ':' (Windows).
const backupLayout = "20060102T150405Z"

// resolve follows symlinks so that replacing a file keeps the link a dotfiles manager made.
func resolve(path string) (string, error) {
	p, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return p, nil
}

// readFile reports whether path exists besides its content, as a missing file is a valid start.
func readFile(path string) (data []byte, exists bool, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	return data, true, nil
}

// backup copies data to "<path>.bak-<UTC timestamp>", mode 0600 because the original may hold
// credentials. It never overwrites: a second backup in the same second gets a numeric suffix, so
// the copy of the pristine file survives repeated runs.
func backup(path string, data []byte, now time.Time) (string, error) {
	base := path + ".bak-" + now.UTC().Format(backupLayout)
	for i := 1; i <= 100; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("back up %s: too many backups named %s*", path, base)
}

// writeTemp writes data to a new 0600 file beside path (so a rename onto path
// is atomic and relative paths inside the file keep their meaning), creating
// the directory (0700) if needed, and returns its name.
func writeTemp(path string, data []byte) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create directory %s: %w", filepath.Dir(path), err)
	}
	return atomicfile.Temp(path, data, 0o600)
}

// writeAtomic replaces path with data (0600), so a reader sees the old file
// or the new one, never half.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory %s: %w", filepath.Dir(path), err)
	}
	return atomicfile.Write(path, data, 0o600)
}

// checkHosts rejects anything but a bare host[:port]: a scheme, path or user part would make the
// docker key or the git URL scope something other than the one registry host meant.
func checkHosts(hosts []string) error {
	if len(hosts) == 0 {
		return errors.New("no hosts given")
	}
	for _, h := range hosts {
		u, err := url.Parse("https://" + h)
		if h == "" || err != nil || u.Host != h || u.Path != "" || u.RawQuery != "" ||
			u.Fragment != "" || u.User != nil || strings.ContainsAny(h, " \t\r\n\"\\'") {
			return fmt.Errorf("invalid host %q: want a bare host name, optionally with :port", h)
		}
	}
	return nil
}
