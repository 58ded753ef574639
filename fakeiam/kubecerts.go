package fakeiam

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// certBackdate lets a verifier whose clock lags the fake's a little accept a new certificate.
const certBackdate = time.Hour

// clusterPKI is one cluster's certificate authority and the certificates it signed.
type clusterPKI struct {
	caPEM, clientCertPEM, clientKeyPEM []byte
	clientNotAfter                     time.Time
	server                             tls.Certificate
	clientCAs                          *x509.CertPool
}

// newClusterPKI makes a CA and the apiserver's and the user's certificates, as of now.
func newClusterPKI(name string, now time.Time) (*clusterPKI, error) {
	from := now.Add(-certBackdate)
	ca, caKey, err := issueCert(&x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fakeiam " + name + " CA"},
		NotBefore:             from,
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("issue cluster CA: %w", err)
	}
	server, serverKey, err := issueCert(&x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    from,
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	if err != nil {
		return nil, fmt.Errorf("issue apiserver certificate: %w", err)
	}
	// Gcore's cluster client certificates live two years (the reference's service credentials).
	client, clientKey, err := issueCert(&x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "gcore-user", Organization: []string{"system:masters"}},
		NotBefore:    from,
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey)
	if err != nil {
		return nil, fmt.Errorf("issue client certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		return nil, fmt.Errorf("encode client key: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &clusterPKI{
		caPEM:          pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		clientCertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.Raw}),
		clientKeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		clientNotAfter: client.NotAfter,
		server:         tls.Certificate{Certificate: [][]byte{server.Raw}, PrivateKey: serverKey, Leaf: server},
		clientCAs:      pool,
	}, nil
}

// issueCert makes a key and a certificate from tmpl signed by parent's key, or self-signed when
// parent is nil.
func issueCert(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, key, nil
}

// kubeconfig is the cluster's admin kubeconfig as Cloud returns it: YAML with the credentials
// embedded. Strings are quoted Go-style, which YAML's double-quoted scalars accept.
func (p *clusterPKI) kubeconfig(name, host string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]q
  cluster:
    server: %[2]q
    certificate-authority-data: %[3]s
users:
- name: %[4]q
  user:
    client-certificate-data: %[5]s
    client-key-data: %[6]s
contexts:
- name: %[7]q
  context:
    cluster: %[1]q
    user: %[4]q
current-context: %[7]q
`, name, host, b64(p.caPEM), name+"-admin", b64(p.clientCertPEM), b64(p.clientKeyPEM), name+"-admin@"+name)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// KubeAPIServer is a fake kube-apiserver for one cluster, started by StartKubeAPIServer.
type KubeAPIServer struct {
	URL string // https://127.0.0.1:PORT, which is also the cluster's Host

	mu    sync.Mutex
	names []string
}

// ClientNames returns the common name of the client certificate of every request served, in
// order.
func (k *KubeAPIServer) ClientNames() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.names...)
}

// StartKubeAPIServer serves h over TLS on 127.0.0.1 until the test ends, as the apiserver of
// the cluster added with AddCluster, and sets the cluster's Host to its URL. It presents the
// cluster's server certificate and refuses, in the TLS handshake, a client without a
// certificate signed by the cluster's CA and valid by the fake's clock. A nil h answers only
// GET /version and GET /api, enough for `kubectl get --raw /version` and `kubectl version`;
// pass a handler for more. It fails the test when the cluster was not added.
func (s *Server) StartKubeAPIServer(t testing.TB, project, region int64, name string, h http.Handler) *KubeAPIServer {
	t.Helper()
	s.mu.Lock()
	k := s.clusterLocked(project, region, name)
	var pki *clusterPKI
	if k != nil {
		pki = k.pki
	}
	s.mu.Unlock()
	if pki == nil {
		t.Fatalf("fakeiam: no cluster %q in project %d, region %d", name, project, region)
	}
	if h == nil {
		h = minimalKubeAPI()
	}
	api := &KubeAPIServer{}
	srv := newUnstartedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.mu.Lock()
		api.names = append(api.names, r.TLS.PeerCertificates[0].Subject.CommonName)
		api.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.clientCAs,
		Time:         s.cfg.Now,
	}
	// Refused handshakes are the point of some tests, not news for their logs.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	api.URL = srv.URL

	s.mu.Lock()
	s.clusterLocked(project, region, name).Host = api.URL
	s.mu.Unlock()
	return api
}

// minimalKubeAPI answers what kubectl asks before anything else.
func minimalKubeAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{
			"major": "1", "minor": "32", "gitVersion": "v1.32.0-fakeiam", "platform": "linux/amd64",
		})
	})
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}},
		})
	})
	return mux
}
