package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    options
		wantErr string
	}{
		{args: nil, want: options{rounds: 60, storm: 50, copies: 3, seed: 1}},
		{
			args: []string{"-rounds", "30", "-storm", "8", "-copies", "2", "-bin", "h", "-baseline", "b", "-seed", "7"},
			want: options{rounds: 30, storm: 8, copies: 2, bin: "h", baseline: "b", seed: 7},
		},
		{args: []string{"-copies", "0"}, wantErr: "want between 1 and -rounds"},
		{args: []string{"-rounds", "30", "-copies", "31"}, wantErr: "want between 1 and -rounds (30)"},
		{args: []string{"-rounds", "29"}, wantErr: "at least 30"},
		{args: []string{"-storm", "1"}, wantErr: "at least 2 processes"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
		{args: []string{"-nope"}, wantErr: "not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := parseFlags(tt.args, new(bytes.Buffer))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunRejectsBadFlagsWithUsageStatus(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-rounds", "5"}, &stdout, &stderr); code != 2 {
		t.Errorf("run exited %d, want 2", code)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "bench: -rounds 5") {
		t.Errorf("stdout %q, stderr %q: want nothing, then the complaint", stdout.String(), stderr.String())
	}
}
