package protocol

import (
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
		// the reference's get format; field order is part of the format.
		o := newObject().str("token_type", c.TokenType).str("access_token", c.AccessToken)
		if !c.ExpiresAt.IsZero() {
			o.str("expires_at", c.ExpiresAt.UTC().Format(time.RFC3339))
		}
		o.str("authorization", auth).str("profile", c.Profile)
		_, err = w.Write(append(o.bytes(), '\n'))
	case FormatToken:
		_, err = fmt.Fprintln(w, c.AccessToken)
	case FormatHeader:
		_, err = fmt.Fprintln(w, "Authorization: "+auth)
	default:
		return fmt.Errorf("unknown format %q (want json, token or header)", format)
	}
	return err
}
