// Package config owns the helper's settings: where its files live (XDG), the TOML config file
// with its profiles, how flags, environment and file combine into one resolved Profile, and the
// cache key a session is stored under. It is loaded on every invocation, cache hits included, so
// it reads one file, decodes it once and does nothing else.
package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/baseurl"
)

// Env looks up an environment variable; the CLI passes os.Getenv, tests pass a map lookup.
// A nil Env behaves as an empty environment.
type Env func(key string) string

func (e Env) get(key string) string {
	if e == nil {
		return ""
	}
	return e(key)
}

// Auth kinds a profile can use (key auth).
const (
	// AuthPassword profiles log in with username and password and hold a JWT session.
	AuthPassword = "password"
	// AuthAPIToken profiles hold a permanent API token.
	AuthAPIToken = "api-token"
)

// Defaults for settings that are not given anywhere.
const (
	DefaultBaseURL = "https://api.gcore.com"
	DefaultBackend = "auto"
	DefaultMinTTL  = 5 * time.Minute
	// DefaultLockTimeout and DefaultHTTPTimeout together stay under the 60 s that the reference's token engine allows
	// a caller to wait.
	DefaultLockTimeout = 30 * time.Second
	DefaultHTTPTimeout = 20 * time.Second
	// DefaultAPIKeyTTL is the life of a short-lived API key (the reference's service credentials).
	DefaultAPIKeyTTL = 12 * time.Hour
)

// Backends lists the storage backend names a profile may ask for (the reference's storage), "auto" first.
func Backends() []string {
	return []string{"auto", "file", "secret-service", "kwallet", "keychain", "wincred", "pass", "keyctl"}
}

// ValidBackend reports whether name is one of Backends.
func ValidBackend(name string) bool {
	return slices.Contains(Backends(), name)
}

// Profile is one fully resolved profile.
type Profile struct {
	Name            string
	BaseURL         string // normalised: lower-case scheme and host, no trailing slash
	Username        string
	ClientID        int64  // account to switch to after login; 0 = none
	Auth            string // AuthPassword or AuthAPIToken
	Backend         string // one of Backends
	MinTTL          time.Duration
	PasswordCommand string
	OTPCommand      string
	AllowedHosts    []string      // lower-case host or host:port
	LockTimeout     time.Duration // longest wait for another process holding the lock
	HTTPTimeout     time.Duration // per IAM request
	APIKeyTTL       time.Duration // life of a minted short-lived API key
	APIKeyRole      string        // role of minted keys; "" = the user's first group
	Registries      []Registry    // Gcore Container Registries served by the docker persona
	// ProjectID and RegionID are the Cloud project and region that clusters and registries use
	// when they name none themselves (keys project_id, region_id; env GCORE_CLOUD_PROJECT_ID,
	// GCORE_CLOUD_REGION_ID, which Gcore's SDKs read too); 0 = not set. Export passes them on.
	ProjectID, RegionID int64
}

// Registry is one [[profiles.NAME.registries]] entry (the reference's service credentials): a Gcore Container Registry
// whose docker logins the helper provisions as short-lived registry users.
type Registry struct {
	// Host is docker's server host, lower-case, e.g.
	// registry.luxembourg-2.cloud.gcore.dev; "" takes it from the registry's
	// url in the Cloud API.
	Host string
	// The registry's project and region, by id or by name (project_name,
	// region_name); neither in the file takes the profile's project_id and
	// region_id.
	ProjectID, RegionID     int64
	ProjectName, RegionName string
	RegistryID              int64  // or
	RegistryName            string // resolved to an id through the Cloud API
	ReadOnly                bool   // default true
	UserTTLDays             int    // default 1
}

// RegistryFor returns the profile's registry entry for a docker host.
func (p Profile) RegistryFor(host string) (Registry, bool) {
	for _, r := range p.Registries {
		if r.Host == host {
			return r, true
		}
	}
	return Registry{}, false
}

// Overrides are command-line flags; a zero or nil field means "not given".
type Overrides struct {
	BaseURL  string
	Username string
	Backend  string
	ClientID *int64
	MinTTL   *time.Duration
	// Create allows a profile the file does not have: only `login` makes
	// profiles.
	Create bool
}

// UnknownProfileError is a profile that is neither in the config file nor
// "default": a typo must not become a fresh login against production.
type UnknownProfileError struct {
	Name  string
	Known []string // the profiles there are, "default" included
}

func (e *UnknownProfileError) Error() string {
	return fmt.Sprintf("unknown profile %q: the profiles are %s", e.Name, strings.Join(e.Known, ", "))
}

