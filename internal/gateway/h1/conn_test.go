package h1

import (
	"net/http"
	"strings"
	"testing"
)

func TestPlainRequestsAreServedByTheLoopOverKeepAlive(t *testing.T) {
	_, addr := serve(t, servedBy())
	c := dial(t, addr)
	for i := range 3 {
		c.send(get("/a?x=1"))
		resp, body := c.answer("GET")
		if got := resp.Header.Get("X-Served-By"); got != byLoop {
			t.Fatalf("request %d served by %s, want the loop", i, got)
		}
		if body != "GET /a?x=1 HTTP/1.1 host=example.com body=0" {
			t.Errorf("request %d: handler saw %q", i, body)
		}
	}
	c.send("POST /p HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello")
	if resp, body := c.answer("POST"); resp.Header.Get("X-Served-By") != byLoop || !strings.HasSuffix(body, "body=5") {
		t.Errorf("POST with a small body: %s %q", resp.Header.Get("X-Served-By"), body)
	}
}

func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	_, addr := serve(t, servedBy())
	c := dial(t, addr)
	c.send(get("/1") + "POST /2 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc" + get("/3"))
	for _, want := range []string{"GET /1 ", "POST /2 ", "GET /3 "} {
		method := strings.Fields(want)[0]
		if _, body := c.answer(method); !strings.HasPrefix(body, want) {
			t.Errorf("answer %q, want one starting %q", body, want)
		}
	}
}

func TestUnreadBodyIsSkippedBeforeTheNextRequest(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.URL.Path)) })
	_, addr := serve(t, h)
	c := dial(t, addr)
	c.send("POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" + get("/second"))
	c.answer("POST")
	if _, body := c.answer("GET"); body != "/second" {
		t.Errorf("second request read as %q", body)
	}
}

// Whatever the loop does not serve goes to net/http, which answers as it always would.
func TestRequestsTheLoopDoesNotServeAreHandedOver(t *testing.T) {
	_, addr := serve(t, servedBy())
	big := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n"
	cases := map[string]struct{ req, status, by string }{
		"HTTP/1.0":          {"GET / HTTP/1.0\r\nHost: x\r\n\r\n", "200", byNetHTTP},
		"chunked body":      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "200", byNetHTTP},
		"body over MaxBody": {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("b", 70000), "200", byNetHTTP},
		"expect continue":   {"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab", "100", ""},
		"upgrade":           {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "200", byNetHTTP},
		"absolute form":     {"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", "200", byNetHTTP},
		"head over 4 KiB":   {big, "200", byNetHTTP},
		"bare LF lines":     {"GET / HTTP/1.1\nHost: x\n\n", "200", byNetHTTP},
		"two hosts":         {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400", ""},
		"bad host":          {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400", ""},
		"no host":           {"GET / HTTP/1.1\r\n\r\n", "400", ""},
		"bad header name":   {"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", "400", ""},
		"bad header value":  {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", "400", ""},
		"garbage":           {"\x16\x03\x01 not http\r\n\r\n", "400", ""},
		"bad version":       {"GET / HTTP/9.9\r\nHost: x\r\n\r\n", "505", ""},
		"bad length":        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400", ""},
		"two lengths":       {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400", ""},
		"unknown encoding":  {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "501", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tc.req)
			line, err := c.br.ReadString('\n')
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if !strings.HasPrefix(line, "HTTP/1.1 "+tc.status) && !strings.HasPrefix(line, "HTTP/1.0 "+tc.status) {
				t.Fatalf("status line %q, want %s", strings.TrimSpace(line), tc.status)
			}
			if tc.by == "" {
				return
			}
			rest, _ := c.br.ReadString('\n')
			for rest != "\r\n" && rest != "" {
				if strings.HasPrefix(rest, "X-Served-By:") && !strings.Contains(rest, tc.by) {
					t.Errorf("served by %q, want %s", strings.TrimSpace(rest), tc.by)
				}
				rest, _ = c.br.ReadString('\n')
			}
		})
	}
}

// A connection handed over mid-way keeps its order: the loop answered the first request, net/http
// the ones after.
func TestHandOverMidConnectionKeepsTheRequestsInOrder(t *testing.T) {
	_, addr := serve(t, servedBy())
	c := dial(t, addr)
	c.send(get("/loop"))
	if resp, _ := c.answer("GET"); resp.Header.Get("X-Served-By") != byLoop {
		t.Fatalf("first request served by %s", resp.Header.Get("X-Served-By"))
	}
	c.send("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n" + get("/after"))
	resp, body := c.answer("POST")
	if resp.Header.Get("X-Served-By") != byNetHTTP || !strings.HasSuffix(body, "body=2") {
		t.Errorf("chunked request: %s %q", resp.Header.Get("X-Served-By"), body)
	}
	if _, body := c.answer("GET"); !strings.HasPrefix(body, "GET /after ") {
		t.Errorf("request after the hand-over read as %q", body)
	}
}

func TestPanickingHandlerEndsOnlyItsConnection(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		_, _ = w.Write([]byte("ok"))
	})
	_, addr := serve(t, h)
	c := dial(t, addr)
	c.send(get("/panic"))
	if !c.closed() {
		t.Error("connection of a panicking handler not closed")
	}
	c = dial(t, addr)
	c.send(get("/abort"))
	if first, cut := c.partial(); first != "partial" || !cut {
		t.Errorf("aborted answer: %q, cut %v; want the first part, then the connection cut", first, cut)
	}
	c = dial(t, addr)
	c.send(get("/"))
	if _, body := c.answer("GET"); body != "ok" {
		t.Errorf("after panics the server answered %q", body)
	}
}
