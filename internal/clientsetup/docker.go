package clientsetup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DockerHelper is the credHelpers value that makes docker run docker-credential-gcore; a
// profile's own persona is DockerHelper + "-" + profile (docker-credential-gcore-PROFILE).
const DockerHelper = "gcore"

// ErrNotJSONObject is returned by Docker.Apply for a config file (or a credHelpers value) that
// is not a JSON object; the file is left untouched, since rewriting it would lose what it holds.
var ErrNotJSONObject = errors.New("not a JSON object")

// Docker points docker's credHelpers for some registry hosts at the credential helper.
type Docker struct {
	// ConfigFile is docker's config.json: ~/.docker/config.json or $DOCKER_CONFIG/config.json.
	ConfigFile string
	// Hosts are the registry hosts (host[:port], no scheme) to route to the helper.
	Hosts []string
	// Helper is the credHelpers value; "" means DockerHelper.
	Helper string
	// Now names backups; nil means time.Now.
	Now func() time.Time
}

// Snippet returns the credHelpers object to merge into config.json by hand.
func (d Docker) Snippet() string {
	helpers := make(map[string]string, len(d.Hosts))
	for _, h := range d.Hosts {
		helpers[h] = d.helper()
	}
	b, _ := encodeJSON(map[string]any{"credHelpers": helpers}, "\t") // maps of strings always encode
	return string(b)
}

func (d Docker) helper() string {
	if d.Helper == "" {
		return DockerHelper
	}
	return d.Helper
}

// Apply sets credHelpers[host] to the helper for every host, keeping every other key and value of
// the file. It creates a missing file (0600, directory 0700); it writes nothing, and makes no
// backup, when every host is already set.
func (d Docker) Apply() (changed bool, backupPath string, err error) {
	if err := checkHosts(d.Hosts); err != nil {
		return false, "", fmt.Errorf("set up docker: %w", err)
	}
	path, err := resolve(d.ConfigFile)
	if err != nil {
		return false, "", err
	}
	old, exists, err := readFile(path)
	if err != nil {
		return false, "", err
	}
	updated, changed, err := setCredHelpers(old, d.Hosts, d.helper())
	if err != nil {
		return false, "", fmt.Errorf("docker config %s: %w", path, err)
	}
	if !changed {
		return false, "", nil
	}
	if exists {
		now := time.Now
		if d.Now != nil {
			now = d.Now
		}
		if backupPath, err = backup(path, old, now()); err != nil {
			return false, "", err
		}
	}
	if err := writeAtomic(path, updated); err != nil {
		return false, backupPath, err
	}
	return true, backupPath, nil
}

// setCredHelpers returns config with credHelpers[host] = helper for every host. It decodes
// only the top level and credHelpers, into json.RawMessage, so every other value is written back
// as it was (re-indented, never re-interpreted: numbers keep their digits, unknown keys stay).
func setCredHelpers(config []byte, hosts []string, helper string) ([]byte, bool, error) {
	top, err := decodeObject(config)
	if err != nil {
		return nil, false, err
	}
	if top == nil {
		top = map[string]json.RawMessage{} // an empty file is docker's empty config
	}
	var helpers map[string]json.RawMessage
	if raw, ok := top["credHelpers"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if helpers, err = decodeObject(raw); err != nil {
			return nil, false, fmt.Errorf("credHelpers: %w", err)
		}
	}
	if helpers == nil {
		helpers = map[string]json.RawMessage{}
	}
	changed := false
	for _, h := range hosts {
		var v string
		if json.Unmarshal(helpers[h], &v) == nil && v == helper {
			continue
		}
		if helpers[h], err = encodeJSON(helper, ""); err != nil {
			return nil, false, err
		}
		changed = true
	}
	if !changed {
		return config, false, nil
	}
	if top["credHelpers"], err = encodeJSON(helpers, ""); err != nil {
		return nil, false, err
	}
	out, err := encodeJSON(top, "\t")
	return out, true, err
}

// decodeObject decodes a JSON object one level deep; blank input gives a nil map.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSONObject, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: null", ErrNotJSONObject)
	}
	return m, nil
}

// encodeJSON encodes without HTML escaping, so "&" in a kept value is not rewritten as \u0026;
// tab indentation matches what docker itself writes.
func encodeJSON(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode docker config: %w", err)
	}
	return b.Bytes(), nil
}
