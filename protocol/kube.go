package protocol

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ExecCredential API versions kubectl speaks to credential plugins.
const (
	KubeV1      = "client.authentication.k8s.io/v1"
	KubeV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// ErrUnknownAPIVersion is returned for an ExecCredential apiVersion this
// helper does not speak; kubectl must then be told, not guessed at.
var ErrUnknownAPIVersion = errors.New("unknown ExecCredential apiVersion")

// ExecInfo is what kubectl tells an exec credential plugin in
// KUBERNETES_EXEC_INFO.
type ExecInfo struct {
	APIVersion  string       // KubeV1beta1 when KUBERNETES_EXEC_INFO is empty
	Interactive *bool        // spec.interactive; nil when absent
	Cluster     *ExecCluster // spec.cluster; nil when kubectl sent no cluster info
}

// ExecCluster is the part of spec.cluster a plugin may act on.
type ExecCluster struct {
	Server string         `json:"server"`
	Config map[string]any `json:"config"` // spec.cluster.config, the kubeconfig's exec extension
}

// execInfoJSON is KUBERNETES_EXEC_INFO as decoded. kind and apiVersion are
// any so that an error can say what they were instead of only that their
// type was wrong; an ExecCluster is decoded as it is.
type execInfoJSON struct {
	Kind       any `json:"kind"`
	APIVersion any `json:"apiVersion"`
	Spec       struct {
		Interactive *bool        `json:"interactive"`
		Cluster     *ExecCluster `json:"cluster"`
	} `json:"spec"`
}

// ParseExecInfo parses KUBERNETES_EXEC_INFO. Old kubectl versions do not set
// it and speak v1beta1.
func ParseExecInfo(env string) (ExecInfo, error) {
	if env == "" {
		return ExecInfo{APIVersion: KubeV1beta1}, nil
	}
	in, err := decodeObject[execInfoJSON]([]byte(env))
	if in == nil {
		return ExecInfo{}, err
	}
	// err is now nil or a member of the wrong type, which says less than a
	// wrong kind or version: those come first.
	if kind, _ := in.Kind.(string); kind != "ExecCredential" {
		return ExecInfo{}, fmt.Errorf("kind is %s, want ExecCredential", describe(in.Kind))
	}
	apiVersion, _ := in.APIVersion.(string)
	if verr := checkAPIVersion(apiVersion); verr != nil {
		return ExecInfo{}, verr
	}
	if err != nil {
		return ExecInfo{}, err
	}
	return ExecInfo{APIVersion: apiVersion, Interactive: in.Spec.Interactive, Cluster: in.Spec.Cluster}, nil
}

// describe names a JSON value in an error message. Only kind and apiVersion
// are shown this way: they are never secret. The input may be 64 KiB, so
// %.64q repeats at most the first 64 characters, as config errors do.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%.64q", s)
	}
	if v == nil {
		return "missing"
	}
	return "not a string"
}

func checkAPIVersion(v string) error {
	if v != KubeV1 && v != KubeV1beta1 {
		return fmt.Errorf("%w %s (want %s or %s)", ErrUnknownAPIVersion, describe(v), KubeV1, KubeV1beta1)
	}
	return nil
}

// ExecCredentialStatus is the credential a plugin hands kubectl.
type ExecCredentialStatus struct {
	Token string
	// ExpirationTimestamp is when kubectl should ask again; zero omits it
	// and kubectl keeps the token until a request is refused.
	ExpirationTimestamp time.Time
	// ClientCertificateData and ClientKeyData are PEM; omitted when empty.
	ClientCertificateData, ClientKeyData string
}

// WriteExecCredential writes st as an ExecCredential of apiVersion, which
// should be the one kubectl sent.
func WriteExecCredential(w io.Writer, apiVersion string, st ExecCredentialStatus) error {
	if err := checkAPIVersion(apiVersion); err != nil {
		return err
	}
	// kubectl refuses a status without a token or a complete key pair; say so here, more clearly.
	if (st.ClientCertificateData == "") != (st.ClientKeyData == "") {
		return errors.New("exec credential needs both client certificate and key data, or neither")
	}
	if st.Token == "" && st.ClientCertificateData == "" {
		return errors.New("exec credential has neither a token nor a client certificate")
	}
	status := newObject()
	if st.Token != "" {
		status.str("token", st.Token)
	}
	if !st.ExpirationTimestamp.IsZero() {
		status.str("expirationTimestamp", st.ExpirationTimestamp.UTC().Format(time.RFC3339))
	}
	if st.ClientCertificateData != "" {
		status.str("clientCertificateData", st.ClientCertificateData).str("clientKeyData", st.ClientKeyData)
	}
	o := newObject().str("kind", "ExecCredential").str("apiVersion", apiVersion).obj("status", status)
	_, err := w.Write(append(o.bytes(), '\n'))
	return err
}
