package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/G-Core/gcore-credential-helper/internal/atomicfile"
)

// AddProfile records a first login's non-secret settings (the reference's commands): it appends a [profiles.NAME]
// table with p's username, base_url, client_id and auth, leaving out defaults and empty values.
// It returns added=false, and writes nothing, when the file already has that profile.
//
// Every existing byte stays as it was, comments included: the table is appended as text, never
// re-encoded. The result is parsed before it is written, and written atomically (temp file,
// fsync, rename); a new file is created 0600 in a 0700 directory, an existing one keeps its mode.
// Two processes adding profiles at the same moment may lose one addition, never the file.
func AddProfile(path string, p Profile) (added bool, err error) {
	table, err := profileTable(p)
	if err != nil {
		return false, fmt.Errorf("add profile %q: %w", p.Name, err)
	}
	old, fi, err := read(path)
	if err != nil {
		return false, err
	}
	target, perm := path, fs.FileMode(0o600)
	if fi != nil {
		f, err := parse(path, old)
		if err != nil {
			return false, err
		}
		if f.HasProfile(p.Name) {
			return false, nil
		}
		// Replace the file a symlink points at, not the link: dotfile managers link config files.
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return false, fmt.Errorf("add profile %q: %w", p.Name, err)
		}
		perm = fi.Mode().Perm()
	}
	data := appendTable(old, table)
	// A last check before touching the user's file: never write one that no longer loads.
	if _, err := parse(path, data); err != nil {
		return false, fmt.Errorf("add profile %q: appending to %s would break it, add the profile by hand: %w", p.Name, path, err)
	}
	if err := writeAtomic(target, data, perm); err != nil {
		return false, fmt.Errorf("add profile %q: %w", p.Name, err)
	}
	return true, nil
}

// profileTable renders p's non-secret login settings as a TOML table.
func profileTable(p Profile) ([]byte, error) {
	if err := checkName(p.Name); err != nil {
		return nil, err
	}
	b := []byte("[profiles.")
	if strings.Contains(p.Name, ".") { // the only name character a bare TOML key cannot hold
		b = strconv.AppendQuote(b, p.Name) // the name is plain ASCII, so Go and TOML quoting agree
	} else {
		b = append(b, p.Name...)
	}
	b = append(b, "]\n"...)

	if p.Username != "" {
		s, err := quote(p.Username)
		if err != nil {
			return nil, fmt.Errorf("username %w", err)
		}
		b = append(b, "username = "+s+"\n"...)
	}
	if p.BaseURL != "" && normalizeBaseURL(p.BaseURL) != DefaultBaseURL {
		if err := checkBaseURL(p.BaseURL); err != nil {
			return nil, err
		}
		s, err := quote(normalizeBaseURL(p.BaseURL))
		if err != nil {
			return nil, fmt.Errorf("base URL %w", err)
		}
		b = append(b, "base_url = "+s+"\n"...)
	}
	if p.ClientID != 0 {
		if err := checkClientID(p.ClientID); err != nil {
			return nil, err
		}
		b = append(b, "client_id = "...)
		b = strconv.AppendInt(b, p.ClientID, 10)
		b = append(b, '\n')
	}
	if p.Auth != "" && p.Auth != AuthPassword {
		if err := checkAuth(p.Auth); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		b = append(b, "auth = \""+p.Auth+"\"\n"...)
	}
	return b, nil
}

// quote renders s as a TOML basic string. Control characters are refused rather than escaped:
// no username or URL has a legitimate one, and refusing keeps this quoting trivially right.
func quote(s string) (string, error) {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", errors.New("must be valid UTF-8 without control characters")
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// appendTable puts table after old, separated by a blank line, without changing a byte of old.
func appendTable(old, table []byte) []byte {
	data := make([]byte, 0, len(old)+len(table)+2)
	data = append(data, old...)
	if len(old) > 0 {
		if old[len(old)-1] != '\n' {
			data = append(data, '\n')
		}
		data = append(data, '\n')
	}
	return append(data, table...)
}

// writeAtomic replaces path with data, creating its directory (0700) when
// the config has none yet.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, perm)
}

// UpdateProfile makes an existing [profiles.NAME] table say username = p.Username and
// client_id = p.ClientID (where those are set), so a later `login --client-id N` for a profile
// already in the file is remembered like a first one. Only the lines of those keys change (a
// missing key is inserted under the table header); a file where the table or the keys are not
// written as plain lines is left alone with an error saying to edit it by hand. It reports
// whether anything changed.
func UpdateProfile(path string, p Profile) (changed bool, err error) {
	old, fi, err := read(path)
	if err != nil || fi == nil {
		return false, err
	}
	f, err := parse(path, old)
	if err != nil {
		return false, err
	}
	cur, ok := f.profile(p.Name)
	if !ok {
		return false, fmt.Errorf("update profile %q: not in %s", p.Name, path)
	}
	var set [][2]string
	if p.Username != "" && p.Username != cur.Username {
		s, err := quote(p.Username)
		if err != nil {
			return false, fmt.Errorf("update profile %q: username %w", p.Name, err)
		}
		set = append(set, [2]string{"username", s})
	}
	if p.ClientID != 0 && p.ClientID != cur.ClientID {
		if err := checkClientID(p.ClientID); err != nil {
			return false, fmt.Errorf("update profile %q: %w", p.Name, err)
		}
		set = append(set, [2]string{"client_id", strconv.FormatInt(p.ClientID, 10)})
	}
	if len(set) == 0 {
		return false, nil
	}
	data, ok := setKeys(old, p.Name, set)
	if ok {
		g, err := parse(path, data)
		got, _ := g.profile(p.Name)
		ok = err == nil && (p.Username == "" || got.Username == p.Username) && (p.ClientID == 0 || got.ClientID == p.ClientID)
	}
	if !ok {
		return false, fmt.Errorf("update profile %q: %s does not write it as a plain [profiles.%s] table; set %s there by hand", p.Name, path, p.Name, set[0][0])
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false, fmt.Errorf("update profile %q: %w", p.Name, err)
	}
	if err := writeAtomic(target, data, fi.Mode().Perm()); err != nil {
		return false, fmt.Errorf("update profile %q: %w", p.Name, err)
	}
	return true, nil
}

// setKeys rewrites the lines of keys in the plain table [profiles.name] of data, inserting the
// missing ones after its header. ok is false when there is no such header line.
func setKeys(data []byte, name string, set [][2]string) (out []byte, ok bool) {
	lines := strings.SplitAfter(string(data), "\n")
	header := -1
	for i, l := range lines {
		h := strings.TrimSpace(l)
		if k := strings.IndexByte(h, '#'); k >= 0 {
			h = strings.TrimSpace(h[:k])
		}
		if h == "[profiles."+name+"]" || h == "[profiles."+strconv.Quote(name)+"]" {
			header = i
			break
		}
	}
	if header < 0 {
		return nil, false
	}
	end := len(lines)
	for i := header + 1; i < len(lines); i++ {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "[") {
			end = i
			break
		}
	}
	var insert []string
	for _, kv := range set {
		line := kv[0] + " = " + kv[1] + "\n"
		found := false
		for i := header + 1; i < end; i++ {
			key, _, hasEq := strings.Cut(lines[i], "=")
			if hasEq && strings.TrimSpace(key) == kv[0] {
				lines[i], found = line, true
				break
			}
		}
		if !found {
			insert = append(insert, line)
		}
	}
	if !strings.HasSuffix(lines[header], "\n") {
		lines[header] += "\n"
	}
	lines = append(lines[:header+1], append(insert, lines[header+1:]...)...)
	return []byte(strings.Join(lines, "")), true
}
