package h1

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/aviary-dev/aviary/internal/gateway/rawsock"
)

// watchDelay is how long a request runs before the sweep (sweep.go) starts watching for its
// client to leave. Most answers come sooner, so most requests never pay for a watch; a long one
// (a slow backend, a stream) is cut short when its client goes, within this delay and a tick.
const watchDelay = time.Second

// watch ends a connection's context when its client closes the connection while a request is
// in flight: the backend request then stops too. It peeks at the socket (PeerEnded), so a
// pipelined request that arrives meanwhile stays in place for the loop to read.
type watch struct {
	raw    *rawsock.Conn // nil when the connection has no socket to peek at
	conn   net.Conn
	until  *time.Time // the read deadline of the request being served; zero for none
	gone   func()
	state  atomic.Int32 // watchIdle, watchArmed, watchRunning
	ending atomic.Bool  // disarm wants a running watch to end
	exited chan struct{}
}

const (
	watchIdle int32 = iota
	watchArmed
	watchRunning
)

// newWatch watches conn through raw, its raw socket (conn is not watched when it has none).
func newWatch(conn net.Conn, raw *rawsock.Conn, until *time.Time, gone func()) *watch {
	w := &watch{conn: conn, until: until, gone: gone, exited: make(chan struct{}, 1)}
	if raw.Socket() {
		w.raw = raw
	}
	return w
}

// arm makes the request about to be served one the sweep may start a watch for.
func (w *watch) arm() {
	if w.raw == nil {
		return
	}
	w.ending.Store(false)
	w.state.Store(watchArmed)
}

// start begins the watch of the request being served, unless it has begun or ended.
func (w *watch) start() {
	if w.raw != nil && w.state.CompareAndSwap(watchArmed, watchRunning) {
		go w.run()
	}
}

// disarm ends the watch of the request just served; it returns once no watch is running, and
// reports whether one ran (it leaves the connection's read deadline in the past).
func (w *watch) disarm() (ran bool) {
	if w.raw == nil {
		return false
	}
	if w.state.CompareAndSwap(watchArmed, watchIdle) {
		return false // the watch never started (a late sweep finds it idle and does nothing)
	}
	w.ending.Store(true)
	_ = w.conn.SetReadDeadline(aLongTimeAgo) // wakes the running watch
	<-w.exited
	w.state.Store(watchIdle)
	return true
}

func (w *watch) run() {
	defer func() { w.exited <- struct{}{} }()
	// A request with a body has its read deadline; one without has none, and the watch runs
	// until the client leaves or disarm ends it.
	_ = w.conn.SetReadDeadline(*w.until)
	if w.ending.Load() {
		return // disarm's deadline may have come before the line above and been undone by it
	}
	left, err := w.raw.PeerEnded()
	if left && err == nil {
		w.gone()
		return
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		w.gone() // the socket failed
	}
}
