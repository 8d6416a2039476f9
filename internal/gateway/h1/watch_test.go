package h1

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// requestInFlight serves a handler that waits for its request's context to end, sends it a
// request and returns the server, the client and that context.
func requestInFlight(t *testing.T) (*Server, *client, context.Context) {
	ended := make(chan context.Context, 1)
	s, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ended <- r.Context()
		<-r.Context().Done()
	}))
	c := dial(t, addr)
	c.send(get("/"))
	return s, c, <-ended
}

// A request waiting on something slow ends when its client leaves.
func TestClientLeavingEndsTheRequestContext(t *testing.T) {
	_, c, ctx := requestInFlight(t)
	_ = c.c.Close()
	if !ctxWithin(t, ctx, watchDelay+3*time.Second) {
		t.Fatal("request context still alive after its client left")
	}
}

// During a graceful shutdown the listener is closed and Serve has returned, but a request in
// flight still ends when its client leaves.
func TestClientLeavingDuringShutdownEndsTheRequestContext(t *testing.T) {
	s, c, ctx := requestInFlight(t)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = s.Shutdown(shutdownCtx) }()
	time.Sleep(100 * time.Millisecond) // the listener is closed by now
	_ = c.c.Close()
	if !ctxWithin(t, ctx, watchDelay+3*time.Second) {
		t.Fatal("request context still alive after its client left during the shutdown")
	}
}

// A pipelined request arriving while the first is served is data, not a departure: the first
// request keeps its context and the second is answered.
func TestPipelinedRequestDuringAWatchIsNotADeparture(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(watchDelay + 500*time.Millisecond):
			case <-r.Context().Done():
				http.Error(w, "context ended", http.StatusInternalServerError)
				return
			}
		}
		_, _ = w.Write([]byte(r.URL.Path))
	}))
	c := dial(t, addr)
	c.send(get("/slow"))
	time.Sleep(watchDelay + 200*time.Millisecond) // the watch is running now
	c.send(get("/next"))
	if resp, body := c.answer("GET"); resp.StatusCode != http.StatusOK || body != "/slow" {
		t.Fatalf("slow request: %d %q", resp.StatusCode, body)
	}
	if _, body := c.answer("GET"); body != "/next" {
		t.Errorf("pipelined request: %q", body)
	}
}

// A request longer than the watch delay leaves the connection usable, with its deadlines intact.
func TestConnectionOutlivesAWatchedRequest(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(watchDelay + 200*time.Millisecond)
		}
		_, _ = w.Write([]byte(r.URL.Path))
	}))
	c := dial(t, addr)
	c.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
	if _, body := c.answer("POST"); body != "/slow" {
		t.Fatalf("slow request: %q", body)
	}
	c.send(get("/after"))
	if _, body := c.answer("GET"); body != "/after" {
		t.Errorf("request after a watched one: %q", body)
	}
}

// A handler's interrupt set through Gone runs when its client leaves, and only then.
func TestGoneInterruptsWhenTheClientLeaves(t *testing.T) {
	interrupted := make(chan struct{})
	cleared := make(chan bool, 2)
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := GoneOf(r.Context())
		if g == nil {
			t.Error("a request of the loop has no Gone")
			return
		}
		once := make(chan struct{})
		f := func() { close(once) }
		g.Set(&f)
		if r.URL.Path == "/wait" {
			select {
			case <-once:
				close(interrupted)
			case <-time.After(watchDelay + 3*time.Second):
			}
		}
		cleared <- g.Clear(&f)
	}))
	c := dial(t, addr)
	c.send(get("/quick"))
	c.answer("GET")
	if !<-cleared {
		t.Error("Clear after a request the client waited for reported an interruption")
	}
	c.send(get("/wait"))
	time.Sleep(100 * time.Millisecond)
	_ = c.c.Close()
	select {
	case <-interrupted:
	case <-time.After(watchDelay + 3*time.Second):
		t.Fatal("the interrupt did not run after the client left")
	}
	if <-cleared {
		t.Error("Clear after the interrupt ran reported none")
	}
	if GoneOf(context.Background()) != nil {
		t.Error("a context not of the loop has a Gone")
	}
}
