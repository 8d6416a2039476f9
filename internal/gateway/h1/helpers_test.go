package h1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// serve runs h on a loopback socket through the loop (with net/http as its fallback) and
// returns the address; cfg may adjust the configuration.
func serve(t testing.TB, h http.Handler, cfg ...func(*Config)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := Config{
		Handler:           h,
		Fallback:          &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second},
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxBody:           64 << 10,
		Log:               logr.Discard(),
	}
	for _, f := range cfg {
		f(&c)
	}
	s := New(c)
	done := start(s, ln)
	t.Cleanup(func() {
		_ = s.Close()
		servingEnded(t, done, "after Close")
	})
	return s, ln.Addr().String()
}

// start runs s.Serve(ln) and returns where its result arrives.
func start(s *Server, ln net.Listener) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	return done
}

// servingEnded checks that Serve returns http.ErrServerClosed within 5 s; when says after what.
func servingEnded(t testing.TB, done <-chan error, when string) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve %s returned %v, want http.ErrServerClosed", when, err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Serve kept serving %s", when)
	}
}

// servedBy answers with the type of ResponseWriter that served the request, which tells the
// loop (*h1.responseWriter) from net/http's server (*http.response).
func servedBy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Served-By", fmt.Sprintf("%T", w))
		fmt.Fprintf(w, "%s %s %s host=%s body=%d", r.Method, r.RequestURI, r.Proto, r.Host, len(body))
	})
}

const byLoop, byNetHTTP = "*h1.responseWriter", "*http.response"

// client is one raw connection with a reader for answers.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatal(err)
	}
}

// reply is what the tests look at of an answer, read whole.
type reply struct {
	StatusCode       int
	Header, Trailer  http.Header
	Close            bool
	ContentLength    int64
	TransferEncoding []string
}

// answer reads one answer to a request of the given method, with its body.
func (c *client) answer(method string) (*reply, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading an answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the body: %v", err)
	}
	return &reply{resp.StatusCode, resp.Header, resp.Trailer, resp.Close, resp.ContentLength, resp.TransferEncoding}, string(body)
}

// partial reads an answer whose body the server is expected to cut short: the body's first
// read, and whether reading on failed (the connection ended before the declared length).
func (c *client) partial() (first string, cut bool) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("reading an answer: %v", err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 200)
	n, _ := resp.Body.Read(buf)
	_, err = resp.Body.Read(buf[n:])
	return string(buf[:n]), err != nil
}

// closed reports whether the server ended the connection (EOF within a second).
func (c *client) closed() bool {
	_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.br.ReadByte()
	return err == io.EOF
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\n\r\n" }

func ctxWithin(t *testing.T, ctx context.Context, d time.Duration) bool {
	t.Helper()
	select {
	case <-ctx.Done():
		return true
	case <-time.After(d):
		return false
	}
}