// Suggestion is the known profile closest to the name, when one is close
// enough to be a typo of it, else "".
func (e *UnknownProfileError) Suggestion() string {
	best, bestDist := "", 3
	for _, k := range e.Known {
		if d := editDistance(e.Name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, bytewise.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func defaults(name string) Profile {
	return Profile{
		Name:        name,
		BaseURL:     DefaultBaseURL,
		Auth:        AuthPassword,
		Backend:     DefaultBackend,
		MinTTL:      DefaultMinTTL,
		LockTimeout: DefaultLockTimeout,
		HTTPTimeout: DefaultHTTPTimeout,
		APIKeyTTL:   DefaultAPIKeyTTL,
	}
}

// DefaultProfile is the profile used when none is named; it always exists.
const DefaultProfile = "default"

// ProfileName picks the profile to use: the --profile flag, then GCORE_PROFILE, then "default".
func ProfileName(flag string, env Env) string {
	if flag != "" {
		return flag
	}
	if name := env.get("GCORE_PROFILE"); name != "" {
		return name
	}
	return DefaultProfile
}

// Resolve builds the named profile with precedence flag > environment > config file > default
// (the reference's configuration). The environment contributes GCORE_BASE_URL, GCORE_KEYRING_BACKEND,
// GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID. "default" always exists; a profile missing
// from f (or a nil f) is an *UnknownProfileError unless o.Create (a first login), and resolves
// to defaults then. File values were validated by Load; environment and flag values are
// validated here.
func Resolve(f *File, name string, env Env, o Overrides) (Profile, error) {
	if err := checkName(name); err != nil {
		return Profile{}, err
	}
	p, ok := f.profile(name)
	if !ok && name != DefaultProfile && !o.Create {
		known := append([]string{DefaultProfile}, slices.DeleteFunc(f.ProfileNames(), func(n string) bool { return n == DefaultProfile })...)
		return Profile{}, &UnknownProfileError{Name: name, Known: known}
	}
	if !ok {
		p = defaults(name)
	}
	// The file's slice must not be shared with a caller that might append to it.
	p.AllowedHosts = slices.Clone(p.AllowedHosts)

	if v := env.get("GCORE_BASE_URL"); v != "" {
		if err := checkBaseURL(v); err != nil {
			return Profile{}, fmt.Errorf("GCORE_BASE_URL: %w", err)
		}
		p.BaseURL = v
	}
	for _, v := range []struct {
		name string
		dst  *int64
	}{{"GCORE_CLOUD_PROJECT_ID", &p.ProjectID}, {"GCORE_CLOUD_REGION_ID", &p.RegionID}} {
		if raw := env.get(v.name); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n <= 0 {
				return Profile{}, fmt.Errorf("%s: want a positive integer, got %.64q", v.name, raw)
			}
			*v.dst = n
		}
	}
	if v := env.get("GCORE_KEYRING_BACKEND"); v != "" {
		if err := checkBackend(v); err != nil {
			return Profile{}, fmt.Errorf("GCORE_KEYRING_BACKEND: %w", err)
		}
		p.Backend = v
	}

	if o.BaseURL != "" {
		if err := checkBaseURL(o.BaseURL); err != nil {
			return Profile{}, fmt.Errorf("base URL flag: %w", err)
		}
		p.BaseURL = o.BaseURL
	}
	if o.Username != "" {
		p.Username = o.Username
	}
	if o.Backend != "" {
		if err := checkBackend(o.Backend); err != nil {
			return Profile{}, fmt.Errorf("backend flag: %w", err)
		}
		p.Backend = o.Backend
	}
	if o.ClientID != nil {
		if err := checkClientID(*o.ClientID); err != nil {
			return Profile{}, fmt.Errorf("client id flag: %w", err)
		}
		p.ClientID = *o.ClientID
	}
	if o.MinTTL != nil {
		if err := checkMinTTL(*o.MinTTL); err != nil {
			return Profile{}, fmt.Errorf("min-ttl flag: %w", err)
		}
		p.MinTTL = *o.MinTTL
	}
	p.BaseURL = normalizeBaseURL(p.BaseURL)
	// The file's registries must not be changed in place: a copy takes the profile's defaults.
	p.Registries = slices.Clone(p.Registries)
	for i := range p.Registries {
		r := &p.Registries[i]
		if r.ProjectID == 0 && r.ProjectName == "" {
			r.ProjectID = p.ProjectID
		}
		if r.RegionID == 0 && r.RegionName == "" {
			r.RegionID = p.RegionID
		}
	}
	return p, nil
}

// CacheKey is the identity a cached session belongs to (the reference's token engine): the normalised base URL, the
// auth kind, principal (the username, or the API token's id), the client id and the profile
// name. It is a hex SHA-256: safe as a file name, and never the username in clear.
func CacheKey(p Profile, principal string) string {
	h := sha256.New()
	var n [8]byte
	for _, field := range []string{
		"gcore-credential-helper cache key v1",
		normalizeBaseURL(p.BaseURL),
		p.Auth,
		principal,
		strconv.FormatInt(p.ClientID, 10),
		p.Name,
	} {
		// The length prefix keeps ("ab", "c") and ("a", "bc") apart.
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write([]byte(field))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// normalizeBaseURL makes equal endpoints compare equal. A value that does not parse is returned
// unchanged: Resolve rejects those, and CacheKey still needs some stable input.
func normalizeBaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	switch scheme {
	case "https":
		host = strings.TrimSuffix(host, ":443")
	case "http":
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// maxNameLen bounds a profile name; a longer one is refused without being repeated.
const maxNameLen = 64

// checkName allows what is safe as a file name and a bare-ish TOML key; "." and ".." are refused
// because other packages may use the name as a path component.
func checkName(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("invalid profile name: %d bytes long, want at most %d of A-Z a-z 0-9 . _ -", len(name), maxNameLen)
	}
	ok := len(name) >= 1 && name != "." && name != ".."
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("invalid profile name %q: want 1 to %d of A-Z a-z 0-9 . _ -", name, maxNameLen)
	}
	return nil
}

// checkBaseURL does not check the scheme (the IAM client decides what is safe to talk to, and
// doctor reports an unsafe GCORE_BASE_URL as such), and does not echo the value: a URL with
// userinfo would carry a password.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return errors.New("base URL must be absolute, such as https://api.gcore.com")
	case u.User != nil:
		return errors.New("base URL must not contain credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("base URL must not have a query or fragment")
	}
	return nil
}

// checkFileBaseURL adds the IAM client's own rule (https, or http to a loopback host)
// for a base_url in the file, so that the error names the file, line and key rather than
// surfacing later from the client.
func checkFileBaseURL(s string) error {
	if err := checkBaseURL(s); err != nil {
		return err
	}
	_, err := baseurl.Parse(s)
	return err
}

func checkAuth(s string) error {
	if s != AuthPassword && s != AuthAPIToken {
		return fmt.Errorf("want %q or %q, got %.64q", AuthPassword, AuthAPIToken, s)
	}
	return nil
}

func checkBackend(s string) error {
	if !ValidBackend(s) {
		return fmt.Errorf("want one of %s, got %.64q", strings.Join(Backends(), ", "), s)
	}
	return nil
}

func checkClientID(n int64) error {
	if n < 0 {
		return fmt.Errorf("client id must not be negative, got %d", n)
	}
	return nil
}

func checkMinTTL(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("min TTL must not be negative, got %s", d)
	}
	return nil
}

// checkAPIKeyTTL keeps minted keys short-lived but long enough to outlive min_ttl.
func checkAPIKeyTTL(d time.Duration) error {
	if d < time.Minute || d > 30*24*time.Hour {
		return fmt.Errorf("api_key_ttl must be between 1m and 720h, got %s", d)
	}
	return nil
}

// checkTimeout refuses zero too: a zero timeout means "wait forever" to net/http, and every wait
// must be bounded (the reference's token engine).
func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("timeout must be positive, got %s", d)
	}
	return nil
}

// normalizeHost checks one allowed_hosts entry: a host name or IP literal, optionally with a
// port, never a URL. Host names are compared case-insensitively, so they are stored lower-case.
func normalizeHost(entry string) (string, error) {
	h := strings.ToLower(entry)
	host, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		host, port = h[:i], h[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", badHost(entry)
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		if len(host) < 4 || strings.Trim(host[1:len(host)-1], "0123456789abcdef:.") != "" {
			return "", badHost(entry)
		}
		return h, nil
	}
	if host == "" || strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
		return "", badHost(entry)
	}
	return h, nil
}

// NormalizeHostOrEmpty is a host as an allowed_hosts entry would hold it, or
// "" when it is not one (for hosts read from the Cloud API).
func NormalizeHostOrEmpty(host string) string {
	h, err := normalizeHost(host)
	if err != nil {
		return ""
	}
	return h
}

func badHost(entry string) error {
	return fmt.Errorf("entry %.64q: want a host name or host:port, such as git.example.com or registry.example.com:5000, without scheme or path", entry)
}
