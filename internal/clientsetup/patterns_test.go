package clientsetup

import (
	"regexp"
	"testing"
)

// The patterns shellSafe and plainYAML implement, as they were written when
// they were matched with regexp; the written-out checks must agree with them.
var (
	shellSafePattern = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)
	plainYAMLPattern = regexp.MustCompile(`^(--)?[A-Za-z/][A-Za-z0-9_./-]*$`)
)

var patternSeeds = []string{
	"", "a", "-", "--", "---", "--a", "---a", "--/x", "/", "/usr/bin/x", "9a", "a9", "A_b.c/d-e", "a b", "a:b",
	"user@host:1", "x=y,z%+", "é", "a\n", "\xff", "--exec-arg", "'quoted'", "$HOME", "a*", "~/x",
}

func TestWrittenOutPatterns(t *testing.T) {
	for _, s := range patternSeeds {
		if got, want := shellSafe(s), shellSafePattern.MatchString(s); got != want {
			t.Errorf("shellSafe(%q) = %t, the pattern says %t", s, got, want)
		}
		if got, want := plainYAML(s), plainYAMLPattern.MatchString(s); got != want {
			t.Errorf("plainYAML(%q) = %t, the pattern says %t", s, got, want)
		}
	}
}

func FuzzWrittenOutPatterns(f *testing.F) {
	for _, s := range patternSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := shellSafe(s), shellSafePattern.MatchString(s); got != want {
			t.Fatalf("shellSafe(%q) = %t, the pattern says %t", s, got, want)
		}
		if got, want := plainYAML(s), plainYAMLPattern.MatchString(s); got != want {
			t.Fatalf("plainYAML(%q) = %t, the pattern says %t", s, got, want)
		}
	})
}
