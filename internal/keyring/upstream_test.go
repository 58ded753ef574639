package keyring_test

import (
	"testing"

	"github.com/G-Core/gcore-credential-helper/internal/upstreamcopy"
)

// TestUpstreamPatch holds the copy to upstream.patch (see README.md).
func TestUpstreamPatch(t *testing.T) {
	upstreamcopy.Check(t, upstreamcopy.Copy{
		Module:  "github.com/99designs/keyring",
		Version: "v1.2.2",
		Sum:     "h1:pZd3neh/EmUzWONb35LxQfvuY7kiSXAq3HQd97+XBn0=",
		Folder:  "internal/keyring",
		Ours:    []string{"README.md", "staticcheck.conf"},
	})
}
