package helper

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// TestExportVars guards the reference's export format and issue #11 items 3 and 4: a JWT goes where gcore-go reads
// it (custom headers), an API token where every Gcore tool reads one, and the profile's project
// and region under the names Gcore's SDKs and Terraform v2 read. Never a refresh token.
func TestExportVars(t *testing.T) {
	exp := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	p := config.Profile{BaseURL: "https://api.gcore.com", ProjectID: 1000503, RegionID: 76}
	for _, tc := range []struct {
		name string
		p    config.Profile
		tok  Token
		want []protocol.EnvVar
	}{
		{"jwt", p, Token{Kind: KindBearer, Value: "eyJ.a.b", ExpiresAt: exp}, []protocol.EnvVar{
			{Name: "GCORE_CUSTOM_HEADERS", Value: "Authorization: Bearer eyJ.a.b"},
			{Name: "GCORE_ACCESS_TOKEN", Value: "eyJ.a.b"},
			{Name: "GCORE_TOKEN_EXPIRES_AT", Value: "2026-01-02T15:04:05Z"},
			{Name: "GCORE_BASE_URL", Value: "https://api.gcore.com"},
			{Name: "GCORE_CLOUD_PROJECT_ID", Value: "1000503"},
			{Name: "GCORE_CLOUD_REGION_ID", Value: "76"},
		}},
		{"api key, no project", config.Profile{BaseURL: "https://api.gcore.com"}, Token{Kind: KindAPIKey, Value: "42_s$ecret"}, []protocol.EnvVar{
			{Name: "GCORE_API_KEY", Value: "42_s$ecret"},
			{Name: "GCORE_PERMANENT_TOKEN", Value: "42_s$ecret"},
			{Name: "GCORE_BASE_URL", Value: "https://api.gcore.com"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ExportVars(tc.p, tc.tok)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestChildEnv guards the reference's security rules and issue #10: exec's child gets only the credential it asked
// for. The helper's own secrets and every stale export are gone, whatever kind of token the
// earlier export held.
func TestChildEnv(t *testing.T) {
	parent := []string{
		"PATH=/bin", "HOME=/home/me",
		"GCORE_PASSWORD=pw", "GCORE_OTP=123456", "GCORE_KEYRING_PASSPHRASE=pass", "GCORE_API_TOKEN=1_tok",
		"GCORE_ASKPASS=/bin/askpass", "GCORE_API_KEY=2_stale", "GCORE_PERMANENT_TOKEN=2_stale",
		"GCORE_CUSTOM_HEADERS=Authorization: Bearer stale", "GCORE_ACCESS_TOKEN=stale", "GCORE_TOKEN_EXPIRES_AT=x",
		"GCORE_CLOUD_PROJECT_ID=9", "GCORE_CLOUD_REGION_ID=9", "GCORE_PROFILE=work",
	}
	p := config.Profile{Name: "work", BaseURL: "https://api.gcore.com"}
	for _, tc := range []struct {
		name string
		tok  Token
		want []string
	}{
		{"jwt", Token{Kind: KindBearer, Value: "eyJ.new"}, []string{
			"PATH=/bin", "HOME=/home/me", "GCORE_PROFILE=work",
			"GCORE_CUSTOM_HEADERS=Authorization: Bearer eyJ.new", "GCORE_ACCESS_TOKEN=eyJ.new",
			"GCORE_BASE_URL=https://api.gcore.com", NestVar + "=work",
		}},
		{"api key", Token{Kind: KindAPIKey, Value: "3_new"}, []string{
			"PATH=/bin", "HOME=/home/me", "GCORE_PROFILE=work",
			"GCORE_API_KEY=3_new", "GCORE_PERMANENT_TOKEN=3_new",
			"GCORE_BASE_URL=https://api.gcore.com", NestVar + "=work",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ChildEnv(parent, p, tc.tok)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			for _, kv := range got {
				for _, secret := range []string{"pw", "123456", "pass", "1_tok", "2_stale", "stale"} {
					if _, v, _ := strings.Cut(kv, "="); v == secret || strings.HasSuffix(v, " "+secret) {
						t.Errorf("the child gets %q", kv)
					}
				}
			}
		})
	}
}

// TestAPIKeyOnlyTool: the tools that cannot use a JWT, found by program name.
func TestAPIKeyOnlyTool(t *testing.T) {
	for cmd, want := range map[string]bool{
		"/usr/local/bin/terraform": true, "terraform.exe": true, "tofu": true, "gcore-cli": true,
		"/usr/bin/python3": false, "curl": false, "terraformer": false,
	} {
		if _, got := APIKeyOnlyTool(cmd); got != want {
			t.Errorf("APIKeyOnlyTool(%q) = %v, want %v", cmd, got, want)
		}
	}
}
