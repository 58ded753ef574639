package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolvePaths(t *testing.T) {
	const app = "/gcore-credential-helper"
	tests := []struct {
		name    string
		env     map[string]string
		want    Paths
		wantErr string
	}{
		{
			name: "home only",
			env:  map[string]string{"HOME": "/home/u"},
			want: Paths{
				ConfigFile: "/home/u/.config" + app + "/config.toml",
				CacheDir:   "/home/u/.cache" + app,
				DataDir:    "/home/u/.local/share" + app,
			},
		},
		{
			name: "xdg set",
			env: map[string]string{
				"HOME": "/home/u", "XDG_CONFIG_HOME": "/x/conf", "XDG_CACHE_HOME": "/x/cache", "XDG_DATA_HOME": "/x/data",
			},
			want: Paths{ConfigFile: "/x/conf" + app + "/config.toml", CacheDir: "/x/cache" + app, DataDir: "/x/data" + app},
		},
		{
			name: "xdg set without home",
			env:  map[string]string{"XDG_CONFIG_HOME": "/x/conf", "XDG_CACHE_HOME": "/x/cache", "XDG_DATA_HOME": "/x/data"},
			want: Paths{ConfigFile: "/x/conf" + app + "/config.toml", CacheDir: "/x/cache" + app, DataDir: "/x/data" + app},
		},
		{
			name: "relative xdg ignored",
			env: map[string]string{
				"HOME": "/home/u", "XDG_CONFIG_HOME": "conf", "XDG_CACHE_HOME": "./cache", "XDG_DATA_HOME": "data",
			},
			want: Paths{
				ConfigFile: "/home/u/.config" + app + "/config.toml",
				CacheDir:   "/home/u/.cache" + app,
				DataDir:    "/home/u/.local/share" + app,
			},
		},
		{
			name: "the helper's config variable wins over xdg; gcore-cli's GCORE_CONFIG is not ours",
			env:  map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/x/conf", "GCORE_CREDENTIAL_HELPER_CONFIG": "/etc/gcore.toml", "GCORE_CONFIG": "/gcore-cli.yaml"},
			want: Paths{
				ConfigFile:  "/etc/gcore.toml",
				ConfigNamed: true,
				CacheDir:    "/home/u/.cache" + app,
				DataDir:     "/home/u/.local/share" + app,
			},
		},
		{
			name:    "no home",
			env:     map[string]string{"XDG_CONFIG_HOME": "/x/conf", "XDG_DATA_HOME": "/x/data"},
			wantErr: "HOME is not set and XDG_CACHE_HOME is unset or relative",
		},
		{
			name:    "no home, relative xdg",
			env:     map[string]string{"GCORE_CREDENTIAL_HELPER_CONFIG": "/c.toml", "XDG_CACHE_HOME": "/x/cache", "XDG_DATA_HOME": "rel"},
			wantErr: "HOME is not set and XDG_DATA_HOME is unset or relative",
		},
		{
			name:    "relative home",
			env:     map[string]string{"HOME": "home/u"},
			wantErr: `HOME "home/u" is not an absolute path`,
		},
		{
			name:    "empty environment",
			env:     nil,
			wantErr: "HOME is not set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolvePaths(mapEnv(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolvePaths error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolvePaths: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolvePaths (-want +got):\n%s", diff)
			}
		})
	}
}
