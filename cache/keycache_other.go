//go:build !linux

package cache

import (
	"errors"
	"fmt"
)

// NewKernelKeyCache fails: only Linux has a kernel keyring. The file store
// then derives its key on every open.
func NewKernelKeyCache() (KeyCache, error) {
	return nil, fmt.Errorf("kernel keyring: %w", errors.ErrUnsupported)
}
