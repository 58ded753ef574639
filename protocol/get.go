package protocol

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Credential is what `get` prints about one token.
type Credential struct {
	TokenType   string    // "Bearer" or "APIKey"
	AccessToken string    // the token itself
	ExpiresAt   time.Time // zero when it never expires
	Profile     string
}

// getJSON is the wire shape of SPEC §8.1; field order is part of the format.
type getJSON struct {
	TokenType     string `json:"token_type"`
	AccessToken   string `json:"access_token"`
	ExpiresAt     string `json:"expires_at,omitempty"`
	Authorization string `json:"authorization"`
	Profile       string `json:"profile"`
}

// Get formats names accepted by WriteGet.
const (
	FormatJSON   = "json"
	FormatToken  = "token"
	FormatHeader = "header"
)

// WriteGet writes c in format: JSON, the bare token, or an Authorization
// header line. Each ends with exactly one newline.
func WriteGet(w io.Writer, c Credential, format string) error {
	auth := c.TokenType + " " + c.AccessToken
	var err error
	switch format {
	case FormatJSON, "":
		out := getJSON{TokenType: c.TokenType, AccessToken: c.AccessToken, Authorization: auth, Profile: c.Profile}
		if !c.ExpiresAt.IsZero() {
			out.ExpiresAt = c.ExpiresAt.UTC().Format(time.RFC3339)
		}
		var b []byte
		if b, err = json.Marshal(out); err == nil {
			_, err = fmt.Fprintf(w, "%s\n", b)
		}
	case FormatToken:
		_, err = fmt.Fprintln(w, c.AccessToken)
	case FormatHeader:
		_, err = fmt.Fprintln(w, "Authorization: "+auth)
	default:
		return fmt.Errorf("unknown format %q (want json, token or header)", format)
	}
	return err
}
