package h1

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// frame runs one request through a handler and returns the raw answer head and body as read.
func frame(t *testing.T, h http.HandlerFunc, req string) (*reply, string) {
	t.Helper()
	_, addr := serve(t, h)
	c := dial(t, addr)
	c.send(req)
	return c.answer(strings.Fields(req)[0])
}

func TestAnswersAreFramedAsNetHTTPFramesThem(t *testing.T) {
	long := strings.Repeat("z", pendingLimit+1)
	cases := map[string]struct {
		h       http.HandlerFunc
		req     string
		length  int64
		chunked bool
		body    string
	}{
		"length set by the handler": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			_, _ = w.Write([]byte("hello"))
		}, get("/"), 5, false, "hello"},
		"short body, length counted": {func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("hel"))
			_, _ = w.Write([]byte("lo"))
		}, get("/"), 5, false, "hello"},
		"no body at all": {func(w http.ResponseWriter, r *http.Request) {}, get("/"), 0, false, ""},
		"long body without a length": {func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(long))
		}, get("/"), -1, true, long},
		"flushed": {func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("b"))
		}, get("/"), -1, true, "ab"},
		"HEAD keeps the length, sends no body": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "42")
			_, _ = w.Write([]byte("ignored"))
		}, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 42, false, ""},
		"204 has no body": {func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			_, _ = w.Write([]byte("ignored"))
		}, get("/"), 0, false, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := frame(t, tc.h, tc.req)
			chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
			if resp.ContentLength != tc.length || chunked != tc.chunked || body != tc.body {
				t.Errorf("length %d chunked %v body %q; want %d %v %q", resp.ContentLength, chunked, body, tc.length, tc.chunked, tc.body)
			}
			if resp.Header.Get("Date") == "" {
				t.Error("no Date header")
			}
		})
	}
}

func TestFlushSendsTheAnswerSoFar(t *testing.T) {
	release := make(chan struct{})
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-release
		_, _ = w.Write([]byte("second"))
	}))
	c := dial(t, addr)
	c.send(get("/"))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	defer close(release) // before the body is closed, which reads the rest
	buf := make([]byte, 5)
	if _, err := resp.Body.Read(buf); err != nil || string(buf) != "first" {
		t.Fatalf("before the handler ended the client read %q, %v", buf, err)
	}
}

func TestTrailersAreSentAfterAChunkedBody(t *testing.T) {
	resp, body := frame(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		_, _ = w.Write([]byte("data"))
		w.Header().Set("X-Checksum", "abc")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	}, get("/"))
	if body != "data" || resp.Trailer.Get("X-Checksum") != "abc" || resp.Trailer.Get("X-Late") != "late" {
		t.Errorf("body %q trailers %v", body, resp.Trailer)
	}
}

func TestHeaderFieldsCannotBreakTheHead(t *testing.T) {
	resp, _ := frame(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Bad Name"] = []string{"x"}
		w.Header().Set("X-Injected", "a\r\nSet-Cookie: evil=1")
	}, get("/"))
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Injected") != "a  Set-Cookie: evil=1" {
		t.Errorf("header injection went through: %v", resp.Header)
	}
	if _, ok := resp.Header["Bad Name"]; ok {
		t.Error("invalid field name written")
	}
}

func TestWritesBeyondTheDeclaredLengthFail(t *testing.T) {
	errs := make(chan error, 1)
	resp, body := frame(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		_, err := w.Write([]byte("toolong"))
		errs <- err
		_, _ = w.Write([]byte("abc"))
	}, get("/"))
	if err := <-errs; !errors.Is(err, http.ErrContentLength) || body != "abc" || resp.ContentLength != 3 {
		t.Errorf("write past the length: %v, then body %q", err, body)
	}
}

func TestShortAnswerClosesTheConnection(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = w.Write([]byte("abc"))
	}))
	c := dial(t, addr)
	c.send(get("/"))
	if first, cut := c.partial(); first != "abc" || !cut {
		t.Errorf("short answer: %q, cut %v; want the body, then the connection cut", first, cut)
	}
}

func TestConnectionCloseIsHonoured(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, _ := c.answer("GET")
	if !resp.Close || !c.closed() {
		t.Errorf("Connection: close request: answer close=%v, connection closed=%v", resp.Close, c.closed())
	}
	_, addr = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Connection", "close") }))
	c = dial(t, addr)
	c.send(get("/"))
	if resp, _ := c.answer("GET"); !resp.Close || !c.closed() {
		t.Error("a handler's Connection: close did not end the connection")
	}
}

func TestInformationalAnswersPrecedeTheFinalOne(t *testing.T) {
	_, addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("made"))
	}))
	c := dial(t, addr)
	c.send(get("/"))
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := c.br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 103") {
		t.Fatalf("first line %q, want 103", line)
	}
	for l, _ := c.br.ReadString('\n'); l != "\r\n"; l, _ = c.br.ReadString('\n') {
		if l == "" {
			t.Fatal("103 head not ended")
		}
	}
	if resp, body := c.answer("GET"); resp.StatusCode != http.StatusCreated || body != "made" {
		t.Errorf("final answer %d %q", resp.StatusCode, body)
	}
}
