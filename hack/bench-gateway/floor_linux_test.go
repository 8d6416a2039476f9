package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
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
