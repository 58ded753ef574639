package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/G-Core/gcore-credential-helper/internal/nopoll"
)

// maxFileSize bounds the config file Load reads.
const maxFileSize = 1 << 20

// ErrInsecure is returned (wrapped) for a config file that other users could change: it is
// group- or world-writable, or another user (not root) owns it. It names commands the helper
// runs (password_command), so it must be the user's alone (the reference's security rules), as ssh requires of its own.
var ErrInsecure = errors.New("refusing a config file other users could change")

// File is a parsed config file. Every value in it has been type-checked and validated.
type File struct {
	Path     string
	Exists   bool               // false when there is no file at Path
	profiles map[string]Profile // file values over defaults
}

// HasProfile reports whether the file defines a [profiles.NAME] table.
func (f *File) HasProfile(name string) bool {
	_, ok := f.profile(name)
	return ok
}

// ProfileNames returns the profiles the file defines, sorted.
func (f *File) ProfileNames() []string {
	if f == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(f.profiles))
}

func (f *File) profile(name string) (Profile, bool) {
	if f == nil {
		return Profile{}, false
	}
	p, ok := f.profiles[name]
	return p, ok
}

// Load reads the config file at path. A missing file is no error: it yields an empty File with
// Exists false. Syntax errors, unknown keys, wrong types and invalid values are errors naming
// the file, the line (when the toml package knows it) and the key.
func Load(path string) (*File, error) {
	data, fi, err := read(path)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		return &File{Path: path}, nil
	}
	return parse(path, data)
}

// LoadPaths loads the config file of p: like Load, except that a file named by ConfigVar must
// exist, so that a typo in the variable never silently means "all defaults".
func LoadPaths(p Paths) (*File, error) {
	f, err := Load(p.ConfigFile)
	if err == nil && !f.Exists && p.ConfigNamed {
		return nil, fmt.Errorf("config %s (named by %s): no such file", p.ConfigFile, ConfigVar)
	}
	return f, err
}

// read returns the file's bytes and mode after checking, on the open descriptor, that it is a
// regular file nobody else can write. A missing file yields a nil FileInfo and no error.
func read(path string) ([]byte, fs.FileInfo, error) {
	// Non-blocking, so that a FIFO in its place cannot hang the open, and
	// without the runtime's network poller, which a cache hit has no use for.
	fh, err := nopoll.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("config %s: not a regular file", path)
	}
	// Windows reports no meaningful permission bits; its ACLs are the user's business.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o022 != 0 {
		return nil, nil, fmt.Errorf("config %s: %w: it is group- or world-writable (mode %04o): run chmod go-w on it",
			path, ErrInsecure, fi.Mode().Perm())
	}
	// Root may provision a user's config; any other owner could rewrite it at will.
	if uid, me, ok := owner(fi); ok && uid != me && uid != 0 {
		return nil, nil, fmt.Errorf("config %s: %w: it is owned by uid %d, not by this user (uid %d) or root: use a file of your own",
			path, ErrInsecure, uid, me)
	}
	// A config file is a few hundred bytes; a huge one is a mistake, and reading it whole would
	// cost every call its memory.
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("config %s: larger than %d bytes", path, maxFileSize)
	}
	return data, fi, nil
}

// errUnknownKey marks a key this version does not know; it is reported as `unknown key "…"`.
var errUnknownKey = errors.New("unknown key")

// decoder walks the parsed document one key at a time. The values toml hands back carry no
// positions; only errors raised inside its decoding do, so every check runs inside a toml
// Unmarshaler hook (see value).
type decoder struct {
	path string
	md   toml.MetaData
}

