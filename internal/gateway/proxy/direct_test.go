package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// handlerBackend serves one handler on a loopback socket and returns its address.
func handlerBackend(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestForwardedHeadersAndHopByHopHeaders(t *testing.T) {
	onBothServers(t, testForwardedHeadersAndHopByHopHeaders)
}

func testForwardedHeadersAndHopByHopHeaders(t *testing.T, serve serving) {
	got := make(chan http.Header, 1)
	addr := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Connection", "X-Backend-Private")
		w.Header().Set("X-Backend-Private", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Answer", "yes")
	})
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	req, _ := http.NewRequest(http.MethodGet, url+"/x", nil)
	req.Host = "shop.example"
	req.Header.Set("Connection", "X-Client-Private")
	req.Header.Set("X-Client-Private", "secret")
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	req.Header.Set("Te", "trailers")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Kept", "kept")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	in := <-got
	for _, name := range []string{"X-Client-Private", "Proxy-Authorization"} {
		if v := in.Get(name); v != "" {
			t.Errorf("backend received hop-by-hop header %s: %q", name, v)
		}
	}
	want := map[string]string{
		"X-Kept":            "kept",
		"Te":                "trailers",
		"X-Forwarded-For":   "203.0.113.7, 127.0.0.1",
		"X-Forwarded-Host":  "shop.example",
		"X-Forwarded-Proto": "http",
	}
	for name, v := range want {
		if in.Get(name) != v {
			t.Errorf("backend received %s %q, want %q", name, in.Get(name), v)
		}
	}
	if resp.Header.Get("X-Backend-Private") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("client received the backend's hop-by-hop headers: %v", resp.Header)
	}
	if resp.Header.Get("X-Answer") != "yes" {
		t.Errorf("client lost an end-to-end header: %v", resp.Header)
	}
}

func TestRequestBodiesOfEverySize(t *testing.T) { onBothServers(t, testRequestBodiesOfEverySize) }

func testRequestBodiesOfEverySize(t *testing.T, serve serving) {
	addr := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Received", strings.Join([]string{r.Method, strconv.FormatInt(n, 10), strings.Join(r.TransferEncoding, ",")}, " "))
	})
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	cases := []struct {
		name    string
		size    int
		chunked bool
		want    string
	}{
		{"small, direct path", 1000, false, "POST 1000"},
		{"at the direct limit", MaxDirectBody, false, "POST 65536"},
		{"large, through ReverseProxy", 3 << 20, false, "POST 3145728"},
		{"chunked, through ReverseProxy", 5000, true, "POST 5000 chunked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(make([]byte, c.size))
			if c.chunked {
				body = io.MultiReader(body) // hides the length: the client sends it chunked
			}
			resp, err := http.Post(url+"/upload", "application/octet-stream", body)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Received") != c.want {
				t.Errorf("status %d, backend saw %q, want %q", resp.StatusCode, resp.Header.Get("X-Received"), c.want)
			}
		})
	}
}

