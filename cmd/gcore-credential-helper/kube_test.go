package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// The cluster comes from flags, else from the kubeconfig exec extension
// kubectl sends with provideClusterInfo (SPEC §12); flags win.
func TestKubeCluster(t *testing.T) {
	ext := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,` +
		`"cluster":{"server":"https://k","config":{"cluster":"prod","project_id":600,"region_id":"76","profile":"work"}}}}`
	prod := &helper.ClusterRef{Name: "prod", Scope: helper.Scope{ProjectID: 600, RegionID: 76}}
	for _, tc := range []struct {
		name        string
		args        []string
		env         string
		want        *helper.ClusterRef
		wantProfile string
		wantErr     bool
	}{
		{name: "token", args: []string{"kube"}},
		{name: "flags", args: []string{"kube", "--cluster", "prod", "--project-id", "600", "--region-id", "76"}, want: prod},
		{name: "extension", args: []string{"kube"}, env: ext, want: prod, wantProfile: "work"},
		{name: "flags win", args: []string{"kube", "--cluster", "dev"}, env: ext,
			want: &helper.ClusterRef{Name: "dev", Scope: helper.Scope{ProjectID: 600, RegionID: 76}}, wantProfile: "work"},
		{name: "names", args: []string{"kube", "--cluster", "prod", "--project-name", "default", "--region-name", "Luxembourg-2"},
			want: &helper.ClusterRef{Name: "prod", Scope: helper.Scope{ProjectName: "default", RegionName: "Luxembourg-2"}}},
		{name: "a project without a cluster", args: []string{"kube", "--project-id", "1"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := parse(commands(), tc.args)
			if err != nil {
				t.Fatal(err)
			}
			info, err := protocol.ParseExecInfo(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			got, profile, err := kubeCluster(in, info)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || profile != tc.wantProfile {
				t.Errorf("cluster (-want +got):\n%s profile %q, want %q", diff, profile, tc.wantProfile)
			}
		})
	}
}

// Issue #11: GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID (through the profile) fill what the
// flags and the extension leave out; a cluster still needs both.
func TestClusterDefaults(t *testing.T) {
	p := config.Profile{ProjectID: 7, RegionID: 8}
	c := helper.ClusterRef{Name: "prod", Scope: helper.Scope{ProjectName: "named"}}
	if err := clusterDefaults(&c, p); err != nil || c.ProjectID != 0 || c.RegionID != 8 {
		t.Errorf("defaults = %+v, %v; want the name kept and region 8", c, err)
	}
	if err := clusterDefaults(&helper.ClusterRef{Name: "prod"}, config.Profile{RegionID: 8}); err == nil {
		t.Error("a cluster without a project was accepted")
	}
}