// parse decodes and validates a whole config file; path only names it in errors.
func parse(path string, data []byte) (*File, error) {
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		var pe toml.ParseError
		if !errors.As(err, &pe) {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		msg := pe.Message
		if pe.LastKey != "" {
			msg += fmt.Sprintf(" (after key %q)", pe.LastKey)
		}
		return nil, fmt.Errorf("config %s: line %d: %s", path, pe.Position.Line, msg)
	}
	d := &decoder{path: path, md: md}
	f := &File{Path: path, Exists: true, profiles: map[string]Profile{}}
	for _, key := range slices.Sorted(maps.Keys(top)) {
		if key != "profiles" {
			return nil, d.value(top[key], func(any) error { return errUnknownKey })
		}
		profiles, err := d.table(top[key], nil)
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(profiles)) {
			p, err := d.profile(name, profiles[name])
			if err != nil {
				return nil, err
			}
			f.profiles[name] = p
		}
	}
	return f, nil
}

// table decodes prim as a table of further primitives after check accepts its raw value.
func (d *decoder) table(prim toml.Primitive, check func() error) (map[string]toml.Primitive, error) {
	err := d.value(prim, func(v any) error {
		if _, ok := v.(map[string]any); !ok {
			return wrongType("a table", v)
		}
		if check != nil {
			return check()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var t map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(prim, &t); err != nil {
		return nil, fmt.Errorf("config %s: %w", d.path, err)
	}
	return t, nil
}

func (d *decoder) profile(name string, prim toml.Primitive) (Profile, error) {
	keys, err := d.table(prim, func() error { return checkName(name) })
	if err != nil {
		return Profile{}, err
	}
	p := defaults(name)
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		if err := d.value(keys[key], func(v any) error { return p.set(key, v) }); err != nil {
			return Profile{}, err
		}
	}
	return p, nil
}

// value runs check on prim's raw value inside toml's decoding, which turns a failure into a
// toml.ParseError carrying the key's full name and line.
func (d *decoder) value(prim toml.Primitive, check func(v any) error) error {
	h := hook{check: check}
	err := d.md.PrimitiveDecode(prim, &h)
	if err == nil {
		return nil
	}
	var pe toml.ParseError
	if h.err == nil || !errors.As(err, &pe) {
		return fmt.Errorf("config %s: %w", d.path, err)
	}
	msg := fmt.Sprintf("key %q: %v", pe.LastKey, h.err)
	if errors.Is(h.err, errUnknownKey) {
		msg = fmt.Sprintf("unknown key %q", pe.LastKey)
	}
	if pe.Position.Line > 0 {
		return fmt.Errorf("config %s: line %d: %s", d.path, pe.Position.Line, msg)
	}
	return fmt.Errorf("config %s: %s", d.path, msg)
}

type hook struct {
	check func(v any) error
	err   error
}

// UnmarshalTOML implements toml.Unmarshaler.
func (h *hook) UnmarshalTOML(v any) error {
	h.err = h.check(v)
	return h.err
}

// set stores one key of a [profiles.NAME] table.
func (p *Profile) set(key string, v any) (err error) {
	switch key {
	case "base_url":
		p.BaseURL, err = stringOf(v, checkFileBaseURL)
	case "username":
		p.Username, err = stringOf(v, nil)
	case "client_id":
		n, ok := v.(int64)
		if !ok {
			return wrongType("an integer", v)
		}
		p.ClientID, err = n, checkClientID(n)
	case "auth":
		p.Auth, err = stringOf(v, checkAuth)
	case "backend":
		p.Backend, err = stringOf(v, checkBackend)
	case "min_ttl":
		p.MinTTL, err = durationOf(v, checkMinTTL)
	case "lock_timeout":
		p.LockTimeout, err = durationOf(v, checkTimeout)
	case "http_timeout":
		p.HTTPTimeout, err = durationOf(v, checkTimeout)
	case "password_command":
		p.PasswordCommand, err = stringOf(v, nil)
	case "otp_command":
		p.OTPCommand, err = stringOf(v, nil)
	case "allowed_hosts":
		p.AllowedHosts, err = hostsOf(v)
	case "api_key_ttl":
		p.APIKeyTTL, err = durationOf(v, checkAPIKeyTTL)
	case "api_key_role":
		p.APIKeyRole, err = stringOf(v, nil)
	case "registries":
		p.Registries, err = registriesOf(v)
	case "project_id":
		p.ProjectID, err = positiveOf(v)
	case "region_id":
		p.RegionID, err = positiveOf(v)
	default:
		err = errUnknownKey
	}
	return err
}

func stringOf(v any, check func(string) error) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", wrongType("a string", v)
	}
	if check != nil {
		return s, check(s)
	}
	return s, nil
}

