//go:build unix

package nopoll_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/harness"
	"github.com/G-Core/gcore-credential-helper/internal/nopoll"
)

// TestOpenFIFODoesNotHang: a FIFO with no writer opens at once; the caller
// then sees it is not a regular file.
func TestOpenFIFODoesNotHang(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	err := harness.Within(t, 30*time.Second, "Open of a FIFO with no writer", func() error {
		f, err := nopoll.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil || fi.Mode().IsRegular() {
			return fmt.Errorf("Stat of a FIFO: %v, %v", fi, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenLeavesNoDescriptorNonBlocking: the descriptor os.NewFile gets is
// blocking, which is what keeps it away from the poller.
func TestOpenLeavesNoDescriptorNonBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := nopoll.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ctlErr error
	if err := raw.Control(func(fd uintptr) {
		var errno syscall.Errno
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		flags = int(r)
		if errno != 0 {
			ctlErr = errno
		}
	}); err != nil || ctlErr != nil {
		t.Fatal(err, ctlErr)
	}
	if flags&syscall.O_NONBLOCK != 0 {
		t.Errorf("the descriptor is non-blocking (flags %#x)", flags)
	}
}
