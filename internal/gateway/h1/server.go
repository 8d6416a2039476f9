// Package h1 serves HTTP/1.1 on the gateway's plain sockets with one goroutine per connection
// and nothing else per request: no background read, no per-request context, no response
// buffering beyond the connection's own. net/http's server spends more CPU per proxied request
// on those than the gateway spends on routing and forwarding it.
//
// It serves only what it is sure of: an HTTP/1.1 request in origin form with one valid Host,
// valid header fields, no Upgrade, no Expect, no Transfer-Encoding and a body of known length up
// to MaxBody, whose head fits the read buffer. Anything else — another version, a WebSocket
// upgrade, 100-continue, a chunked or large upload, a huge or malformed head — is handed over,
// with the bytes already read, to a net/http server, which then owns the connection and answers
// exactly as it would have on its own (400, 431, 501, 505, upgrades, …).
package h1

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Config is what a Server needs.
type Config struct {
	// Handler serves every request the loop accepts. The Request, its Header and its Body are
	// the connection's and are reused for its next request: a handler must not use them after
	// it returns.
	Handler http.Handler
	// Fallback serves the connections handed over; its Handler should be the same.
	Fallback *http.Server

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration // whole request including body; 0 means none
	IdleTimeout       time.Duration
	// SendTimeout bounds each write to a client: a client that takes longer than this to make
	// room for the next piece of an answer (one that stopped reading) loses its connection.
	// 0 means no bound.
	SendTimeout time.Duration
	// MaxBody is the largest request body (by Content-Length) served here rather than handed over.
	MaxBody int64
	Log     logr.Logger
}

// Server serves one listening socket.
type Server struct {
	cfg      Config
	handoff  *handoffListener
	shutting atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[*conn]struct{}

	// The sweep (sweep.go): its clock, and its end when Shutdown or Close is done.
	epoch    time.Time
	now      atomic.Int64
	tick     time.Duration
	sweepEnd chan struct{}
	endSweep sync.Once
}

// New returns a Server; Serve starts it.
func New(cfg Config) *Server {
	return &Server{cfg: cfg, conns: map[*conn]struct{}{}, epoch: time.Now(), tick: sweepTick(cfg.IdleTimeout, cfg.SendTimeout),
		sweepEnd: make(chan struct{})}
}

// stopSweeping ends the sweep: no connection is left to time.
func (s *Server) stopSweeping() { s.endSweep.Do(func() { close(s.sweepEnd) }) }

// Serve accepts connections on ln until Shutdown or Close, and returns http.ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.handoff = newHandoffListener(ln.Addr())
	// Shutdown raises the flag before it looks for the listener: one of the two closes it.
	closed := s.shutting.Load()
	s.mu.Unlock()
	if closed {
		_ = ln.Close()
		return http.ErrServerClosed
	}
	fallbackDone := make(chan struct{})
	go func() {
		defer close(fallbackDone)
		_ = s.cfg.Fallback.Serve(s.handoff)
	}()
	defer func() { _ = s.handoff.Close(); <-fallbackDone }()
	// Connections outlive Serve during a graceful Shutdown: the sweep runs until it is done.
	go s.sweep(s.sweepEnd)
	var backoff time.Duration
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() || errors.Is(err, net.ErrClosed) {
				return http.ErrServerClosed
			}
			// Out of file descriptors and the like: wait a little, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.cfg.Log.V(1).Info("accept failed; retrying", "error", err.Error(), "in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := newConn(s, rwc)
		if !s.track(c) {
			_ = rwc.Close()
			continue
		}
		go c.serve()
	}
}

// track adds c to the open connections; false when the server is shutting down.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting, closes idle connections, lets the requests in flight finish, and
// closes their connections after the answer; when ctx ends first the rest are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	defer s.stopSweeping()
	s.shutting.Store(true)
	s.closeListener()
	fallback := make(chan error, 1)
	go func() { fallback <- s.cfg.Fallback.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.wakeIdle() == 0 {
			return <-fallback
		}
		select {
		case <-ctx.Done():
			s.closeAll()
			if err := <-fallback; err != nil && !errors.Is(err, ctx.Err()) {
				return errors.Join(ctx.Err(), err)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close closes the socket and every connection at once.
func (s *Server) Close() error {
	defer s.stopSweeping()
	s.shutting.Store(true)
	s.closeListener()
	s.closeAll()
	return s.cfg.Fallback.Close()
}

func (s *Server) closeListener() {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
}

// wakeIdle makes the connections waiting for a request stop waiting (they see the shutdown and
// close) and returns how many connections are still open.
func (s *Server) wakeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.phase.Load() != phaseActive {
			_ = c.rwc.SetReadDeadline(aLongTimeAgo)
		}
	}
	return len(s.conns)
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.rwc.Close()
	}
}

// aLongTimeAgo is a deadline that makes a blocked read return at once.
var aLongTimeAgo = time.Unix(1, 0)
