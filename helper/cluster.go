package helper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Managed Kubernetes (SPEC §12): clusters accept only client certificates,
// which the Cloud API hands out valid for two years. The helper fetches the
// certificate with the IAM session, keeps it encrypted (never in a
// kubeconfig), and hands it to kubectl only while the session is valid, with
// an expiry tied to the access token: the session governs access.

// ClusterRef names a Managed Kubernetes cluster.
type ClusterRef struct {
	ProjectID, RegionID int64
	Name                string
}

// ClusterCredential is what kubectl gets for a cluster.
type ClusterCredential struct {
	Host          string
	CACertPEM     []byte
	ClientCertPEM []byte
	ClientKeyPEM  []byte
	CertExpiresAt time.Time
	ExpiresAt     time.Time // min(certificate, access token) − min_ttl
}

// ErrClusterNotReady means the cluster exists but is not Provisioned yet.
var ErrClusterNotReady = errors.New("cluster is not provisioned yet")

var clusterMagic = [4]byte{'G', 'C', 'C', 1}

const (
	clusterTagHost    = 1
	clusterTagCA      = 2
	clusterTagCert    = 3
	clusterTagKey     = 4
	clusterTagExpires = 5
)

func encodeCluster(c ClusterCredential) []byte {
	w := tlv.NewWriter(clusterMagic)
	w.String(clusterTagHost, c.Host)
	w.Bytes(clusterTagCA, c.CACertPEM)
	w.Bytes(clusterTagCert, c.ClientCertPEM)
	w.Bytes(clusterTagKey, c.ClientKeyPEM)
	w.Int(clusterTagExpires, c.CertExpiresAt.Unix())
	return w.Encoded()
}

func decodeCluster(data []byte) (ClusterCredential, error) {
	var c ClusterCredential
	err := tlv.Decode(data, clusterMagic, func(tag byte, v []byte) error {
		switch tag {
		case clusterTagHost:
			c.Host = string(v)
		case clusterTagCA:
			c.CACertPEM = append([]byte(nil), v...)
		case clusterTagCert:
			c.ClientCertPEM = append([]byte(nil), v...)
		case clusterTagKey:
			c.ClientKeyPEM = append([]byte(nil), v...)
		case clusterTagExpires:
			n, err := tlv.Int(tag, v)
			if err != nil {
				return err
			}
			c.CertExpiresAt = time.Unix(n, 0).UTC()
		}
		return nil
	})
	if err != nil {
		return ClusterCredential{}, fmt.Errorf("decode cluster record: %w", err)
	}
	return c, nil
}

func (e *Engine) clusterKey(c ClusterRef) string {
	return e.Key() + "/cluster/" + strconv.FormatInt(c.ProjectID, 10) + "/" + strconv.FormatInt(c.RegionID, 10) + "/" + c.Name
}

// Cluster returns the client certificate for cluster c, fetching it when
// none is cached or the cached one has less than opts.MinTTL left. The IAM
// session is checked on every call, cache hit or not.
func (e *Engine) Cluster(ctx context.Context, c ClusterRef, opts GetOptions) (ClusterCredential, error) {
	sess, err := e.Token(ctx, opts)
	if err != nil {
		return ClusterCredential{}, err
	}
	key := e.clusterKey(c)
	cred, ok, err := e.loadCluster(key)
	if err != nil {
		return ClusterCredential{}, err
	}
	if !ok || cred.CertExpiresAt.Before(e.Now().Add(opts.MinTTL)) {
		v, err, _ := e.flight.Do(key, func() (any, error) { return e.fetchClusterLocked(ctx, key, c, sess.Value, opts) })
		if err != nil {
			return ClusterCredential{}, err
		}
		cred = v.(ClusterCredential)
	}
	cred.ExpiresAt = cred.CertExpiresAt
	if !sess.ExpiresAt.IsZero() && sess.ExpiresAt.Before(cred.ExpiresAt) {
		cred.ExpiresAt = sess.ExpiresAt
	}
	cred.ExpiresAt = cred.ExpiresAt.Add(-opts.MinTTL)
	return cred, nil
}

