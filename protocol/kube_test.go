package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseExecInfo(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name, env string
		want      ExecInfo
		wantErr   string // a substring of the error; "" for none
	}{
		{name: "absent", env: "", want: ExecInfo{APIVersion: KubeV1beta1}},
		{name: "v1 not interactive",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
			want: ExecInfo{APIVersion: KubeV1, Interactive: &no}},
		{name: "v1beta1 interactive",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}`,
			want: ExecInfo{APIVersion: KubeV1beta1, Interactive: &yes}},
		{name: "interactive missing",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{}}`,
			want: ExecInfo{APIVersion: KubeV1}},
		{name: "no spec",
			env:  `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}`,
			want: ExecInfo{APIVersion: KubeV1}},
		{name: "cluster with config extension",
			env: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true,
				"cluster":{"server":"https://k8s.example.com:6443","certificate-authority-data":"LS0t",
				"config":{"profile":"prod","regions":["ed",1]}}}}`,
			want: ExecInfo{APIVersion: KubeV1, Interactive: &yes, Cluster: &ExecCluster{
				Server: "https://k8s.example.com:6443",
				Config: map[string]any{"profile": "prod", "regions": []any{"ed", 1.0}}}}},
		{name: "cluster without config",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","config":null}}}`,
			want: ExecInfo{APIVersion: KubeV1, Cluster: &ExecCluster{Server: "https://a"}}},
		{name: "null cluster",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":null}}`,
			want: ExecInfo{APIVersion: KubeV1}},
		// As encoding/json decodes (see jsonr.go): names fold case, the last
		// repeated member wins, a repeated object is merged.
		{name: "names fold case",
			env:  `{"Kind":"ExecCredential","APIVersion":"client.authentication.k8s.io/v1","Spec":{"Interactive":true}}`,
			want: ExecInfo{APIVersion: KubeV1, Interactive: &yes}},
		{name: "the last repeated member wins",
			env:  `{"kind":"Pod","kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true,"interactive":false}}`,
			want: ExecInfo{APIVersion: KubeV1, Interactive: &no}},
		{name: "a repeated spec is merged",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true},"spec":{"cluster":{"server":"https://a"}}}`,
			want: ExecInfo{APIVersion: KubeV1, Interactive: &yes, Cluster: &ExecCluster{Server: "https://a"}}},
		{name: "null members are absent",
			env:  `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":null,"cluster":{"server":null}}}`,
			want: ExecInfo{APIVersion: KubeV1, Cluster: &ExecCluster{}}},
		{name: "unknown version",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}`,
			wantErr: `unknown ExecCredential apiVersion "client.authentication.k8s.io/v1alpha1"`},
		{name: "no version", env: `{"kind":"ExecCredential"}`, wantErr: `unknown ExecCredential apiVersion ""`},
		{name: "wrong kind", env: `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}`,
			wantErr: `kind is "Pod", want ExecCredential`},
		{name: "no kind", env: `{"apiVersion":"client.authentication.k8s.io/v1"}`, wantErr: "kind is missing"},
		{name: "kind not a string", env: `{"kind":1}`, wantErr: "kind is not a string"},
		{name: "malformed", env: `{"kind":"ExecCredential",`, wantErr: "invalid json"},
		{name: "blank", env: " ", wantErr: "invalid json"},
		{name: "not an object", env: `["ExecCredential"]`, wantErr: "not a JSON object"},
		{name: "spec not an object",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":true}`,
			wantErr: "spec has the wrong type"},
		{name: "interactive not a boolean",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"false"}}`,
			wantErr: "spec.interactive is not a boolean"},
		{name: "config not an object",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"config":"x"}}}`,
			wantErr: "spec.cluster.config has the wrong type"},
		{name: "oversize", env: `{"kind":"ExecCredential","pad":"` + strings.Repeat("x", 64<<10) + `"}`,
			wantErr: "larger than 65536 bytes"},
		{name: "too deep", env: `{"kind":"ExecCredential","spec":{"cluster":{"config":{"a":` + strings.Repeat("[", maxJSONDepth) + `}}}}`,
			wantErr: "nested deeper than 10000 levels"},
		{name: "invalid UTF-8 outside a string", env: "{\xff}", wantErr: "invalid json at offset 1"},
		{name: "invalid UTF-8 in kind", env: "{\"kind\":\"\xff\"}", wantErr: "kind is \"\ufffd\", want ExecCredential"},
		{name: "NUL", env: "{\"kind\":\"ExecCredential\"\x00}", wantErr: "invalid json"},
		{name: "top-level null", env: "null", wantErr: "not a JSON object"},
		{name: "cluster not an object",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":"https://a"}}`,
			wantErr: "spec.cluster has the wrong type"},
		{name: "server not a string",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":6443}}}`,
			wantErr: "spec.cluster.server has the wrong type"},
		{name: "a wrong kind says more than a member of the wrong type",
			env: `{"spec":{"interactive":"no"},"kind":"Pod"}`, wantErr: `kind is "Pod", want ExecCredential`},
		{name: "an unknown version says more than a member of the wrong type",
			env:     `{"spec":true,"kind":"ExecCredential","apiVersion":"v9"}`,
			wantErr: `unknown ExecCredential apiVersion "v9"`},
		{name: "number out of range in the extension",
			env:     `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"config":{"n":1e999}}}}`,
			wantErr: "invalid json: number out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExecInfo(tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseExecInfoLongValues guards issue #5 item 4: KUBERNETES_EXEC_INFO may be up to 64 KiB
// of anything, and an error repeats at most a short prefix of the value it names.
func TestParseExecInfoLongValues(t *testing.T) {
	long := strings.Repeat("v", 60<<10)
	for _, env := range []string{
		`{"kind":"ExecCredential","apiVersion":"` + long + `"}`,
		`{"kind":"` + long + `"}`,
	} {
		_, err := ParseExecInfo(env)
		if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), `"`+strings.Repeat("v", 64)+`"`) {
			t.Errorf("got error %.300v (%d bytes), want a short one that cuts the value", err, len(fmt.Sprint(err)))
		}
	}
}

