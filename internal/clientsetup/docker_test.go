package clientsetup

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// otherDockerContent has what setup must keep: auths, credsStore, an unknown key holding values
// a decode into Go types would alter (big numbers, HTML characters, escapes), and another host.
const otherDockerContent = `{
  "auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"}},
  "credsStore": "desktop",
  "credHelpers": {"gcr.io": "gcloud"},
  "x-unknown": {"big": 123456789012345678901234567890, "f": 1.50, "html": "<a&b>", "esc": "\u00e9\n", "list": [true, null]}
}`

func TestDockerApply(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	writeFile(t, path, otherDockerContent)
	d := Docker{ConfigFile: path, Hosts: []string{"registry.gcore.com", "r2.gcore.com:5000"}, Now: fixedNow}

	changed, bak, err := d.Apply()
	if err != nil || !changed {
		t.Fatalf("Apply() = %v, %q, %v; want a change", changed, bak, err)
	}
	if want := path + ".bak-" + fixedStamp; bak != want {
		t.Errorf("backup %q, want %q", bak, want)
	}
	wantMode(t, bak, 0o600)
	wantMode(t, path, 0o600)
	if got := readString(t, bak); got != otherDockerContent {
		t.Errorf("backup holds %q, want the original", got)
	}

	before, after := topLevel(t, []byte(otherDockerContent)), topLevel(t, []byte(readString(t, path)))
	for key, raw := range before {
		if key == "credHelpers" {
			continue
		}
		if got := after[key]; !bytes.Equal(compact(t, got), compact(t, raw)) {
			t.Errorf("%s changed: got %s, want %s", key, got, raw)
		}
	}
	if len(after) != len(before) {
		t.Errorf("top-level keys: got %d, want %d", len(after), len(before))
	}
	var helpers map[string]string
	if err := json.Unmarshal(after["credHelpers"], &helpers); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"gcr.io": "gcloud", "registry.gcore.com": "gcore", "r2.gcore.com:5000": "gcore"}
	if diff := cmp.Diff(want, helpers); diff != "" {
		t.Errorf("credHelpers (-want +got):\n%s", diff)
	}

	applied := readString(t, path)
	changed, bak2, err := d.Apply()
	if err != nil || changed || bak2 != "" {
		t.Errorf("second Apply() = %v, %q, %v; want no change", changed, bak2, err)
	}
	if readString(t, path) != applied {
		t.Error("second Apply rewrote the file")
	}
	if diff := cmp.Diff([]string{"config.json", filepath.Base(bak)}, dirNames(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

func TestDockerApplyCreatesFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".docker")
	path := filepath.Join(dir, "config.json")
	d := Docker{ConfigFile: path, Hosts: []string{"registry.gcore.com"}, Now: fixedNow}
	changed, bak, err := d.Apply()
	if err != nil || !changed || bak != "" {
		t.Fatalf("Apply() = %v, %q, %v; want a change and no backup", changed, bak, err)
	}
	wantMode(t, dir, 0o700)
	wantMode(t, path, 0o600)
	if got, want := readString(t, path), d.Snippet(); got != want {
		t.Errorf("new file:\n%s\nwant the snippet:\n%s", got, want)
	}
}