func (e *Engine) fetchClusterLocked(ctx context.Context, key string, c ClusterRef, access string, opts GetOptions) (ClusterCredential, error) {
	unlock, err := e.lock(ctx, key)
	if err != nil {
		return ClusterCredential{}, err
	}
	defer unlock()
	if cred, ok, err := e.loadCluster(key); err != nil || (ok && !cred.CertExpiresAt.Before(e.Now().Add(opts.MinTTL))) {
		return cred, err
	}
	netCtx, cancel := context.WithTimeout(ctx, 2*e.Profile.HTTPTimeout)
	defer cancel()
	clusters, err := e.IAM.ListClusters(netCtx, access, c.ProjectID, c.RegionID)
	if err != nil {
		return ClusterCredential{}, fmt.Errorf("list clusters of project %d region %d: %w", c.ProjectID, c.RegionID, err)
	}
	status := ""
	for _, cl := range clusters {
		if cl.Name == c.Name {
			status = cl.Status
		}
	}
	switch status {
	case "Provisioned":
	case "":
		return ClusterCredential{}, fmt.Errorf("no cluster %q in project %d region %d", c.Name, c.ProjectID, c.RegionID)
	default:
		return ClusterCredential{}, fmt.Errorf("cluster %q is %s: %w", c.Name, status, ErrClusterNotReady)
	}
	e.debugf("fetching the client certificate of cluster %q for profile %q", c.Name, e.Profile.Name)
	cfg, err := e.IAM.ClusterConfig(netCtx, access, c.ProjectID, c.RegionID, c.Name)
	if err != nil {
		return ClusterCredential{}, fmt.Errorf("fetch the config of cluster %q: %w", c.Name, err)
	}
	cred := ClusterCredential{Host: cfg.Host, CACertPEM: cfg.CACertPEM, ClientCertPEM: cfg.ClientCertPEM,
		ClientKeyPEM: cfg.ClientKeyPEM, CertExpiresAt: cfg.ExpiresAt}
	if err := e.Store.Put(key, encodeCluster(cred)); err != nil {
		return ClusterCredential{}, fmt.Errorf("save the certificate of cluster %q: %w", c.Name, err)
	}
	if err := e.indexCluster(ctx, key); err != nil {
		return ClusterCredential{}, err
	}
	return cred, nil
}

// The cluster index lists the keys of cached certificates, so logout can
// delete them: the store cannot list its entries.
var clusterIndexMagic = [4]byte{'G', 'C', 'I', 1}

const clusterIndexTagKey = 1

func (e *Engine) clusterIndexKey() string { return e.Key() + "/clusters" }

func (e *Engine) clusterKeys() ([]string, error) {
	data, err := e.Store.Get(e.clusterIndexKey())
	if errors.Is(err, cache.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	err = tlv.Decode(data, clusterIndexMagic, func(tag byte, v []byte) error {
		if tag == clusterIndexTagKey {
			keys = append(keys, string(v))
		}
		return nil
	})
	return keys, err
}

func (e *Engine) indexCluster(ctx context.Context, key string) error {
	unlock, err := e.lock(ctx, e.clusterIndexKey())
	if err != nil {
		return err
	}
	defer unlock()
	keys, err := e.clusterKeys()
	if err != nil || slices.Contains(keys, key) {
		return err
	}
	w := tlv.NewWriter(clusterIndexMagic)
	for _, k := range append(keys, key) {
		w.String(clusterIndexTagKey, k)
	}
	return e.Store.Put(e.clusterIndexKey(), w.Encoded())
}

// forgetClusters deletes every cached cluster certificate of the profile.
func (e *Engine) forgetClusters() error {
	keys, err := e.clusterKeys()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := e.Store.Delete(k); err != nil {
			return err
		}
	}
	return e.Store.Delete(e.clusterIndexKey())
}

func (e *Engine) loadCluster(key string) (ClusterCredential, bool, error) {
	return loadRecord(e, key, "cluster certificate", decodeCluster)
}
