package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/aviary-dev/aviary/internal/gateway/proxy"
	"github.com/aviary-dev/aviary/internal/gateway/route"
)

func freeSocket(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// start serves a table whose one socket forwards everything to backend.
func start(t testing.TB, backend string, limits Limits) (*Server, *proxy.Handler, string) {
	t.Helper()
	sock := freeSocket(t)
	h := proxy.New(logr.Discard(), proxy.DefaultOptions())
	rule := &route.Rule{ID: "r", Backends: []*route.Backend{{Name: "b", Weight: 1, Endpoints: []string{backend}}}, TotalWeight: 1}
	tbl := &route.Table{Ports: map[string]*route.PortTable{sock: {Any: []*route.Entry{{Match: route.Match{PathType: route.PathPrefix}, Rule: rule}}, Port: 80, Scheme: "http"}}}
	h.Store(tbl)
	s := New(h, limits, logr.Discard())
	if failed := s.Apply(tbl); len(failed) > 0 {
		t.Fatalf("could not open %v", failed)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, h, sock
}

func slowBackend(t testing.TB, delay time.Duration) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// raw sends bytes on a fresh connection and returns the status line of the answer.
func raw(t *testing.T, sock, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer to %q: %v", request, err)
	}
	return strings.TrimSpace(line)
}

func TestHostileRequestsGet4xx(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxHeaderBytes = 4 << 10
	_, _, sock := start(t, slowBackend(t, 0), limits)
	huge := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	cases := map[string]struct{ req, want string }{
		"garbage":          {"\x16\x03\x01 not http\r\n\r\n", "HTTP/1.1 400"},
		"bad version":      {"GET / HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 505"},
		"no host":          {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400"},
		"bad header":       {"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", "HTTP/1.1 400"},
		"header too large": {huge, "HTTP/1.1 431"},
		"bad length":       {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 400"},
		"two lengths":      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "HTTP/1.1 400"},
		"unknown encoding": {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501"},
	}
	for name, c := range cases {
		if got := raw(t, sock, c.req); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: answered %q, want %q", name, got, c.want)
		}
	}
	// And the gateway still serves.
	if got := raw(t, sock, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("after hostile requests a good one got %q", got)
	}
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	s, _, sock := start(t, slowBackend(t, 300*time.Millisecond), DefaultLimits())
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + sock + "/")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(100 * time.Millisecond) // the request is now at the backend
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-done
	if r.err != nil || r.code != 200 || r.body != "done" {
		t.Fatalf("in-flight request during shutdown: %+v", r)
	}
	if _, err := net.DialTimeout("tcp", sock, time.Second); err == nil {
		t.Fatal("socket still accepts connections after shutdown")
	}
}

func TestApplyOpensAndClosesSockets(t *testing.T) {
	s, h, sock := start(t, slowBackend(t, 0), DefaultLimits())
	other := freeSocket(t)
	old := h.Table()
	next := &route.Table{Ports: map[string]*route.PortTable{other: old.Ports[sock]}}
	h.Store(next)
	if failed := s.Apply(next); len(failed) > 0 {
		t.Fatalf("could not open %v", failed)
	}
	if got := raw(t, other, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Errorf("new socket answered %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", sock, time.Second)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("removed socket still open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A socket that cannot be opened is reported, not fatal.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := &route.Table{Ports: map[string]*route.PortTable{other: old.Ports[sock], busy.Addr().String(): old.Ports[sock]}}
	failed := s.Apply(bad)
	if _, ok := failed[busy.Addr().String()]; !ok || len(failed) != 1 {
		t.Errorf("busy socket not reported: %v", failed)
	}
}
