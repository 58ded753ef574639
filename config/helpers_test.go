package config

import (
	"os"
	"path/filepath"
	"testing"
)

// mapEnv is the test stand-in for os.Getenv.
func mapEnv(m map[string]string) Env {
	return func(key string) string { return m[key] }
}

// writeConfig writes content to a fresh config.toml with the given mode and returns its path.
func writeConfig(t testing.TB, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; tests need the exact bits.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t testing.TB, content string) *File {
	t.Helper()
	f, err := Load(writeConfig(t, content, 0o600))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

func ptr[T any](v T) *T { return &v }
