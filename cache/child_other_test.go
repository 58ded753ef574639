//go:build !linux

package cache

import "fmt"

func runPlatformChild(role string, _ func(string) string) error {
	return fmt.Errorf("unknown child role %q", role)
}
