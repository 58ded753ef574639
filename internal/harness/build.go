package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
)

// Package import paths of the programs the harness itself needs.
const (
	HelperPackage   = "github.com/G-Core/gcore-credential-helper/cmd/gcore-credential-helper"
	BaselinePackage = "github.com/G-Core/gcore-credential-helper/bench/baseline"
	LauncherPackage = "github.com/G-Core/gcore-credential-helper/internal/harness/launch"
)

// BuildBinary builds the Go package pkg (an import path, or a path relative to the working
// directory) into the executable out, statically linked as the Linux release is
// (CGO_ENABLED=0, -trimpath). It runs the go command found in PATH, in the harness's own
// environment so the module and build caches are the developer's.
func BuildBinary(ctx context.Context, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// Builder builds packages into Dir, each at most once, so a test binary that runs many
// end-to-end tests links the helper once. Keep one per test run (for example in TestMain) and
// share it; it is safe for concurrent use. Binaries keep their package's last path element as
// their name, because the helper picks its persona from argv[0].
type Builder struct {
	Dir string

	mu    sync.Mutex
	built map[string]built // by file name
}

type built struct {
	pkg string
	err error
}

// Build returns the path of pkg's binary in b.Dir, building it on first use. A failed build
// is remembered too, so every test that needs it fails fast with the same error.
func (b *Builder) Build(ctx context.Context, pkg string) (string, error) {
	name := path.Base(pkg)
	out := filepath.Join(b.Dir, name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.built[name]; ok {
		if prev.pkg != pkg {
			return "", fmt.Errorf("build %s: %s already holds %s", pkg, out, prev.pkg)
		}
		return out, prev.err
	}
	err := BuildBinary(ctx, pkg, out)
	if b.built == nil {
		b.built = make(map[string]built)
	}
	b.built[name] = built{pkg: pkg, err: err}
	return out, err
}

// CopyExecutable copies the executable src to dst, which must not exist yet. io.Copy copies
// between the two files in the kernel (copy_file_range), as cp does, so the copy sits in the
// page cache as an installed binary would (see make bench's copies).
func CopyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
