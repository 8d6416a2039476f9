package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/aviary-dev/aviary/internal/gateway/rawsock"
)

// bufferSize is the read and write buffer of a connection; a request head must fit the read
// buffer to be served here (larger ones are handed over).
const bufferSize = 4 << 10

// errHandOver: the request is one for net/http's server.
var errHandOver = errors.New("request handed over to net/http")

// conn is one client connection served by the loop.
type conn struct {
	s      *Server
	rwc    net.Conn
	remote string
	br     *bufio.Reader
	bw     *bufio.Writer // writes through out
	out    sendClock
	space  *requestSpace // where requests are read
	w      responseWriter
	watch  *watch

	readDeadline time.Time // of the request being served, when it has a body to read
	deadline     bool      // a read deadline is set: the next wait for a request clears it

	// For the sweep (sweep.go) and Shutdown, which leaves a connection serving a request alone.
	phase atomic.Int32
	since atomic.Int64 // when the phase began, on the sweep's clock

	ctx    context.Context // ends when the client is found gone
	cancel context.CancelFunc
}

func newConn(s *Server, rwc net.Conn) *conn {
	c := &conn{s: s, rwc: rwc, remote: rwc.RemoteAddr().String()}
	c.since.Store(s.clock()) // idle from now on, for a sweep that comes before serve does
	gone := new(Gone)
	ctx, cancel := context.WithCancel(context.Background())
	c.ctx = context.WithValue(ctx, goneKey{}, gone)
	c.cancel = func() { cancel(); gone.fire() }
	c.space = newRequestSpace(c.ctx)
	raw := rawsock.New(rwc)
	c.br = bufio.NewReaderSize(raw, bufferSize)
	c.out = sendClock{raw: raw, clock: &s.now}
	c.bw = bufio.NewWriterSize(&c.out, bufferSize)
	c.w.c = c
	c.watch = newWatch(rwc, raw, &c.readDeadline, c.cancel)
	return c
}

// serve reads and answers requests until the connection ends or is handed over.
func (c *conn) serve() {
	handedOver := false
	defer func() {
		c.s.forget(c)
		c.cancel()
		if !handedOver {
			_ = c.rwc.Close()
		}
	}()
	for {
		r, err := c.next()
		if errors.Is(err, errHandOver) {
			handedOver = true
			c.s.forget(c) // first: the sweep and Shutdown must leave net/http's connection alone
			c.handOver()
			return
		}
		if err != nil {
			return // EOF, a timeout, or shutting down: nothing to answer
		}
		if !c.serveOne(r) {
			return
		}
	}
}

// next waits for the next request and returns it once its head is read and checked.
func (c *conn) next() (*http.Request, error) {
	c.since.Store(c.s.clock())
	c.phase.Store(phaseIdle) // the sweep ends the wait after IdleTimeout
	if c.deadline {
		_ = c.rwc.SetReadDeadline(time.Time{})
		c.deadline = false
	}
	// Checked after the phase is idle and the deadline cleared: Shutdown sets its own deadline
	// on idle connections after raising the flag, so either this sees the flag or the read
	// sees that deadline.
	if c.s.shutting.Load() {
		return nil, http.ErrServerClosed
	}
	if c.out.cut.Load() {
		return nil, errSendTimeout // no further request on a connection the sweep gave up on
	}
	if _, err := c.br.Peek(1); err != nil {
		return nil, err
	}
	n, err := c.headLength()
	if err != nil {
		return nil, err
	}
	head, _ := c.br.Peek(n)
	r, ok := c.space.parse(head[:n-2], c.s.cfg.MaxBody)
	if !ok {
		return nil, errHandOver
	}
	_, _ = c.br.Discard(n)
	c.since.Store(c.s.clock())
	if c.phase.Swap(phaseActive) == phaseExpired {
		return nil, errIdleExpired // the sweep has woken or will wake the read: too late
	}
	r.RemoteAddr = c.remote
	c.readDeadline = time.Time{}
	if r.ContentLength > 0 {
		c.space.withBody(r, c.br)
		if d := c.s.cfg.ReadTimeout; d > 0 {
			c.readDeadline = time.Now().Add(d)
			c.setReadDeadline(c.readDeadline)
		}
	}
	// Without a body nothing reads the connection until the next request; a watch
	// (watch.go) reads it meanwhile until the client leaves.
	return r, nil
}