func TestParseExecInfoUnknownVersionIsSentinel(t *testing.T) {
	_, err := ParseExecInfo(`{"kind":"ExecCredential","apiVersion":"v9"}`)
	if !errors.Is(err, ErrUnknownAPIVersion) {
		t.Fatalf("got %v, want an error wrapping ErrUnknownAPIVersion", err)
	}
}

func TestWriteExecCredentialGolden(t *testing.T) {
	exp := time.Date(2026, 1, 2, 15, 59, 5, 999e6, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name, apiVersion string
		st               ExecCredentialStatus
	}{
		{"kube-v1.json", KubeV1, ExecCredentialStatus{Token: `eyJ.a"b\c`, ExpirationTimestamp: exp}},
		{"kube-v1beta1.json", KubeV1beta1, ExecCredentialStatus{Token: "eyJ.x.y", ExpirationTimestamp: exp}},
		{"kube-no-expiry.json", KubeV1, ExecCredentialStatus{Token: "42_key"}},
		{"kube-client-cert.json", KubeV1, ExecCredentialStatus{ExpirationTimestamp: exp,
			ClientCertificateData: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
			ClientKeyData:         "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteExecCredential(&buf, tc.apiVersion, tc.st); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, buf.Bytes())
			if !json.Valid(buf.Bytes()) {
				t.Fatalf("invalid JSON: %s", buf.Bytes())
			}
		})
	}
}

func TestWriteExecCredentialRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, apiVersion string
		st               ExecCredentialStatus
	}{
		{"unknown version", "client.authentication.k8s.io/v1alpha1", ExecCredentialStatus{Token: "t"}},
		{"no version", "", ExecCredentialStatus{Token: "t"}},
		{"no credential", KubeV1, ExecCredentialStatus{ExpirationTimestamp: time.Unix(1, 0)}},
		{"certificate without key", KubeV1, ExecCredentialStatus{Token: "t", ClientCertificateData: "c"}},
		{"key without certificate", KubeV1, ExecCredentialStatus{ClientKeyData: "k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteExecCredential(&buf, tc.apiVersion, tc.st); err == nil || buf.Len() != 0 {
				t.Fatalf("got error %v and output %q, want an error and no output", err, buf.Bytes())
			}
		})
	}
}

func FuzzParseExecInfo(f *testing.F) {
	for _, s := range []string{"",
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"s","config":{"a":[1]}}}}`,
		`{"kind":"ExecCredential","apiVersion":"x"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, env string) {
		info, err := ParseExecInfo(env)
		if err != nil {
			return
		}
		if info.APIVersion != KubeV1 && info.APIVersion != KubeV1beta1 {
			t.Fatalf("accepted apiVersion %q", info.APIVersion)
		}
		if env != "" && !json.Valid([]byte(env)) {
			t.Fatalf("accepted invalid JSON %q", env)
		}
		// Whatever version was accepted, the answer can be written in it.
		if err := WriteExecCredential(&bytes.Buffer{}, info.APIVersion, ExecCredentialStatus{Token: "t"}); err != nil {
			t.Fatal(err)
		}
	})
}