func durationOf(v any, check func(time.Duration) error) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, wrongType(`a duration string such as "5m" or "90s"`, v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		// %.64q: a value from the file or the environment is quoted, but
		// never more than its first 64 characters.
		return 0, fmt.Errorf(`invalid duration %.64q: want a duration such as "5m" or "90s"`, s)
	}
	return d, check(d)
}

func hostsOf(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, wrongType("an array of strings", v)
	}
	hosts := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, wrongType("an array of strings", v)
		}
		h, err := normalizeHost(s)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// registriesOf reads [[profiles.NAME.registries]] (the reference's service credentials), in either spelling of an array
// of tables: [[…]] sections or an inline array.
func registriesOf(v any) ([]Registry, error) {
	var tables []map[string]any
	switch list := v.(type) {
	case []map[string]any:
		tables = list
	case []any:
		for _, e := range list {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, wrongType("an array of tables", v)
			}
			tables = append(tables, t)
		}
	default:
		return nil, wrongType("an array of tables", v)
	}
	out := make([]Registry, 0, len(tables))
	for i, t := range tables {
		r := Registry{ReadOnly: true, UserTTLDays: 1}
		for _, key := range slices.Sorted(maps.Keys(t)) {
			if err := r.set(key, t[key]); err != nil {
				return nil, fmt.Errorf("registries[%d].%s: %w", i, key, err)
			}
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("registries[%d]: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// positiveOf reads an id or a count: a positive integer.
func positiveOf(v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, wrongType("an integer", v)
	}
	if n <= 0 {
		return 0, fmt.Errorf("must be positive, got %d", n)
	}
	return n, nil
}

func (r *Registry) set(key string, v any) (err error) {
	num := func() (int64, error) { return positiveOf(v) }
	switch key {
	case "host":
		var h string
		if h, err = stringOf(v, nil); err == nil {
			r.Host, err = normalizeHost(h)
		}
	case "project_id":
		r.ProjectID, err = num()
	case "region_id":
		r.RegionID, err = num()
	case "registry_id":
		r.RegistryID, err = num()
	case "registry":
		r.RegistryName, err = stringOf(v, nil)
	case "project_name":
		r.ProjectName, err = stringOf(v, nonEmpty)
	case "region_name":
		r.RegionName, err = stringOf(v, nonEmpty)
	case "read_only":
		b, ok := v.(bool)
		if !ok {
			return wrongType("a boolean", v)
		}
		r.ReadOnly = b
	case "user_ttl_days":
		var n int64
		if n, err = num(); err == nil {
			r.UserTTLDays = int(n)
		}
	default:
		// Not errUnknownKey: that names the whole registries key.
		err = errors.New("unknown key")
	}
	return err
}

func (r Registry) check() error {
	switch {
	case r.ProjectID != 0 && r.ProjectName != "", r.RegionID != 0 && r.RegionName != "":
		return errors.New("give a project and a region by id or by name, not both")
	case (r.RegistryID == 0) == (r.RegistryName == ""):
		return errors.New("give exactly one of registry_id and registry (its name)")
	case r.UserTTLDays > 365:
		return fmt.Errorf("user_ttl_days must be at most 365, got %d", r.UserTTLDays)
	}
	return nil
}

func nonEmpty(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func wrongType(want string, v any) error {
	var got string
	switch v.(type) {
	case string:
		got = "a string"
	case int64:
		got = "an integer"
	case float64:
		got = "a float"
	case bool:
		got = "a boolean"
	case map[string]any:
		got = "a table"
	case []any, []map[string]any:
		got = "an array"
	case time.Time:
		got = "a date-time"
	default:
		got = fmt.Sprintf("%T", v)
	}
	return fmt.Errorf("want %s, got %s", want, got)
}
