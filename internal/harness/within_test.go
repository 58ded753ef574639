package harness

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestWithin(t *testing.T) {
	want := errors.New("done")
	if err := Within(t, time.Minute, "a quick call", func() error { return want }); err != want {
		t.Errorf("Within = %v, want %v", err, want)
	}
	ft := &fatalRecorder{TB: t}
	block := make(chan struct{})
	defer close(block)
	go func() {
		defer func() { recover() }()
		_ = Within(ft, 10*time.Millisecond, "a hung call", func() error { <-block; return nil })
	}()
	deadline := time.Now().Add(time.Minute)
	for !ft.failed() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !ft.failed() {
		t.Error("Within did not fail on a call that never returned")
	}
}

// fatalRecorder records Fatalf instead of ending the test, for testing a
// helper that calls it (on its own goroutine, which the panic ends).
type fatalRecorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	panic("fatal")
}

func (f *fatalRecorder) failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg != ""
}