func TestDockerApplyNoChangeLeavesFileAlone(t *testing.T) {
	tests := map[string]string{
		"already set, hand formatted": `{"credHelpers":{"registry.gcore.com":"gcore"},  "auths":{}}`,
		"escaped value":               `{"credHelpers":{"registry.gcore.com":"gc\u006fre"}}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			writeFile(t, path, content)
			changed, bak, err := Docker{ConfigFile: path, Hosts: []string{"registry.gcore.com"}}.Apply()
			if err != nil || changed || bak != "" {
				t.Errorf("Apply() = %v, %q, %v; want no change", changed, bak, err)
			}
			if got := readString(t, path); got != content {
				t.Errorf("file rewritten: %q", got)
			}
		})
	}
}

func TestDockerApplyAcceptsEmptyConfigs(t *testing.T) {
	for name, content := range map[string]string{
		"empty file":       "",
		"blank file":       " \n",
		"empty object":     "{}",
		"null credHelpers": `{"credHelpers": null}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			writeFile(t, path, content)
			d := Docker{ConfigFile: path, Hosts: []string{"registry.gcore.com"}, Now: fixedNow}
			changed, bak, err := d.Apply()
			if err != nil || !changed || bak == "" {
				t.Fatalf("Apply() = %v, %q, %v; want a change and a backup", changed, bak, err)
			}
			if got, want := readString(t, path), d.Snippet(); got != want {
				t.Errorf("file:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDockerApplyRefusesNonObject(t *testing.T) {
	for name, content := range map[string]string{
		"array":                `[1, 2]`,
		"null":                 `null`,
		"string":               `"x"`,
		"garbage":              `{"auths": `,
		"trailing data":        `{} {}`,
		"credHelpers string":   `{"credHelpers": "gcore"}`,
		"credHelpers an array": `{"credHelpers": ["registry.gcore.com"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.json")
			writeFile(t, path, content)
			changed, bak, err := Docker{ConfigFile: path, Hosts: []string{"registry.gcore.com"}}.Apply()
			if !errors.Is(err, ErrNotJSONObject) || changed || bak != "" {
				t.Errorf("Apply() = %v, %q, %v; want ErrNotJSONObject", changed, bak, err)
			}
			if got := readString(t, path); got != content {
				t.Errorf("file changed to %q", got)
			}
			if diff := cmp.Diff([]string{"config.json"}, dirNames(t, dir)); diff != "" {
				t.Errorf("directory (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDockerApplyRefusesBadHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	for _, hosts := range [][]string{nil, {"https://registry.gcore.com"}, {"registry.gcore.com/v2"}} {
		if _, _, err := (Docker{ConfigFile: path, Hosts: hosts}).Apply(); err == nil {
			t.Errorf("Apply with hosts %q succeeded", hosts)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config file created: %v", err)
	}
}

func TestDockerApplyKeepsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "docker.json")
	writeFile(t, target, `{"auths": {}}`)
	link := filepath.Join(dir, "config.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (Docker{ConfigFile: link, Hosts: []string{"registry.gcore.com"}, Now: fixedNow}).Apply(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced by a regular file: %v", err)
	}
	if got := topLevel(t, []byte(readString(t, target))); got["credHelpers"] == nil {
		t.Errorf("target not updated: %v", got)
	}
}

func TestDockerSnippet(t *testing.T) {
	got := Docker{Hosts: []string{"registry.gcore.com", "a.gcore.com:5000"}}.Snippet()
	want := "{\n\t\"credHelpers\": {\n\t\t\"a.gcore.com:5000\": \"gcore\",\n\t\t\"registry.gcore.com\": \"gcore\"\n\t}\n}\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snippet (-want +got):\n%s", diff)
	}
}

// FuzzSetCredHelpers checks, for any file content, that the edit either refuses it as not an
// object or sets the helper while keeping every other top-level value, and is idempotent.
func FuzzSetCredHelpers(f *testing.F) {
	for _, seed := range []string{otherDockerContent, "", "{}", "null", "[]", `{"credHelpers":null}`,
		`{"credHelpers":{"registry.gcore.com":"x"}}`, `{"a":"\ud800"}`, `{"a":1,"a":2}`} {
		f.Add([]byte(seed))
	}
	hosts := []string{"registry.gcore.com"}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, changed, err := setCredHelpers(in, hosts, DockerHelper)
		if err != nil {
			if !errors.Is(err, ErrNotJSONObject) {
				t.Fatalf("error %v is not ErrNotJSONObject", err)
			}
			return
		}
		if !changed {
			if !bytes.Equal(out, in) {
				t.Fatal("no change reported but content differs")
			}
			return
		}
		before, after := map[string]json.RawMessage{}, topLevel(t, out)
		if len(bytes.TrimSpace(in)) > 0 {
			before = topLevel(t, in)
		}
		for key, raw := range before {
			if key != "credHelpers" && !bytes.Equal(compact(t, after[key]), compact(t, raw)) {
				t.Fatalf("%q changed from %s to %s", key, raw, after[key])
			}
		}
		var helpers map[string]json.RawMessage
		if err := json.Unmarshal(after["credHelpers"], &helpers); err != nil || string(helpers[hosts[0]]) != `"gcore"` {
			t.Fatalf("credHelpers = %s, %v", after["credHelpers"], err)
		}
		if again, changed, err := setCredHelpers(out, hosts, DockerHelper); err != nil || changed || !bytes.Equal(again, out) {
			t.Fatalf("second edit: changed=%v err=%v", changed, err)
		}
	})
}

func topLevel(t *testing.T, data []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return m
}

func compact(t *testing.T, raw json.RawMessage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %q: %v", raw, err)
	}
	return b.Bytes()
}
