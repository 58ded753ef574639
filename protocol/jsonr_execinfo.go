package protocol

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// readPlainExecInfo reads KUBERNETES_EXEC_INFO as kubectl writes it, token by
// token, and says whether it could. Decoding into execInfoJSON is the
// reference reading, but every kube call is a fresh process, and there
// encoding/json first builds its field tables for the three struct types by
// reflection: a kube call touched 12–25 more pages of memory than with this
// reader (perf stat, 100 runs of each of two copies), which cost a cache hit
// up to 0.4 ms on the VM we measure on. This reader handles only plain input:
// each known member at most once and spelled exactly, kind and apiVersion
// strings, spec and cluster objects, interactive a boolean, server a string
// and config an object; unknown members are skipped. Anything else (a repeated
// or differently cased member, null, a wrong type, invalid JSON, trailing
// data) returns ok false, and decodeObject reads the input with its rules and
// errors. FuzzPlainExecInfo holds the two to the same result.
func readPlainExecInfo(env string) (in execInfoJSON, ok bool) {
	if len(env) > maxJSONSize {
		return in, false
	}
	r := plainReader{dec: json.NewDecoder(strings.NewReader(env))}
	err := r.object([]string{"kind", "apiVersion", "spec"}, func(name string) error {
		switch name {
		case "kind":
			kind, err := r.str()
			in.Kind = kind
			return err
		case "apiVersion":
			version, err := r.str()
			in.APIVersion = version
			return err
		}
		return r.object([]string{"interactive", "cluster"}, func(name string) error {
			if name == "interactive" {
				tok, err := r.dec.Token()
				b, isBool := tok.(bool)
				if err == nil && !isBool {
					err = errNotPlain
				}
				in.Spec.Interactive = &b
				return err
			}
			in.Spec.Cluster = &ExecCluster{}
			return r.object([]string{"server", "config"}, func(name string) error {
				if name == "server" {
					server, err := r.str()
					in.Spec.Cluster.Server = server
					return err
				}
				return r.config(&in.Spec.Cluster.Config)
			})
		})
	})
	if err != nil {
		return in, false
	}
	if _, err := r.dec.Token(); err != io.EOF {
		return in, false // something after the object
	}
	return in, true
}

// errNotPlain stops readPlainExecInfo: the input is left to decodeObject.
var errNotPlain = errors.New("not plain")

type plainReader struct{ dec *json.Decoder }

// object reads an object whose known members are names, calling member for
// each; it skips the value of any other member.
func (r plainReader) object(names []string, member func(name string) error) error {
	if tok, err := r.dec.Token(); err != nil || tok != json.Delim('{') {
		return errNotPlain
	}
	seen := make([]bool, len(names))
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return errNotPlain
		}
		name, _ := tok.(string)
		i, known := plainMember(name, names)
		switch {
		case i < 0 && known:
			return errNotPlain // spelled differently, or not ASCII: encoding/json may fold it onto a known one
		case i < 0:
			var skipped json.RawMessage
			if r.dec.Decode(&skipped) != nil {
				return errNotPlain
			}
			continue
		case seen[i]:
			return errNotPlain // repeated: encoding/json merges or overwrites
		}
		seen[i] = true
		if err := member(name); err != nil {
			return err
		}
	}
	if tok, err := r.dec.Token(); err != nil || tok != json.Delim('}') {
		return errNotPlain
	}
	return nil
}

// plainMember finds name in names. known is also true for a name that is not
// one of them but might match one the way encoding/json matches member names
// (folding case, Unicode included), which the plain reader leaves alone.
func plainMember(name string, names []string) (i int, known bool) {
	for i, n := range names {
		if name == n {
			return i, true
		}
	}
	for _, c := range []byte(name) {
		if c >= 0x80 {
			return -1, true
		}
	}
	for _, n := range names {
		if strings.EqualFold(name, n) {
			return -1, true
		}
	}
	return -1, false
}

func (r plainReader) str() (string, error) {
	tok, err := r.dec.Token()
	s, ok := tok.(string)
	if err != nil || !ok {
		return "", errNotPlain
	}
	return s, nil
}

// config reads the kubeconfig's exec extension, an object of any JSON.
func (r plainReader) config(into *map[string]any) error {
	var raw json.RawMessage
	if r.dec.Decode(&raw) != nil || len(raw) == 0 || raw[0] != '{' {
		return errNotPlain
	}
	if json.Unmarshal(raw, into) != nil {
		return errNotPlain
	}
	return nil
}
