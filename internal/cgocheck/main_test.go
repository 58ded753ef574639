package main

import (
	"slices"
	"strings"
	"testing"
)

// TestCheckReportsGoErrorsBesideCgo guards the Keychain compile check of
// issue #5 item 1: a package that uses cgo is type-checked without a C
// toolchain, its cgo calls taken on trust, and a Go type error in it is
// reported with its position.
func TestCheckReportsGoErrorsBesideCgo(t *testing.T) {
	tests := []struct {
		pkg       string
		wantError string // "" for none
	}{
		{"./testdata/good", ""},
		{"./testdata/bad", `bad.go:10:9: cannot use "not an int"`},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			res, err := check("darwin", "arm64", []string{tt.pkg})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"runtime/cgo", "github.com/G-Core/gcore-credential-helper/internal/cgocheck" + strings.TrimPrefix(tt.pkg, ".")}
			if !slices.Equal(res.cgo, want) {
				t.Errorf("packages with cgo = %q, want %q", res.cgo, want)
			}
			got := strings.Join(res.errors, "\n")
			switch {
			case tt.wantError == "" && got != "":
				t.Errorf("errors for a correct package:\n%s", got)
			case tt.wantError != "" && (len(res.errors) != 1 || !strings.Contains(got, tt.wantError)):
				t.Errorf("errors = %q, want one containing %q", res.errors, tt.wantError)
			}
		})
	}
}
