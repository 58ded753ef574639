package helper

import "testing"

func TestHostAllowed(t *testing.T) {
	allowed := []string{"git.example.com", "registry.example.com:5000", "[::1]:8443"}
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"git.example.com", true},
		{"GIT.Example.com.", true},
		{"git.example.com:443", true},
		{"git.example.com:8443", false},
		{"registry.example.com:5000", true},
		{"registry.example.com", false},
		{"[::1]:8443", true},
		{"github.com", false},
		{"evil.git.example.com", false},
		{"git.example.com.evil.com", false},
		{"", false},
	} {
		if got := HostAllowed(allowed, tc.host); got != tc.want {
			t.Errorf("HostAllowed(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func FuzzHostAllowed(f *testing.F) {
	f.Add("git.example.com", "git.example.com:443")
	f.Add("[::1]:1", "[::1]:1")
	f.Fuzz(func(t *testing.T, entry, host string) {
		// Nothing is ever allowed by an empty list, and matching never panics.
		if HostAllowed(nil, host) {
			t.Fatal("empty allow-list allowed a host")
		}
		_ = HostAllowed([]string{entry}, host)
	})
}
