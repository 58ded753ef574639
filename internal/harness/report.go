package harness

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// report is the launcher's line about its child: "STATUS WALL_NS MAXRSS_KIB".
type report struct {
	status    int // exit code, or minus the terminating signal
	wall      time.Duration
	maxRSSKiB int64
}

var errBadReport = errors.New("malformed launcher report")

func parseReport(line string) (report, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return report{}, fmt.Errorf("%w: want 3 fields, got %d", errBadReport, len(f))
	}
	status, err1 := strconv.Atoi(f[0])
	wall, err2 := strconv.ParseInt(f[1], 10, 64)
	rss, err3 := strconv.ParseInt(f[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return report{}, fmt.Errorf("%w: %w", errBadReport, err)
	}
	if wall < 0 || rss < 0 {
		return report{}, fmt.Errorf("%w: negative measurement", errBadReport)
	}
	return report{status: status, wall: time.Duration(wall), maxRSSKiB: rss}, nil
}
