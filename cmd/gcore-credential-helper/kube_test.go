package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/helper"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// The cluster comes from flags, else from the kubeconfig exec extension
// kubectl sends with provideClusterInfo (SPEC §12); flags win.
func TestKubeCluster(t *testing.T) {
	ext := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,` +
		`"cluster":{"server":"https://k","config":{"cluster":"prod","project_id":600,"region_id":"76","profile":"work"}}}}`
	prod := &helper.ClusterRef{Name: "prod", ProjectID: 600, RegionID: 76}
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
			want: &helper.ClusterRef{Name: "dev", ProjectID: 600, RegionID: 76}, wantProfile: "work"},
		{name: "incomplete", args: []string{"kube", "--cluster", "prod"}, wantErr: true},
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
