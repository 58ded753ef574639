//go:build !linux

package cache

import "fmt"

func runPlatformChild(role string, _ func(string) string) error {
	return fmt.Errorf("unknown child role %q", role)
}

// The conformance suite needs Linux daemons (see conformance_test.go).
const conformanceRolePrefix = "conformance-"

func runConformanceChild(role string, _ func(string) string) error {
	return fmt.Errorf("unknown child role %q", role)
}
