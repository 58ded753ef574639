//go:build !unix

package nopoll

import "os"

// Open opens path for reading, with os.Open: only Unix has the poller cost.
func Open(path string) (*os.File, error) {
	return os.Open(path)
}
