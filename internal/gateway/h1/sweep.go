package h1

import (
	"errors"
	"time"
)

// The loop times idle connections and long requests with one goroutine per server rather than
// a deadline or a timer reset for every request, which cost the one P more than the request's
// routing does. Every tick the sweep closes the connections idle for longer than IdleTimeout
// and starts the client watch (watch.go) of the requests running for longer than watchDelay:
// both happen within a tick of their time. It also ends the writes to clients that have made no
// room for longer than SendTimeout. Connections note the time from the sweep's clock,
// so a request reads no clock either.

// maxTick is the sweep's period unless IdleTimeout asks for a finer one.
const maxTick = 100 * time.Millisecond

// errIdleExpired: the sweep closed the connection for idleness as its next request arrived.
var errIdleExpired = errors.New("connection idle for longer than the idle timeout")

// What a connection is doing, for the sweep and Shutdown.
const (
	phaseIdle    int32 = iota // waiting for a request
	phaseHead                 // a head has begun to arrive: its header timeout runs
	phaseActive               // a request is being served
	phaseExpired              // closed by the sweep for idleness
)

// sweepTick is the sweep's period: a quarter of the shortest timeout it keeps, within bounds.
func sweepTick(timeouts ...time.Duration) time.Duration {
	tick := maxTick
	for _, d := range timeouts {
		if d > 0 {
			tick = min(tick, max(d/4, time.Millisecond))
		}
	}
	return tick
}

// clock is the sweep's time: nanoseconds since the server was made, as of the last tick.
func (s *Server) clock() int64 { return s.now.Load() }

// sweep runs until done is closed.
func (s *Server) sweep(done <-chan struct{}) {
	t := time.NewTicker(s.tick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := int64(time.Since(s.epoch))
		s.now.Store(now)
		s.mu.Lock()
		for c := range s.conns {
			c.sweep(now)
		}
		s.mu.Unlock()
	}
}

// sweep closes c if it has been idle too long, starts its watch if its request runs long, and
// ends a write its client has left waiting too long.
func (c *conn) sweep(now int64) {
	if send := c.s.cfg.SendTimeout; send > 0 {
		if since := c.out.since.Load(); since != 0 && now-(since-1) >= int64(send) {
			c.out.cut.Store(true) // should the write end before the deadline below, the next fails
			_ = c.rwc.SetWriteDeadline(aLongTimeAgo)
		}
	}
	switch c.phase.Load() {
	case phaseIdle:
		idle := c.s.cfg.IdleTimeout
		if idle > 0 && now-c.since.Load() >= int64(idle) && c.phase.CompareAndSwap(phaseIdle, phaseExpired) {
			_ = c.rwc.SetReadDeadline(aLongTimeAgo) // wakes its wait for a request
		}
	case phaseActive:
		if now-c.since.Load() >= int64(watchDelay) {
			c.watch.start()
		}
	}
}
