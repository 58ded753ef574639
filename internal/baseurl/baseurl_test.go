package baseurl

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw      string
		want     string // "" when an error is expected
		insecure bool   // the error wraps ErrInsecure
	}{
		{raw: "https://api.gcore.com", want: "https://api.gcore.com"},
		{raw: "https://api.gcore.com/", want: "https://api.gcore.com"},
		{raw: "HTTPS://api.gcore.com:8443/prefix/", want: "https://api.gcore.com:8443/prefix"},
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://127.0.0.5", want: "http://127.0.0.5"},
		{raw: "http://localhost:1234/", want: "http://localhost:1234"},
		{raw: "http://LocalHost", want: "http://LocalHost"},
		{raw: "http://[::1]:8080", want: "http://[::1]:8080"},
		{raw: "http://example.com", insecure: true},
		{raw: "http://127.0.0.1.example.com", insecure: true},
		{raw: "http://localhost.example.com", insecure: true},
		{raw: "http://10.0.0.1", insecure: true},
		{raw: "ftp://api.gcore.com", insecure: true},
		{raw: "https://user:hunter2@api.gcore.com"},
		{raw: "http://user@localhost"},
		{raw: "https://api.gcore.com?debug=1"},
		{raw: "https://api.gcore.com/?"},
		{raw: "https://api.gcore.com#top"},
		{raw: "https://"},
		{raw: "https://:443"},
		{raw: "https:api.gcore.com"},
		{raw: "api.gcore.com"},
		{raw: ""},
		{raw: "https://api gcore.com"},
		{raw: "https://hunter2@api gcore.com"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := Parse(tt.raw)
			if tt.want != "" {
				if err != nil {
					t.Fatalf("Parse(%q) = %v, want %s", tt.raw, err, tt.want)
				}
				if got := u.String(); got != tt.want {
					t.Errorf("Parse(%q) = %s, want %s", tt.raw, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tt.raw, u)
			}
			if got := errors.Is(err, ErrInsecure); got != tt.insecure {
				t.Errorf("Parse(%q) = %v; errors.Is(ErrInsecure) = %t, want %t", tt.raw, err, got, tt.insecure)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Parse(%q) error %q shows the password", tt.raw, err)
			}
		})
	}
}
