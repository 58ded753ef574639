package protocol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// What kubectl sends: the plain reader must take these, or every kube call
// pays encoding/json's reflection again.
var kubectlExecInfos = []string{
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://k8s.example.com:6443",` +
		`"certificate-authority-data":"LS0t","config":{"profile":"prod","cluster":"c1","n":[1,{"a":null}]}},"interactive":false}}`,
	"{\n  \"apiVersion\": \"client.authentication.k8s.io/v1\",\n  \"kind\": \"ExecCredential\",\n  \"spec\": {\n    \"interactive\": true\n  }\n}",
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://a","tls-server-name":"x","insecure-skip-tls-verify":false,"proxy-url":"http://p"}}}`,
}

// Input the plain reader must leave to encoding/json, whose rules decide it.
var oddExecInfos = []string{
	`{"Kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"}`,
	`{"kind":"Pod","kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true},"spec":{}}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":null}}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":null}}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"config":null}}}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","ſpec":{}}`,
	`{"kind":1,"apiVersion":"client.authentication.k8s.io/v1"}`,
	`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"} {}`,
	`{"kind":"ExecCredential",`,
	`null`,
}

func TestPlainExecInfoReader(t *testing.T) {
	for _, env := range kubectlExecInfos {
		if _, ok := readPlainExecInfo(env); !ok {
			t.Errorf("the plain reader refused kubectl's %s", env)
		}
		checkPlainAgreesWithDecoder(t, env)
	}
	for _, env := range oddExecInfos {
		if _, ok := readPlainExecInfo(env); ok {
			t.Errorf("the plain reader took %s, which encoding/json's rules must decide", env)
		}
	}
}

// checkPlainAgreesWithDecoder fails if the plain reader takes env and reads
// anything other than what decodeObject reads.
func checkPlainAgreesWithDecoder(t *testing.T, env string) {
	t.Helper()
	plain, ok := readPlainExecInfo(env)
	if !ok {
		return
	}
	decoded, err := decodeObject[execInfoJSON]([]byte(env))
	if err != nil || decoded == nil {
		t.Fatalf("the plain reader took %q, which encoding/json refuses: %v", env, err)
	}
	if diff := cmp.Diff(*decoded, plain); diff != "" {
		t.Fatalf("%q: the plain reader differs from encoding/json (-json +plain):\n%s", env, diff)
	}
}

func FuzzPlainExecInfo(f *testing.F) {
	for _, env := range append(kubectlExecInfos, oddExecInfos...) {
		f.Add(env)
	}
	f.Fuzz(checkPlainAgreesWithDecoder)
}
