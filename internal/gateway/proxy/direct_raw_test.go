package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

func TestRawAnswerParse(t *testing.T) {
	cases := map[string]struct {
		head, method string
		ok           bool
		fields       string
		length, body int64
		close        bool
	}{
		"plain": {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n", "GET", true,
			"Content-Type: text/plain\r\n", 5, 5, false},
		"no reason phrase": {"HTTP/1.1 204\r\n", "GET", true, "", -1, 0, false},
		"hop-by-hop and listed fields dropped": {"HTTP/1.1 200 OK\r\nConnection: X-Private, close\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\nx-kept:  v \r\nContent-Length: 0\r\n", "GET", true,
			"x-kept: v\r\n", 0, 0, true},
		"HEAD keeps the length, has no body": {"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n", "HEAD", true, "", 42, 0, false},
		"304 without length":                 {"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n", "GET", true, "ETag: \"x\"\r\n", -1, 0, false},
		"chunked":                            {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n", "GET", false, "", 0, 0, false},
		"until close":                        {"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "GET", false, "", 0, 0, false},
		"trailers":                           {"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
		"event stream":                       {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
		"HTTP/1.0":                           {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
		"informational":                      {"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n", "GET", false, "", 0, 0, false},
		"two lengths":                        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
		"bad length":                         {"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n", "GET", false, "", 0, 0, false},
		"folded field":                       {"HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
		"control character":                  {"HTTP/1.1 200 OK\r\nX-A: 1\x002\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
		"bad status":                         {"HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n", "GET", false, "", 0, 0, false},
	}
	for name, tc := range cases {
		var a rawAnswer
		ok := a.parse([]byte(tc.head), tc.method)
		if ok != tc.ok {
			t.Errorf("%s: parsed %v, want %v", name, ok, tc.ok)
			continue
		}
		if ok && (string(a.fields) != tc.fields || a.length != tc.length || a.body != tc.body || a.close != tc.close) {
			t.Errorf("%s: fields %q length %d body %d close %v; want %q %d %d %v", name, a.fields, a.length, a.body, a.close, tc.fields, tc.length, tc.body, tc.close)
		}
	}
}

// FuzzRawAnswerAgreesWithNetHTTP: every head the raw path takes, net/http's parser takes too,
// with the same status, length and end-to-end fields.
func FuzzRawAnswerAgreesWithNetHTTP(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n",
		"HTTP/1.1 204\r\nConnection: X-A\r\nX-A: 1\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:  007 \r\nx-lower: v\r\n",
	} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, head string, isHead bool) {
		method := http.MethodGet
		if isHead {
			method = http.MethodHead
		}
		var a rawAnswer
		if strings.Contains(head, "\r\n\r\n") || !strings.HasSuffix(head, "\r\n") || !a.parse([]byte(head), method) {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head+"\r\n")), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("raw path took %q, net/http refused it: %v", head, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != a.status {
			t.Errorf("status %d, net/http %d", a.status, resp.StatusCode)
		}
		if cl := resp.Header.Get("Content-Length"); a.length >= 0 && cl == "" || a.length < 0 && cl != "" {
			t.Errorf("length %d, net/http's header %q", a.length, cl)
		}
		got, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(a.fields, "\r\n"...)))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("raw fields %q do not parse: %v", a.fields, err)
		}
		dropped := connectionListed(resp.Header)
		for name, values := range resp.Header {
			if hopByHop(name) || dropped[name] || name == "Content-Length" {
				continue
			}
			if strings.Join(got[name], ",") != strings.Join(values, ",") {
				t.Errorf("field %s: raw %q, net/http %q", name, got[name], values)
			}
		}
		for name := range got {
			if _, ok := resp.Header[name]; !ok {
				t.Errorf("raw path forwards %s, which net/http did not read", name)
			}
		}
	})
}

// The raw path exists to save allocations: parsing a plain answer head makes none.
func TestRawAnswerParseDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates for its own bookkeeping; make test runs this without it")
	}
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nX-Backend: b\r\nConnection: keep-alive\r\nContent-Length: 256\r\n")
	var a rawAnswer
	a.parse(head, http.MethodGet) // sizes a.fields once
	if n := testing.AllocsPerRun(100, func() { a.parse(head, http.MethodGet) }); n != 0 {
		t.Errorf("parse allocates %v times per answer", n)
	}
}