// rawBackend is an endpoint written byte by byte: it listens on loopback and hands each
// connection to serve in a goroutine of its own, closing it when serve returns.
func rawBackend(t *testing.T, serve func(conn net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// oneShotBackend answers each connection's first request and then closes it, without saying
// "Connection: close": the gateway keeps the connection and finds it closed on the next request.
func oneShotBackend(t *testing.T) (string, *atomic.Int32) {
	served := new(atomic.Int32)
	addr := rawBackend(t, func(conn net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(conn))
		if err == nil {
			_, _ = io.Copy(io.Discard, req.Body)
			served.Add(1)
			_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	return addr, served
}

func TestClosedIdleConnectionIsRetriedOnlyWhenSafe(t *testing.T) {
	onBothServers(t, testClosedIdleConnectionIsRetriedOnlyWhenSafe)
}

func testClosedIdleConnectionIsRetriedOnlyWhenSafe(t *testing.T, serve serving) {
	addr, served := oneShotBackend(t)
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	for i := range 5 {
		resp, body := get(t, url+"/")
		if resp.StatusCode != http.StatusOK || body != "ok" {
			t.Fatalf("GET %d on a connection the backend had closed: %d %q, want a retry that succeeds", i, resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond) // lets the backend's close arrive before the next request
	}
	if n := served.Load(); n != 5 {
		t.Errorf("backend served %d requests, want 5", n)
	}
	// A POST is not replayed: the backend might have acted on it before closing.
	resp, err := http.Post(url+"/", "text/plain", strings.NewReader("pay"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("POST on a closed connection: %d, want 502 (not replayed)", resp.StatusCode)
	}
}

func TestIdleConnectionClosedByTheEndpointIsNotUsed(t *testing.T) {
	onBothServers(t, testIdleConnectionClosedByTheEndpointIsNotUsed)
}

func testIdleConnectionClosedByTheEndpointIsNotUsed(t *testing.T, serve serving) {
	addr, served := oneShotBackend(t)
	// Every reuse checked; by default only that of connections idle for a second.
	_, url := gatewayWith(t, serve, func(h *Handler) { h.up.checkAfter = 0 }, prefix("/", rule("r", backend("a", 1, addr))))
	if resp, body := get(t, url+"/"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("first GET: %d %q", resp.StatusCode, body)
	}
	time.Sleep(20 * time.Millisecond) // lets the backend's close arrive
	// Not replayable, so it would get 502 if it were sent on the closed connection.
	resp, err := http.Post(url+"/", "text/plain", strings.NewReader("pay"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || served.Load() != 2 {
		t.Errorf("POST after the endpoint closed the idle connection: %d, backend served %d; want 200 on a new connection",
			resp.StatusCode, served.Load())
	}
}

func TestRetryAfterAClosedConnectionUsesANewOne(t *testing.T) {
	onBothServers(t, testRetryAfterAClosedConnectionUsesANewOne)
}

// The endpoint closes every connection after one answer, and the pool holds two of them: the
// retry must not take the second from the pool.
func testRetryAfterAClosedConnectionUsesANewOne(t *testing.T, serve serving) {
	var served atomic.Int32
	bothIn := make(chan struct{})
	var arrived atomic.Int32
	addr := rawBackend(t, func(conn net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
			return
		}
		if arrived.Add(1) == 2 {
			close(bothIn)
		}
		select { // the first two answer together, so that both connections are in use
		case <-bothIn:
		case <-time.After(5 * time.Second):
		}
		served.Add(1)
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	// The retry is what is tested here, not the check before reuse.
	_, url := gatewayWith(t, serve, func(h *Handler) { h.up.checkAfter = time.Hour }, prefix("/", rule("r", backend("a", 1, addr))))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := http.Get(url + "/")
			if err != nil {
				t.Error(err)
				return
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	time.Sleep(20 * time.Millisecond) // lets the backend's closes arrive
	if resp, body := get(t, url+"/"); resp.StatusCode != http.StatusOK || body != "ok" {
		t.Errorf("GET with two closed connections in the pool: %d %q, want a retry on a new connection", resp.StatusCode, body)
	}
	if n := served.Load(); n != 3 {
		t.Errorf("backend served %d requests, want 3", n)
	}
}

func TestClientLeavingEndsTheBackendRequest(t *testing.T) {
	onBothServers(t, testClientLeavingEndsTheBackendRequest)
}

func testClientLeavingEndsTheBackendRequest(t *testing.T, serve serving) {
	canceled := make(chan struct{})
	addr := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the gateway closed its connection
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	})
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/slow", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client request: %v, want its own deadline", err)
	}
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend request went on after the client left")
	}
}

func TestStreamingResponsesAreFlushedAsTheyCome(t *testing.T) {
	onBothServers(t, testStreamingResponsesAreFlushedAsTheyCome)
}

func testStreamingResponsesAreFlushedAsTheyCome(t *testing.T, serve serving) {
	release := make(chan struct{})
	addr := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "second\n")
		w.Header().Set("X-Checksum", "abc")
	})
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	resp, err := http.Get(url + "/events")
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	close(release) // the first line arrived before the backend finished
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" || resp.Trailer.Get("X-Checksum") != "abc" {
		t.Errorf("rest %q, trailer %q; want the second line and the trailer", rest, resp.Trailer.Get("X-Checksum"))
	}
}

func TestAnswerCutShortByTheBackendIsCutShortForTheClient(t *testing.T) {
	onBothServers(t, testAnswerCutShortByTheBackendIsCutShortForTheClient)
}

func testAnswerCutShortByTheBackendIsCutShortForTheClient(t *testing.T, serve serving) {
	addr := rawBackend(t, func(conn net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(conn))
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
	})
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	resp, err := http.Get(url + "/")
	if err != nil {
		return // cut before the head was even flushed: an error, as it must be
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err == nil {
		t.Errorf("client read a complete answer %q of a body the backend cut short", body)
	}
}

func TestStoreClosesIdleConnectionsToRemovedEndpoints(t *testing.T) {
	a, b := newEcho(t, "a"), newEcho(t, "b")
	h, url := gateway(t, prefix("/", rule("r", backend("a", 1, a.addr()))))
	if resp, _ := get(t, url+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := h.up.idleCount(a.addr()); n != 1 {
		t.Fatalf("%d idle connections to a after one request, want 1", n)
	}
	h.Store(table(prefix("/", rule("r", backend("b", 1, b.addr())))))
	if n := h.up.idleCount(a.addr()); n != 0 {
		t.Errorf("%d idle connections to a removed endpoint kept, want 0", n)
	}
}

func TestConnectionBackFromARemovedEndpointIsClosed(t *testing.T) {
	a, b := newEcho(t, "a"), newEcho(t, "b")
	h, url := gateway(t, prefix("/", rule("r", backend("a", 1, a.addr()))))
	done := make(chan struct{})
	go func() {
		defer close(done)
		get(t, url+"/", "X-Sleep", "300ms") // in flight while the table changes
	}()
	time.Sleep(100 * time.Millisecond)
	h.Store(table(prefix("/", rule("r", backend("b", 1, b.addr())))))
	<-done
	if n := h.up.idleCount(a.addr()); n != 0 {
		t.Errorf("%d connections to a removed endpoint kept after their request finished, want 0", n)
	}
}

// idleCount is the number of idle connections kept to addr.
func (u *upstream) idleCount(addr string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.idle[addr])
}

func TestHeadAndBodylessAnswersKeepTheConnectionInStep(t *testing.T) {
	onBothServers(t, testHeadAndBodylessAnswersKeepTheConnectionInStep)
}

// A HEAD answer carries the length of the GET's body but no body, and 204/304 carry none: if
// either were framed wrong, the next answer on the same keep-alive connection would be misread.
func testHeadAndBodylessAnswersKeepTheConnectionInStep(t *testing.T, serve serving) {
	addr := handlerBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/same":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", "11")
			_, _ = io.WriteString(w, "hello world")
		}
	})
	_, url := gatewayOn(t, serve, prefix("/", rule("r", backend("a", 1, addr))))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for _, step := range []struct {
		method, path string
		status       int
		length       int64
		body         string
	}{
		{http.MethodHead, "/", 200, 11, ""},
		{http.MethodGet, "/empty", 204, -1, ""},
		{http.MethodGet, "/same", 304, -1, ""},
		{http.MethodGet, "/", 200, 11, "hello world"},
	} {
		_, _ = io.WriteString(conn, step.method+" "+step.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, &http.Request{Method: step.method})
		if err != nil {
			t.Fatalf("%s %s: %v", step.method, step.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != step.status || resp.ContentLength != step.length && step.length >= 0 || string(body) != step.body {
			t.Errorf("%s %s: %d, length %d, body %q; want %d, %d, %q", step.method, step.path,
				resp.StatusCode, resp.ContentLength, body, step.status, step.length, step.body)
		}
	}
}
