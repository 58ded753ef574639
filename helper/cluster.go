package helper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/G-Core/gcore-credential-helper/cache"
	"github.com/G-Core/gcore-credential-helper/iam"
	"github.com/G-Core/gcore-credential-helper/internal/tlv"
)

// Managed Kubernetes (the reference's service credentials): clusters accept only client certificates,
// which the Cloud API hands out valid for two years. The helper fetches the
// certificate with the IAM session, keeps it encrypted (never in a
// kubeconfig), and hands it to kubectl only while the session is valid, with
// an expiry tied to the access token: the session governs access.

// ClusterRef names a Managed Kubernetes cluster.
type ClusterRef struct {
	Scope
	Name string
}

// ClusterCredential is what kubectl gets for a cluster.
type ClusterCredential struct {
	Host          string
	CACertPEM     []byte
	ClientCertPEM []byte
	ClientKeyPEM  []byte
	CertExpiresAt time.Time
	// RenewAt is when kubectl should ask again: min_ttl before the earlier of
	// the certificate's and the access token's expiry.
	RenewAt time.Time
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

func (e *Engine) clusterRecord(c ClusterRef) record[ClusterCredential] {
	return record[ClusterCredential]{key: e.Key() + "/cluster/" + c.Scope.key() + "/" + c.Name,
		what: "certificate of cluster " + c.Name, decode: decodeCluster, encode: encodeCluster}
}

// Cluster returns the client certificate for cluster c, fetching it when
// none is cached or the cached one has less than opts.MinTTL left. The IAM
// session is checked on every call, cache hit or not.
func (e *Engine) Cluster(ctx context.Context, c ClusterRef, opts GetOptions) (ClusterCredential, error) {
	sess, err := e.Token(ctx, opts)
	if err != nil {
		return ClusterCredential{}, err
	}
	r := e.clusterRecord(c)
	cred, err := serve(ctx, e, r, renewal[ClusterCredential]{
		usable: func(cred ClusterCredential) bool { return cred.expiry().fresh(e.Now(), opts.MinTTL) },
		fetch: func(ctx context.Context, _ ClusterCredential, _ bool) (ClusterCredential, error) {
			cred, err := e.fetchCluster(ctx, c, sess.Authorization())
			if err == nil {
				err = e.indexCluster(ctx, r.key)
			}
			return cred, err
		},
	})
	if err != nil {
		return ClusterCredential{}, err
	}
	// The session governs access: kubectl asks again before either expires.
	cred.RenewAt = cred.expiry().renewAt(opts.MinTTL)
	if !sess.RenewAt.IsZero() && sess.RenewAt.Before(cred.RenewAt) {
		cred.RenewAt = sess.RenewAt
	}
	return cred, nil
}

func (c ClusterCredential) expiry() expiring { return expiring{expires: c.CertExpiresAt} }

// fetchCluster reads the certificate of cluster c from the Cloud API, once
// the cluster is Provisioned.
func (e *Engine) fetchCluster(ctx context.Context, c ClusterRef, auth string) (ClusterCredential, error) {
	s, err := e.resolve(ctx, auth, c.Scope)
	if err != nil {
		return ClusterCredential{}, err
	}
	clusters, err := callIAM(ctx, e, func(ctx context.Context) ([]iam.Cluster, error) {
		return e.Cloud.ListClusters(ctx, auth, s.ProjectID, s.RegionID)
	})
	if err != nil {
		return ClusterCredential{}, fmt.Errorf("list clusters of %s: %w", s, err)
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
		return ClusterCredential{}, fmt.Errorf("no cluster %q in %s", c.Name, s)
	default:
		return ClusterCredential{}, fmt.Errorf("cluster %q is %s: %w", c.Name, status, ErrClusterNotReady)
	}
	e.debugf("fetching the client certificate of cluster %q for profile %q", c.Name, e.Profile.Name)
	cfg, err := callIAM(ctx, e, func(ctx context.Context) (iam.ClusterConfig, error) {
		return e.Cloud.ClusterConfig(ctx, auth, s.ProjectID, s.RegionID, c.Name)
	})
	if err != nil {
		return ClusterCredential{}, fmt.Errorf("fetch the config of cluster %q: %w", c.Name, err)
	}
	return ClusterCredential{Host: cfg.Host, CACertPEM: cfg.CACertPEM, ClientCertPEM: cfg.ClientCertPEM,
		ClientKeyPEM: cfg.ClientKeyPEM, CertExpiresAt: cfg.ExpiresAt}, nil
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
	unlock, err := e.lock(ctx, e.clusterIndexKey(), "cluster index")
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

// loadCluster reads the certificate stored under key, as the index lists it.
func (e *Engine) loadCluster(key string) (ClusterCredential, bool, error) {
	return record[ClusterCredential]{key: key, what: "cluster certificate", decode: decodeCluster}.loadOrReplace(e)
}
