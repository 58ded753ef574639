package helper

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/config"
	"github.com/G-Core/gcore-credential-helper/protocol"
)

// What export and exec hand to Gcore's own tools (the reference's export format), decided per
// tool from its source (the README's table names the files):
//
//   - gcore-go reads GCORE_API_KEY (sent as "APIKey <key>") and
//     GCORE_CUSTOM_HEADERS ("Name: value" lines, set after the API key, so an
//     Authorization there wins): a JWT works through custom headers.
//   - gcore-python requires GCORE_API_KEY; Terraform provider v2 requires
//     api_key (GCORE_API_KEY) and sends it as APIKey; provider v0 takes
//     GCORE_PERMANENT_TOKEN or a username and password; gcore-cli reads
//     GCORE_API_KEY. None of them takes a JWT: they need an API token, or a
//     short-lived key minted with --api-key.
//   - gcore-go, gcore-python and Terraform v2 read GCORE_CLOUD_PROJECT_ID and
//     GCORE_CLOUD_REGION_ID as their default project and region.

// NestVar marks a child of exec; an exec inside it would hand out a second
// session's token over the first one's, so it is refused.
const NestVar = "GCORE_CREDENTIAL_HELPER_PROFILE"

// ExportVars is the environment Gcore's tools read for tok of profile p.
// Never the refresh token.
func ExportVars(p config.Profile, tok Token) []protocol.EnvVar {
	var vars []protocol.EnvVar
	if tok.Kind == KindAPIKey {
		vars = []protocol.EnvVar{
			{Name: "GCORE_API_KEY", Value: tok.Value},
			{Name: "GCORE_PERMANENT_TOKEN", Value: tok.Value},
		}
	} else {
		vars = []protocol.EnvVar{
			{Name: "GCORE_CUSTOM_HEADERS", Value: "Authorization: " + tok.Authorization()},
			{Name: "GCORE_ACCESS_TOKEN", Value: tok.Value},
		}
		if !tok.ExpiresAt.IsZero() {
			vars = append(vars, protocol.EnvVar{Name: "GCORE_TOKEN_EXPIRES_AT", Value: tok.ExpiresAt.UTC().Format(time.RFC3339)})
		}
	}
	vars = append(vars, protocol.EnvVar{Name: "GCORE_BASE_URL", Value: p.BaseURL})
	if p.ProjectID != 0 {
		vars = append(vars, protocol.EnvVar{Name: "GCORE_CLOUD_PROJECT_ID", Value: strconv.FormatInt(p.ProjectID, 10)})
	}
	if p.RegionID != 0 {
		vars = append(vars, protocol.EnvVar{Name: "GCORE_CLOUD_REGION_ID", Value: strconv.FormatInt(p.RegionID, 10)})
	}
	return vars
}

// childWithheld are never passed on to a child of exec (the reference's security rules): the
// secrets the helper itself reads. GCORE_API_KEY goes too, unless it is the
// credential exec hands over.
var childWithheld = []string{"GCORE_PASSWORD", "GCORE_OTP", "GCORE_KEYRING_PASSPHRASE", "GCORE_API_TOKEN", "GCORE_ASKPASS", "GCORE_API_KEY"}

// ChildEnv is env (os.Environ's form) for a child of exec with profile p's
// tok: the helper's own secrets removed, and every variable export can set
// replaced, so that values a shell got from an earlier export (of a JWT
// profile, say) never sit next to this one's (an API key) for the child to
// pick the wrong one.
func ChildEnv(env []string, p config.Profile, tok Token) []string {
	drop := map[string]bool{NestVar: true}
	for _, name := range childWithheld {
		drop[name] = true
	}
	every := p
	every.ProjectID, every.RegionID = 1, 1
	for _, kind := range []string{KindBearer, KindAPIKey} {
		for _, v := range ExportVars(every, Token{Kind: kind, ExpiresAt: time.Unix(1, 0)}) {
			drop[v.Name] = true
		}
	}
	out := make([]string, 0, len(env)+8)
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); !drop[name] {
			out = append(out, kv)
		}
	}
	for _, v := range ExportVars(p, tok) {
		out = append(out, v.Name+"="+v.Value)
	}
	return append(out, NestVar+"="+p.Name)
}

// apiKeyOnlyTools are the commands known to authenticate to Gcore only with
// an API token, by program name.
var apiKeyOnlyTools = map[string]string{
	"terraform": "Terraform's Gcore provider (v2 reads GCORE_API_KEY, v0 GCORE_PERMANENT_TOKEN)",
	"tofu":      "OpenTofu's Gcore provider (v2 reads GCORE_API_KEY, v0 GCORE_PERMANENT_TOKEN)",
	"gcore-cli": "gcore-cli (it reads GCORE_API_KEY)",
}

// APIKeyOnlyTool names the tool behind command when it authenticates only
// with an API token, so that exec can refuse to give it a JWT it cannot use.
func APIKeyOnlyTool(command string) (string, bool) {
	name := strings.TrimSuffix(filepath.Base(command), ".exe")
	tool, ok := apiKeyOnlyTools[name]
	return tool, ok
}
