package kong_test

import (
	"testing"

	"github.com/G-Core/gcore-credential-helper/internal/upstreamcopy"
)

// TestUpstreamPatch holds the copy to upstream.patch (see README.md).
func TestUpstreamPatch(t *testing.T) {
	upstreamcopy.Check(t, upstreamcopy.Copy{
		Module:  "github.com/alecthomas/kong",
		Version: "v1.17.0",
		Sum:     "h1:f52BVWChYMDkMkCoqkEWRuFOk/K4B5LO7xIijeLJRdk=",
		Folder:  "internal/kong",
		Ours:    []string{"README.md", "staticcheck.conf"},
	})
}
