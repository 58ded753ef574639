package helper

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestClusterCredentialCachedAndTiedToTheSession(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	ref := ClusterRef{Scope: Scope{ProjectID: 1, RegionID: 76}, Name: "prod"}
	c, err := e.Cluster(context.Background(), ref, GetOptions{MinTTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if string(c.ClientKeyPEM) != "key" || c.Host != "https://127.0.0.1:6443" {
		t.Fatalf("credential = %+v", c)
	}
	// The certificate lives two years; kubectl asks again with the access token.
	if want := r.clock.Now().Add(time.Hour - 5*time.Minute); !c.RenewAt.Equal(want) {
		t.Fatalf("renew at %s, want %s (access token exp − min_ttl)", c.RenewAt, want)
	}
	if _, err := e.Cluster(context.Background(), ref, GetOptions{MinTTL: 5 * time.Minute}); err != nil || r.iam.clusterFetches != 1 {
		t.Fatalf("second call fetched again: %d fetches, %v", r.iam.clusterFetches, err)
	}
	if err := e.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.clusterRecord(ref).load(e); ok {
		t.Fatal("logout left the cluster certificate in the store")
	}
	delete(r.env, "GCORE_PASSWORD")
	var lr *LoginRequiredError
	if _, err := e.Cluster(context.Background(), ref, GetOptions{}); !errors.As(err, &lr) {
		t.Fatalf("after logout: %v, want LoginRequiredError", err)
	}
}

func TestClusterNotProvisioned(t *testing.T) {
	r := newRig()
	e := r.engine("default")
	_, err := e.Cluster(context.Background(), ClusterRef{Scope: Scope{ProjectID: 1, RegionID: 76}, Name: "new"}, GetOptions{})
	if !errors.Is(err, ErrClusterNotReady) {
		t.Fatalf("err = %v, want ErrClusterNotReady", err)
	}
	if _, err := e.Cluster(context.Background(), ClusterRef{Scope: Scope{ProjectID: 1, RegionID: 76}, Name: "nope"}, GetOptions{}); err == nil {
		t.Fatal("want an error for an unknown cluster")
	}
	if r.iam.clusterFetches != 0 {
		t.Fatal("fetched the config of a cluster that is not Provisioned")
	}
}
