package main

import (
	"bufio"
	"io"
	"strings"
	"time"

	gateway "github.com/aviary-dev/aviary/internal/gateway/controller"
)

// firstSwapAt returns when the gateway's log (text, written with -v) first reports a route
// table swapped in at or after t, to the millisecond its log gives; false when it does not.
func firstSwapAt(log io.Reader, t time.Time) (time.Time, bool) {
	from := t.Truncate(time.Millisecond)
	lines := bufio.NewScanner(log)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		if !strings.Contains(line, gateway.TableSwappedMessage) {
			continue
		}
		stamp, _, _ := strings.Cut(line, "\t")
		at, err := time.Parse("2006-01-02T15:04:05.000Z0700", stamp)
		if err == nil && !at.Before(from) {
			return at, true
		}
	}
	return time.Time{}, false
}
