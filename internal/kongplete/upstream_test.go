package kongplete_test

import (
	"testing"

	"github.com/G-Core/gcore-credential-helper/internal/upstreamcopy"
)

// TestUpstreamPatch holds the copy to upstream.patch (see README.md).
func TestUpstreamPatch(t *testing.T) {
	upstreamcopy.Check(t, upstreamcopy.Copy{
		Module:  "github.com/willabides/kongplete",
		Version: "v0.4.0",
		Sum:     "h1:eivXxkp5ud5+4+NVN9e4goxC5mSh3n1RHov+gsblM2g=",
		Folder:  "internal/kongplete",
		Ours:    []string{"README.md", "staticcheck.conf"},
	})
}