// sendClock writes to the client's socket and notes, on the sweep's clock, since when a write is
// under way, so that the sweep can end one the client leaves waiting (Config.SendTimeout)
// without a deadline set for every write.
type sendClock struct {
	raw   *rawsock.Conn
	clock *atomic.Int64 // the sweep's
	since atomic.Int64  // 1 + the clock when the write began; 0 when none is under way
	cut   atomic.Bool   // the sweep found a write waiting too long: the connection is to end
}

// errSendTimeout: the client made no room for an answer within Config.SendTimeout.
var errSendTimeout = errors.New("client did not take the answer within the send timeout")

func (w *sendClock) Write(p []byte) (int, error) {
	if w.cut.Load() {
		return 0, errSendTimeout
	}
	w.since.Store(w.clock.Load() + 1)
	n, err := w.raw.Write(p)
	w.since.Store(0)
	return n, err
}

// setReadDeadline sets a read deadline that the next wait for a request clears.
func (c *conn) setReadDeadline(t time.Time) {
	_ = c.rwc.SetReadDeadline(t)
	c.deadline = true
}

// headLength waits until the read buffer holds a whole request head and returns its length.
// A head that does not fit the buffer, or is not delimited the usual way, is handed over. The
// header timeout starts only when the head has to be waited for: most arrive in one read.
func (c *conn) headLength() (int, error) {
	for waited := false; ; waited = true {
		buf, _ := c.br.Peek(c.br.Buffered())
		if buf[0] == '\r' || buf[0] == '\n' {
			return 0, errHandOver // empty lines before the request line
		}
		if i := bytes.Index(buf, crlfcrlf); i >= 0 {
			return i + len(crlfcrlf), nil
		}
		if bytes.Contains(buf, lflf) || len(buf) == c.br.Size() {
			return 0, errHandOver
		}
		if !waited {
			// No longer idle: the header timeout bounds the wait, unless the sweep came first.
			if !c.phase.CompareAndSwap(phaseIdle, phaseHead) {
				return 0, errIdleExpired
			}
			if d := c.s.cfg.ReadHeaderTimeout; d > 0 {
				c.setReadDeadline(time.Now().Add(d))
			}
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			return 0, err
		}
	}
}

var crlfcrlf, lflf = []byte("\r\n\r\n"), []byte("\n\n")

// serveOne answers r and reports whether the connection can carry another request.
func (c *conn) serveOne(r *http.Request) bool {
	c.w.reset(r)
	c.watch.arm()
	completed := c.runHandler(r)
	if c.watch.disarm() {
		c.setReadDeadline(c.readDeadline) // the watch left the deadline in the past
	}
	if !completed || c.ctx.Err() != nil {
		return false // aborted, or the client is gone
	}
	if err := c.w.finish(); err != nil {
		return false
	}
	// What the handler left of the body must be read before the next request.
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return false
	}
	return !c.w.closeAfter
}

// runHandler calls the handler; a panic ends the connection without the rest of the answer
// (http.ErrAbortHandler is the handler's way to ask for that) and never the gateway.
func (c *conn) runHandler(r *http.Request) (completed bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler { //nolint:errorlint // compared as net/http does
				buf := make([]byte, 16<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.s.cfg.Log.Error(nil, "handler panicked", "panic", p, "remote", c.remote, "stack", string(buf))
			}
			completed = false
		}
	}()
	c.s.cfg.Handler.ServeHTTP(&c.w, r)
	return true
}

// handOver gives the connection, with the bytes read and not yet answered, to net/http.
func (c *conn) handOver() {
	buffered, _ := c.br.Peek(c.br.Buffered())
	pending := append([]byte(nil), buffered...)
	_ = c.rwc.SetReadDeadline(time.Time{})
	c.s.handoff.push(&replayConn{Conn: boundSendsOn(c.rwc, c.s.cfg.SendTimeout), pending: pending})
}
