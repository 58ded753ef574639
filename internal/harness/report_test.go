package harness

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseReport(t *testing.T) {
	tests := []struct {
		line    string
		want    report
		wantErr bool
	}{
		{line: "0 1500000 6120\n", want: report{status: 0, wall: 1500 * time.Microsecond, maxRSSKiB: 6120}},
		{line: "3 1 2", want: report{status: 3, wall: 1, maxRSSKiB: 2}},
		{line: "-9 1 2\n", want: report{status: -9, wall: 1, maxRSSKiB: 2}},
		{line: "", wantErr: true},
		{line: "0 1\n", wantErr: true},
		{line: "0 1 2 3\n", wantErr: true},
		{line: "zero 1 2\n", wantErr: true},
		{line: "0 -1 2\n", wantErr: true},
		{line: "0 1 -2\n", wantErr: true},
		{line: "0 99999999999999999999 2\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.line), func(t *testing.T) {
			got, err := parseReport(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseReport error = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errBadReport) {
				t.Errorf("error %v is not errBadReport", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(report{})); diff != "" {
				t.Errorf("parseReport (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add("0 1500000 6120\n")
	f.Add("-15 0 0")
	f.Add(" 1\t2 3 ")
	f.Fuzz(func(t *testing.T, line string) {
		got, err := parseReport(line)
		if err != nil {
			return
		}
		if got.wall < 0 || got.maxRSSKiB < 0 {
			t.Errorf("parseReport(%q) = %+v: negative measurement accepted", line, got)
		}
		again, err := parseReport(strconv.Itoa(got.status) + " " + strconv.FormatInt(int64(got.wall), 10) + " " + strconv.FormatInt(got.maxRSSKiB, 10))
		if err != nil || again != got {
			t.Errorf("reformatted %+v parses as %+v, %v", got, again, err)
		}
	})
}
