package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLockMutualExclusionAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "counter")
	if err := os.WriteFile(counter, []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	const procs, rounds = 4, 25
	var cmds []*exec.Cmd
	for range procs {
		cmds = append(cmds, child(t, "lockcount", "LOCK_DIR="+filepath.Join(dir, "locks"), "COUNTER="+counter, fmt.Sprintf("COUNT=%d", rounds)))
	}
	runAll(t, cmds)
	got, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(procs * rounds); string(got) != want {
		t.Errorf("counter = %s, want %s: increments were lost, so two processes held the lock at once", got, want)
	}
}

func TestLockReleasedWhenHolderIsKilled(t *testing.T) {
	l := &Locker{Dir: filepath.Join(t.TempDir(), "locks")}
	holder := child(t, "lockhold", "LOCK_DIR="+l.Dir)
	startReady(t, holder)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, "k"); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Lock while another process holds it = %v, want ErrLockTimeout", err)
	}

	if err := holder.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unlock, err := l.Lock(ctx, "k")
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	unlock()
}

func TestLockTimeoutCallsOnWaitOnce(t *testing.T) {
	var waits atomic.Int32
	l := &Locker{Dir: t.TempDir(), Notice: 10 * time.Millisecond, OnWait: func() { waits.Add(1) }}
	unlock, err := l.Lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = l.Lock(ctx, "k")
	if !errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock = %v, want ErrLockTimeout and DeadlineExceeded", err)
	}
	if !strings.Contains(fmt.Sprint(err), `"k"`) {
		t.Errorf("error %q does not name the key", err)
	}
	if n := waits.Load(); n != 1 {
		t.Errorf("OnWait called %d times, want 1", n)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	var waits atomic.Int32
	l := &Locker{Dir: t.TempDir(), OnWait: func() { waits.Add(1) }}
	unlock, err := l.Lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(released)
		unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unlock2, err := l.Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-released:
	default:
		t.Error("second Lock returned while the first was held")
	}
	unlock2()
	unlock2() // idempotent
	if n := waits.Load(); n != 0 {
		t.Errorf("OnWait called %d times before the default notice, want 0", n)
	}
}

func TestLockKeysAreIndependent(t *testing.T) {
	l := &Locker{Dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := l.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer a()
	b, err := l.Lock(ctx, "b")
	if err != nil {
		t.Fatalf("Lock(b) while a is held: %v", err)
	}
	b()
}

func TestLockRefusesUnsafeDir(t *testing.T) {
	dir := mkdir(t, t.TempDir(), 0o777)
	l := &Locker{Dir: dir}
	var ue *UnsafePathError
	if _, err := l.Lock(context.Background(), "k"); !errors.As(err, &ue) {
		t.Errorf("Lock in a world-writable dir = %v, want an *UnsafePathError", err)
	}
}

// TestLockRefusesUnsafeLockFile guards issue #5 item 4 (files owned by
// another user; symbolic links): a lock file that is a link, not a regular
// file, or another user's is refused with an *UnsafePathError that says how
// to fix it, and nothing it points to is created or changed.
func TestLockRefusesUnsafeLockFile(t *testing.T) {
	tests := map[string]func(t *testing.T, path string){
		"symbolic link": func(t *testing.T, path string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(path), "elsewhere"), path); err != nil {
				t.Fatal(err)
			}
		},
		"directory": func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		},
		"another user's": func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root")
			}
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, plant := range tests {
		t.Run(name, func(t *testing.T) {
			dir := mkdir(t, t.TempDir(), 0o700)
			path := filepath.Join(dir, hashName("k")+".lock")
			plant(t, path)
			l := &Locker{Dir: dir}
			_, err := l.Lock(context.Background(), "k")
			var ue *UnsafePathError
			if !errors.As(err, &ue) {
				t.Fatalf("Lock = %v, want an *UnsafePathError", err)
			}
			if ue.Path != path || !strings.Contains(ue.Reason, "remove it") {
				t.Errorf("error = %v, want the lock file's path and how to fix it", err)
			}
			if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the link's target was created: %v", err)
			}
		})
	}
}
