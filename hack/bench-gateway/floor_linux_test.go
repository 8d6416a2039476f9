package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAppendForwardedDropsConnectionAndAddsForwardedFields(t *testing.T) {
	head := "GET /a HTTP/1.1\r\nHost: x\r\nconnection: keep-alive\r\nAccept: */*\r\n"
	got := string(appendForwarded(nil, []byte(head), "10.0.0.7"))
	want := "GET /a HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.7\r\nX-Forwarded-Proto: http\r\n\r\n"
	if got != want {
		t.Errorf("appendForwarded = %q, want %q", got, want)
	}
}

func TestAnswerLength(t *testing.T) {
	answer := "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
	for _, c := range []struct {
		buf  string
		want int
	}{
		{answer, len(answer)},
		{answer[:10], 0}, // head not all in yet
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", -1},
		{"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", -1},
	} {
		if got := answerLength([]byte(c.buf)); got != c.want {
			t.Errorf("answerLength(%q) = %d, want %d", c.buf, got, c.want)
		}
	}
}

// The floor proxy forwards keep-alive requests and their answers on one client connection.
func TestFloorProxyForwardsRequestsAndAnswers(t *testing.T) {
	seen := make(chan http.Header, 3)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		_, _ = io.WriteString(w, "answer to "+r.URL.Path)
	}))
	defer backend.Close()
	addr := startFloorProxy(t, backend.Listener.Addr().String())
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	for _, path := range []string{"/one", "/two", "/three"} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(body) != "answer to "+path {
			t.Errorf("GET %s answered %q", path, body)
		}
		h := <-seen
		if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Proto") != "http" {
			t.Errorf("GET %s reached the backend with X-Forwarded-For %q, X-Forwarded-Proto %q",
				path, h.Get("X-Forwarded-For"), h.Get("X-Forwarded-Proto"))
		}
	}
}

// An answer the floor proxy cannot frame ends the connection instead of hanging the client.
func TestFloorProxyEndsAnswersWithoutLength(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush() // chunked: no Content-Length
		_, _ = io.WriteString(w, "hello")
	}))
	defer backend.Close()
	addr := startFloorProxy(t, backend.Listener.Addr().String())
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("got %s; want the connection ended", resp.Status)
	}
	if strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("the client waited for its timeout: %v", err)
	}
}

// Backend connections outlive the client connections they served: the next client's request
// goes on the same one, and one the backend closed while idle is not used again.
func TestFloorProxyKeepsBackendConnections(t *testing.T) {
	var opened atomic.Int32
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	backend.Config.IdleTimeout = 300 * time.Millisecond
	backend.Start()
	defer backend.Close()
	addr := startFloorProxy(t, backend.Listener.Addr().String())
	get := func() {
		t.Helper()
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}} // a connection of its own
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		client.CloseIdleConnections()
		if string(body) != "ok" {
			t.Fatalf("answered %q", body)
		}
	}
	get()
	get()
	if n := opened.Load(); n != 1 {
		t.Errorf("two clients one after the other: %d backend connections, want 1", n)
	}
	time.Sleep(600 * time.Millisecond) // the backend closes the idle connection
	get()
	if n := opened.Load(); n != 2 {
		t.Errorf("after the backend closed the idle one: %d backend connections, want 2", n)
	}
}

// A request that arrives while the previous one is at the backend is forwarded once that one is
// answered: edge-triggered, its arrival is reported only while the proxy is still busy.
func TestFloorProxyForwardsARequestSentWhileBusy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	defer backend.Close()
	addr := startFloorProxy(t, backend.Listener.Addr().String())
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	_, _ = io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // /slow is at the backend now
	_, _ = io.WriteString(conn, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/slow", "/next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer to %s: %v", want, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(body) != want {
			t.Errorf("answer %q, want %q", body, want)
		}
	}
}

// startFloorProxy runs the floor proxy to backend on a free loopback port until the test binary
// ends (its loop has no stop), and returns its address once it accepts connections.
func startFloorProxy(t *testing.T, backend string) string {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", freePort())
	failed := make(chan error, 1)
	go func() { failed <- runFloor(addr, backend) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-failed:
			t.Fatalf("the floor proxy stopped: %v", err)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return addr
		}
	}
	t.Fatal("the floor proxy never accepted a connection")
	return ""
}
