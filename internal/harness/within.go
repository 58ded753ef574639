package harness

import (
	"testing"
	"time"
)

// Within runs f and returns its error, or fails t when f has not returned
// after limit (f is left running): for calls that must not hang, such as
// opening a FIFO that has no writer. The limit is generous; the point is to
// fail instead of hanging until the test binary's own timeout.
func Within(t testing.TB, limit time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s did not return within %s", what, limit)
		return nil
	}
}
