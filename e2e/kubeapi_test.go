package e2e

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// kubeAPI is a fake kube-apiserver on 127.0.0.1 over TLS. It serves only what kubectl reads for
// `get --raw /version` and `get namespaces -o name` (the version, legacy discovery and the
// namespace list), and only to a caller whose bearer token valid accepts: the helper's token
// must reach it exactly as kubectl sends it.
type kubeAPI struct {
	srv                *httptest.Server
	namespaces         []string // served in this order
	accepted, rejected atomic.Int64
}

// newKubeAPI starts a fake kube-apiserver that accepts the tokens valid says are good; it stops
// when the test ends.
func newKubeAPI(t *testing.T, valid func(token string) bool) *kubeAPI {
	k := &kubeAPI{namespaces: []string{"default", "gcore-e2e"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		writeKube(w, http.StatusOK, map[string]any{
			"major": "1", "minor": "32", "gitVersion": "v1.32.0-gcore-e2e", "platform": "linux/amd64",
		})
	})
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, _ *http.Request) {
		writeKube(w, http.StatusOK, map[string]any{
			"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}},
		})
	})
	mux.HandleFunc("GET /apis", func(w http.ResponseWriter, _ *http.Request) {
		writeKube(w, http.StatusOK, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{}})
	})
	mux.HandleFunc("GET /api/v1", func(w http.ResponseWriter, _ *http.Request) {
		writeKube(w, http.StatusOK, map[string]any{
			"kind": "APIResourceList", "groupVersion": "v1",
			"resources": []map[string]any{{
				"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace",
				"verbs": []string{"get", "list"}, "shortNames": []string{"ns"},
			}},
		})
	})
	mux.HandleFunc("GET /api/v1/namespaces", func(w http.ResponseWriter, _ *http.Request) {
		items := []map[string]any{}
		for _, name := range k.namespaces {
			items = append(items, map[string]any{
				"kind": "Namespace", "apiVersion": "v1", "metadata": map[string]any{"name": name},
			})
		}
		writeKube(w, http.StatusOK, map[string]any{
			"kind": "NamespaceList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "1"}, "items": items,
		})
	})
	k.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !valid(token) {
			k.rejected.Add(1)
			writeKube(w, http.StatusUnauthorized, map[string]any{
				"kind": "Status", "apiVersion": "v1", "status": "Failure",
				"message": "Unauthorized", "reason": "Unauthorized", "code": http.StatusUnauthorized,
			})
			return
		}
		k.accepted.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func writeKube(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// kubeconfig writes a kubeconfig for this server into dir whose only user has the exec stanza
// exec, and returns its path. JSON is YAML, so the file is plain encoding/json.
func (k *kubeAPI) kubeconfig(t *testing.T, dir string, exec map[string]any) string {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw})
	cfg := map[string]any{
		"apiVersion": "v1",
		"kind":       "Config",
		"clusters": []any{map[string]any{"name": "fake", "cluster": map[string]any{
			"server":                     k.srv.URL,
			"certificate-authority-data": base64.StdEncoding.EncodeToString(ca),
		}}},
		"users":           []any{map[string]any{"name": "gcore", "user": map[string]any{"exec": exec}}},
		"contexts":        []any{map[string]any{"name": "fake", "context": map[string]any{"cluster": "fake", "user": "gcore"}}},
		"current-context": "fake",
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
