// Package server owns the gateway's listening sockets: it opens the sockets a route table needs,
// closes the ones it no longer needs after draining them, and shuts everything down gracefully.
// Sockets survive table swaps, so a route change never touches an open connection.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/aviary-dev/aviary/internal/gateway/h1"
	"github.com/aviary-dev/aviary/internal/gateway/proxy"
	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// Limits protect the gateway from slow or hostile clients.
type Limits struct {
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration // whole request including body; 0 means none
	IdleTimeout       time.Duration
	// SendTimeout bounds each write of an answer: a client that makes no room for it within
	// this (one that stopped reading) loses its connection. 0 means no bound.
	SendTimeout time.Duration
	// DrainTimeout bounds how long a closing socket waits for requests in flight.
	DrainTimeout time.Duration
}

// DefaultLimits are the command line defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		SendTimeout:       60 * time.Second,
		DrainTimeout:      30 * time.Second,
	}
}

// Server runs one http.Server per socket, all backed by one proxy.Handler.
type Server struct {
	handler *proxy.Handler
	limits  Limits
	log     logr.Logger

	mu      sync.Mutex
	sockets map[string]*socket
	wg      sync.WaitGroup
}

type socket struct {
	srv httpServer
	tls bool
}

// httpServer is what a socket is served by: net/http's server for TLS, the h1 loop (which hands
// what it does not serve to net/http's) for plain HTTP.
type httpServer interface {
	Shutdown(ctx context.Context) error
	Close() error
}

// New returns a Server with no sockets open.
func New(h *proxy.Handler, limits Limits, log logr.Logger) *Server {
	return &Server{handler: h, limits: limits, log: log, sockets: map[string]*socket{}}
}

// Apply opens the sockets of t that are not open and drains the open ones t no longer has. It
// returns the sockets that could not be opened, with the reason, so status can report them.
func (s *Server) Apply(t *route.Table) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	failed := map[string]string{}
	for addr, sock := range s.sockets {
		pt, keep := t.Ports[addr]
		if keep && (len(pt.TLS) > 0) == sock.tls {
			continue
		}
		delete(s.sockets, addr)
		go s.drain(addr, sock.srv)
	}
	addrs := make([]string, 0, len(t.Ports))
	for addr := range t.Ports {
		addrs = append(addrs, addr)
	}
	sort.Strings(addrs)
	for _, addr := range addrs {
		if _, open := s.sockets[addr]; open {
			continue
		}
		sock, err := s.open(addr, len(t.Ports[addr].TLS) > 0)
		if err != nil {
			failed[addr] = err.Error()
			continue
		}
		s.sockets[addr] = sock
	}
	return failed
}

func (s *Server) open(addr string, useTLS bool) (*socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           s.handler.ForSocket(addr),
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		ErrorLog:          log.New(logWriter{s.log}, "", 0),
	}
	var served interface {
		httpServer
		Serve(net.Listener) error
	} = srv
	if useTLS {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certificateFor(addr)}
		ln = tls.NewListener(h1.BoundSendsListener(ln, s.limits.SendTimeout), srv.TLSConfig)
	} else {
		served = h1.New(h1.Config{
			Handler:           srv.Handler,
			Fallback:          srv,
			ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
			ReadTimeout:       s.limits.ReadTimeout,
			IdleTimeout:       s.limits.IdleTimeout,
			SendTimeout:       s.limits.SendTimeout,
			MaxBody:           proxy.MaxDirectBody,
			Log:               s.log,
		})
	}
	s.log.Info("listening", "socket", addr, "tls", useTLS)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := served.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error(err, "socket stopped", "socket", addr)
		}
	}()
	return &socket{srv: served, tls: useTLS}, nil
}

// certificateFor serves the certificate of the listener whose hostname best matches the SNI name,
// read from the current table so certificate changes apply without reopening the socket.
func (s *Server) certificateFor(addr string) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		pt := s.handler.Table().Ports[addr]
		if pt == nil || len(pt.TLS) == 0 {
			return nil, errors.New("no certificate for this socket")
		}
		c := bestCertificate(pt.TLS, strings.ToLower(hello.ServerName))
		pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
		if err != nil {
			return nil, err
		}
		return &pair, nil
	}
}

func bestCertificate(certs []route.Certificate, name string) route.Certificate {
	best, bestLen := certs[0], -1
	for _, c := range certs {
		switch {
		case c.Hostname == name:
			return c
		case strings.HasPrefix(c.Hostname, "*.") && strings.HasSuffix(name, c.Hostname[1:]) && len(c.Hostname) > bestLen:
			best, bestLen = c, len(c.Hostname)
		case c.Hostname == "" && bestLen < 0:
			best, bestLen = c, 0
		}
	}
	return best
}

func (s *Server) drain(addr string, srv httpServer) {
	ctx, cancel := context.WithTimeout(context.Background(), s.limits.DrainTimeout)
	defer cancel()
	s.log.Info("closing socket", "socket", addr)
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
}

// Shutdown stops accepting connections on every socket and waits for requests in flight to
// finish (or ctx to end, when the remaining connections are closed).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	socks := s.sockets
	s.sockets = map[string]*socket{}
	s.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, sock := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sock.srv.Shutdown(ctx); err != nil {
				_ = sock.srv.Close()
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.wg.Wait()
	return errors.Join(errs...)
}

// logWriter sends net/http's own complaints (TLS handshake errors, panics) to the logger.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info(strings.TrimSpace(string(p)))
	return len(p), nil
}
