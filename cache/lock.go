package cache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultLockNotice is how long Locker.Lock waits before calling OnWait when
// Locker.Notice is zero.
const DefaultLockNotice = 3 * time.Second

// Polling bounds for a contended lock: short at first, so that waiters
// follow a quick holder closely, and capped, so that a slow holder costs
// waiters a few wake-ups a second.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 25 * time.Millisecond
)

// Locker hands out exclusive per-key locks shared by all processes of this
// user: one lock file per key under Dir, locked with an advisory file lock
// that the kernel releases when its holder exits or dies.
type Locker struct {
	// Dir holds the lock files, e.g.
	// $XDG_CACHE_HOME/gcore-credential-helper/locks.
	Dir string
	// Notice is how long to wait before calling OnWait; zero means
	// DefaultLockNotice.
	Notice time.Duration
	// OnWait, if set, is called once when a Lock call has waited Notice, so
	// the user learns why nothing happens.
	OnWait func()
}

// Lock takes the lock for key, waiting while another process or goroutine
// holds it, until ctx is done; then it returns an error wrapping both
// ErrLockTimeout and the context's error. The returned unlock may be called
// more than once.
func (l *Locker) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := EnsurePrivateDir(l.Dir); err != nil {
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	f, err := openLockFile(filepath.Join(l.Dir, hashName(key)+".lock"))
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", key, err)
	}
	var notice <-chan time.Time
	if l.OnWait != nil {
		d := l.Notice
		if d <= 0 {
			d = DefaultLockNotice
		}
		t := time.NewTimer(d)
		defer t.Stop()
		notice = t.C
	}
	for poll := lockPollMin; ; poll = min(2*poll, lockPollMax) {
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %q: %w", key, err)
		}
		if ok {
			return sync.OnceFunc(func() {
				_ = unlockFile(f)
				_ = f.Close()
			}), nil
		}
		if err := sleep(ctx, poll, &notice, l.OnWait); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %q: %w (%w)", key, ErrLockTimeout, err)
		}
	}
}

// openLockFile opens (creating it if needed) the lock file at path. It
// refuses, with an *UnsafePathError, a symbolic link, something that is not a
// regular file, or a file another user owns: a lock file left by a run under
// sudo would otherwise fail every later run with a bare "permission denied",
// or, if it were readable, let two users' runs think they exclude each other.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|openNoFollow|openNonBlock, 0o600)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil {
			if reason := unsafeLockFile(fi); reason != "" {
				return nil, &UnsafePathError{Path: path, Reason: reason}
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		if reason := unsafeLockFile(fi); reason != "" {
			err = &UnsafePathError{Path: path, Reason: reason}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// unsafeLockFile says why fi cannot serve as a lock file, and how to fix it,
// or "".
func unsafeLockFile(fi os.FileInfo) string {
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return "is a symbolic link: remove it (the helper makes its own)"
	case !fi.Mode().IsRegular():
		return "is not a regular file: remove it (the helper makes its own)"
	}
	if reason := unsafeOwner(fi); reason != "" {
		return reason + ": remove it as that user (it holds no secret), then run the helper again"
	}
	return ""
}

// sleep waits for d or until ctx is done, calling onWait (once) if *notice
// fires meanwhile.
func sleep(ctx context.Context, d time.Duration, notice *<-chan time.Time, onWait func()) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-*notice:
			*notice = nil
			onWait()
		case <-t.C:
			return nil
		}
	}
}
