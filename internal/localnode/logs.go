package localnode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

// maxLogBytes bounds one container run's log; older lines are dropped first. Small, because a
// node holds thousands of containers.
const maxLogBytes = 128 << 10

type logLine struct {
	at   time.Time
	text string
}

// containerLog is one container run's log: start and stop lines and one access line per
// request, kept in memory.
type containerLog struct {
	mu      sync.Mutex
	lines   []logLine
	dropped int // lines dropped from the front, so followers can count lines absolutely
	size    int
	closed  bool
	changed chan struct{} // closed and replaced on every write, for followers
	now     func() time.Time
}

func newContainerLog(now func() time.Time) *containerLog {
	return &containerLog{changed: make(chan struct{}), now: now}
}

// Printf appends one line.
func (l *containerLog) Printf(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{at: l.now(), text: text})
	l.size += len(text) + 1
	for l.size > maxLogBytes && len(l.lines) > 1 {
		l.size -= len(l.lines[0].text) + 1
		l.lines[0] = logLine{}
		l.lines = l.lines[1:]
		l.dropped++
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// Close marks the run as over: followers stop after the last line.
func (l *containerLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// Read renders the log for opts (tail, since, timestamps, limitBytes; follow streams new lines
// until the run ends or ctx is done).
func (l *containerLog) Read(ctx context.Context, opts api.ContainerLogOpts) io.ReadCloser {
	lines, next, changed, closed := l.snapshot(0)
	lines = selectLines(lines, opts, l.now())
	first := render(lines, opts.Timestamps)
	if !opts.Follow || closed {
		return io.NopCloser(bytes.NewReader(limit(first, opts.LimitBytes)))
	}
	pr, pw := io.Pipe()
	go l.follow(ctx, pw, first, next, changed, opts)
	return pr
}

// follow writes first, then every line from absolute index next on, until the run ends, ctx is done,
// the reader goes away or limitBytes is reached.
func (l *containerLog) follow(ctx context.Context, w *io.PipeWriter, first []byte, next int, changed <-chan struct{}, opts api.ContainerLogOpts) {
	budget := opts.LimitBytes
	write := func(b []byte) bool {
		if opts.LimitBytes > 0 {
			if budget <= 0 {
				return false
			}
			if len(b) > budget {
				b = b[:budget]
			}
			budget -= len(b)
		}
		_, err := w.Write(b)
		return err == nil
	}
	if !write(first) {
		_ = w.Close()
		return
	}
	for {
		select {
		case <-ctx.Done():
			_ = w.CloseWithError(ctx.Err())
			return
		case <-changed:
		}
		var lines []logLine
		var closed bool
		lines, next, changed, closed = l.snapshot(next)
		if len(lines) > 0 && !write(render(lines, opts.Timestamps)) {
			_ = w.Close()
			return
		}
		if closed {
			_ = w.Close()
			return
		}
	}
}

// snapshot returns the lines from absolute index from on (from the oldest kept one when older
// lines were dropped), the absolute index after them, the channel that the next change closes,
// and whether the run is over.
func (l *containerLog) snapshot(from int) (lines []logLine, next int, changed <-chan struct{}, closed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := min(max(from-l.dropped, 0), len(l.lines))
	return append([]logLine(nil), l.lines[i:]...), l.dropped + len(l.lines), l.changed, l.closed
}

// selectLines applies since and tail.
func selectLines(lines []logLine, opts api.ContainerLogOpts, now time.Time) []logLine {
	since := opts.SinceTime
	if opts.SinceSeconds > 0 {
		since = now.Add(-time.Duration(opts.SinceSeconds) * time.Second)
	}
	if !since.IsZero() {
		i := 0
		for i < len(lines) && lines[i].at.Before(since) {
			i++
		}
		lines = lines[i:]
	}
	if opts.Tail > 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	return lines
}

func render(lines []logLine, timestamps bool) []byte {
	var b bytes.Buffer
	for _, ln := range lines {
		if timestamps {
			b.WriteString(ln.at.UTC().Format(time.RFC3339Nano))
			b.WriteByte(' ')
		}
		b.WriteString(ln.text)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func limit(b []byte, n int) []byte {
	if n > 0 && len(b) > n {
		return b[:n]
	}
	return b
}
