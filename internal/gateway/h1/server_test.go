package h1

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	started := make(chan struct{})
	s, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			time.Sleep(300 * time.Millisecond)
		}
		_, _ = w.Write([]byte("done"))
	}))
	idle := dial(t, addr)
	idle.send(get("/"))
	idle.answer("GET")
	handedOver := dial(t, addr) // idle on net/http's side
	handedOver.send("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
	handedOver.answer("GET")
	busy := dial(t, addr)
	busy.send(get("/slow"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	resp, body := busy.answer("GET")
	if body != "done" || !resp.Close {
		t.Errorf("request in flight: %q, close=%v", body, resp.Close)
	}
	for name, c := range map[string]*client{"idle": idle, "handed over": handedOver, "busy": busy} {
		if !c.closed() {
			t.Errorf("%s connection still open after shutdown", name)
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("socket still accepts connections")
	}
}

func TestShutdownClosesWhatIsLeftWhenItsTimeEnds(t *testing.T) {
	s, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	c := dial(t, addr)
	c.send(get("/"))
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Error("shutdown with a request still running reported success")
	}
	if !c.closed() {
		t.Error("connection left open after the shutdown's time ended")
	}
}

func TestIdleAndSlowHeadConnectionsAreClosed(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), func(c *Config) {
		c.IdleTimeout = 200 * time.Millisecond
		c.ReadHeaderTimeout = 200 * time.Millisecond
	})
	idle := dial(t, addr)
	idle.send(get("/"))
	idle.answer("GET")
	slow := dial(t, addr)
	slow.send("GET / HTTP/1.1\r\nHost:")
	time.Sleep(500 * time.Millisecond)
	if !idle.closed() {
		t.Error("idle connection outlived the idle timeout")
	}
	if !slow.closed() {
		t.Error("half-sent head outlived the header timeout")
	}
}

// A connection handed over belongs to net/http: the loop's idle timeout no longer applies to it.
func TestTheSweepLeavesHandedOverConnectionsAlone(t *testing.T) {
	_, addr := serve(t, servedBy(), func(c *Config) {
		c.IdleTimeout = 100 * time.Millisecond
		c.Fallback.IdleTimeout = 10 * time.Second
	})
	c := dial(t, addr)
	c.send("GET /old HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
	if resp, _ := c.answer("GET"); resp.Header.Get("X-Served-By") != byNetHTTP {
		t.Fatalf("HTTP/1.0 request served by %s", resp.Header.Get("X-Served-By"))
	}
	time.Sleep(400 * time.Millisecond) // several of the loop's idle timeouts
	c.send("GET /again HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
	if _, body := c.answer("GET"); !strings.HasPrefix(body, "GET /again ") {
		t.Errorf("second request on the handed-over connection: %q", body)
	}
}

// Read timeouts bound the body too: a client that announces a body and never sends it is cut off.
func TestReadTimeoutBoundsTheBody(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
		}
	}), func(c *Config) { c.ReadTimeout = 200 * time.Millisecond })
	c := dial(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
	resp, body := c.answer("POST")
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "timeout") {
		t.Errorf("stalled body: %d %q", resp.StatusCode, body)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	s, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	c := dial(t, addr)
	c.send(get("/"))
	c.answer("GET")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !c.closed() {
		t.Error("connection open after Close")
	}
}

// A socket drained right after it was opened (a route table replaced at once) must not be
// left serving because Shutdown came before Serve had its listener.
func TestShutdownBeforeServeClosesTheSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	s := New(Config{Handler: h, Fallback: &http.Server{Handler: h}})
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	servingEnded(t, start(s, ln), "after Shutdown")
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		_ = c.Close()
		t.Error("socket still accepts connections")
	}
}
