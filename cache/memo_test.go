package cache

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFailureMemo(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	const within = time.Minute
	tests := []struct {
		name    string
		key     string
		now     time.Time
		forget  bool
		wantOK  bool
		wantMsg string
	}{
		{"just after", "k", at.Add(time.Second), false, true, "login required"},
		{"same instant", "k", at, false, true, "login required"},
		{"last moment", "k", at.Add(within - time.Nanosecond), false, true, "login required"},
		{"expired at the boundary", "k", at.Add(within), false, false, ""},
		{"before it happened", "k", at.Add(-time.Second), false, false, ""},
		{"other key", "other", at.Add(time.Second), false, false, ""},
		{"forgotten", "k", at.Add(time.Second), true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := FailureMemo{Dir: filepath.Join(t.TempDir(), "failures")}
			if err := m.Remember("k", at, "login required"); err != nil {
				t.Fatal(err)
			}
			if tt.forget {
				if err := m.Forget("k"); err != nil {
					t.Fatal(err)
				}
			}
			msg, when, ok := m.Recall(tt.key, tt.now, within)
			if ok != tt.wantOK || msg != tt.wantMsg || (ok && !when.Equal(at)) {
				t.Errorf("Recall = %q, %s, %v; want %q, %s, %v", msg, when, ok, tt.wantMsg, at, tt.wantOK)
			}
		})
	}
}

func TestFailureMemoFiles(t *testing.T) {
	m := FailureMemo{Dir: filepath.Join(t.TempDir(), "failures")}
	if _, _, ok := m.Recall("k", time.Now(), time.Minute); ok {
		t.Error("Recall before the directory exists found something")
	}
	if err := m.Forget("k"); err != nil {
		t.Errorf("Forget of nothing: %v", err)
	}
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	if err := m.Remember("k", at, "failed"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(m.path("k")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("memo file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := os.WriteFile(m.path("k"), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := m.Recall("k", at, time.Minute); ok {
		t.Error("Recall of a damaged record succeeded")
	}
}
