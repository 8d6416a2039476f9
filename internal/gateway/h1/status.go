package h1

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// statusLines holds "HTTP/1.1 <code> <reason>\r\n" for every code from 100 to 599.
var statusLines = func() []string {
	lines := make([]string, 600)
	for code := 100; code < len(lines); code++ {
		lines[code] = buildStatusLine(code)
	}
	return lines
}()

func statusLine(code int) string {
	if code < len(statusLines) {
		return statusLines[code]
	}
	return buildStatusLine(code)
}

func buildStatusLine(code int) string {
	reason := http.StatusText(code)
	if reason == "" {
		reason = "status code " + strconv.Itoa(code)
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + reason + "\r\n"
}

// A Date header is formatted once a second, not once an answer.
type formattedDate struct {
	second int64
	text   string
}

var lastDate atomic.Pointer[formattedDate]

func httpDate() string {
	now := time.Now()
	if d := lastDate.Load(); d != nil && d.second == now.Unix() {
		return d.text
	}
	d := &formattedDate{second: now.Unix(), text: now.UTC().Format(http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}
