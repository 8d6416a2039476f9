package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// parseRequest parses head in a space of its own.
func parseRequest(head []byte, maxBody int64) (*http.Request, bool) {
	return newRequestSpace(context.Background()).parse(head, maxBody)
}

type ctxKey struct{}

func TestParseRequest(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "conn")
	r, ok := newRequestSpace(ctx).parse([]byte("POST /a/b?x=1&y=2 HTTP/1.1\r\nHost: Shop.Example:8080\r\nuser-agent: t\r\nX-Multi: 1\r\nX-Multi:  2 \r\nContent-Length: 3\r\nPragma: no-cache\r\nConnection: keep-alive, close\r\n"), 100)
	if !ok {
		t.Fatal("a plain request was refused")
	}
	want := http.Header{"User-Agent": {"t"}, "X-Multi": {"1", "2"}, "Content-Length": {"3"}, "Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}, "Connection": {"keep-alive, close"}}
	if r.Method != http.MethodPost || r.URL.Path != "/a/b" || r.URL.RawQuery != "x=1&y=2" || r.RequestURI != "/a/b?x=1&y=2" ||
		r.Host != "Shop.Example:8080" || r.ContentLength != 3 || !r.Close || r.Context() != ctx ||
		!reflect.DeepEqual(r.Header, want) {
		t.Errorf("parsed %s %v %q host %q length %d close %v header %v", r.Method, r.URL, r.RequestURI, r.Host, r.ContentLength, r.Close, r.Header)
	}
	refused := map[string]string{
		"HTTP/1.0":           "GET / HTTP/1.0\r\nHost: x\r\n",
		"absolute form":      "GET http://x/ HTTP/1.1\r\nHost: x\r\n",
		"asterisk":           "OPTIONS * HTTP/1.1\r\nHost: x\r\n",
		"CONNECT":            "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n",
		"no host":            "GET / HTTP/1.1\r\nX: y\r\n",
		"two hosts":          "GET / HTTP/1.1\r\nHost: x\r\nhost: x\r\n",
		"bad host":           "GET / HTTP/1.1\r\nHost: a/b\r\n",
		"folded":             "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n",
		"space before colon": "GET / HTTP/1.1\r\nHost: x\r\nX : a\r\n",
		"control in value":   "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n",
		"bad method":         "G(T / HTTP/1.1\r\nHost: x\r\n",
		"body too large":     "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n",
		"two lengths":        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n",
		"signed length":      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n",
		"chunked":            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
		"upgrade":            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n",
		"expect":             "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n",
		"extra space":        "GET /  HTTP/1.1\r\nHost: x\r\n",
	}
	for name, head := range refused {
		if _, ok := parseRequest([]byte(head), 100); ok {
			t.Errorf("%s: taken by the loop, want it handed over", name)
		}
	}
}

func TestRequestsOfAConnectionShareNothingButStorage(t *testing.T) {
	s := newRequestSpace(context.Background())
	first, ok := s.parse([]byte("POST /first?a=1 HTTP/1.1\r\nHost: one\r\nX-A: 1\r\nX-A: 2\r\nX-B: b\r\nContent-Length: 4\r\nConnection: close\r\n"), 100)
	if !ok {
		t.Fatal("first request refused")
	}
	kept := first.Header["X-A"] // a handler may keep values (strings) past its request
	first.Header.Add("X-Added", "by the handler")
	second, ok := s.parse([]byte("GET /second HTTP/1.1\r\nHost: two\r\nX-C: c\r\n"), 100)
	if !ok {
		t.Fatal("second request refused")
	}
	if want := (http.Header{"X-C": {"c"}}); !reflect.DeepEqual(second.Header, want) {
		t.Errorf("second request's header %v, want %v: fields of the first one leaked", second.Header, want)
	}
	if second.Method != http.MethodGet || second.URL.Path != "/second" || second.URL.RawQuery != "" ||
		second.Host != "two" || second.ContentLength != 0 || second.Close || second.Body != http.NoBody {
		t.Errorf("second request %s %v host %q length %d close %v body %v", second.Method, second.URL, second.Host,
			second.ContentLength, second.Close, second.Body)
	}
	if !reflect.DeepEqual(kept, []string{"1", "2"}) {
		t.Errorf("values kept from the first request became %q", kept)
	}
}

func TestParsingARequestAllocatesOnlyItsHead(t *testing.T) {
	s := newRequestSpace(context.Background())
	head := []byte("GET /items/a-b_c.d~e?page=2&q=%20x HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8\r\nAccept: */*\r\nCookie: user=42\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := s.parse(head, 100); !ok {
			t.Fatal("refused")
		}
	})
	if allocs > 1 {
		t.Errorf("a request allocated %.1f times; want at most 1 (the head's string)", allocs)
	}
}

// parseTarget reads every target as url.ParseRequestURI does, on its own path or through it.
func TestParseTargetAgreesWithParseRequestURI(t *testing.T) {
	targets := []string{"/", "/a/b", "/a?", "/a??", "/a?b?c", "/?q", "//x/y", "///x", "/a%20b", "/a%zz",
		"/a b", "*", "", "a/b", "http://h/p", "/p#f", "/p?q#f", "/é", "/p?é", "/p?\x7f", "/p\x00"}
	for c := range 256 { // every byte in a path and in a query
		targets = append(targets, "/a"+string(rune(c))+"b", "/a?q"+string(rune(c))+"r")
		targets = append(targets, "/a"+string([]byte{byte(c)})+"b", "/a?q"+string([]byte{byte(c)}))
	}
	var space url.URL
	for _, target := range targets {
		got, ok := parseTarget(target, &space)
		want, err := url.ParseRequestURI(target)
		if ok != (err == nil) {
			t.Errorf("%q: taken %v, url.ParseRequestURI error %v", target, ok, err)
			continue
		}
		if ok && *got != *want {
			t.Errorf("%q: read as %#v, url.ParseRequestURI reads %#v", target, *got, *want)
		}
	}
}

func TestBodyReadsExactlyItsLength(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("hello, next request"))
	b := &body{br: br, left: 5}
	got, err := io.ReadAll(b)
	rest, _ := io.ReadAll(br)
	if string(got) != "hello" || err != nil || string(rest) != ", next request" {
		t.Errorf("body %q (%v), left on the connection %q", got, err, rest)
	}
	short := &body{br: bufio.NewReader(strings.NewReader("abc")), left: 5}
	if _, err := io.ReadAll(short); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body cut short: %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzParseRequestAgreesWithNetHTTP: every head the loop takes, http.ReadRequest takes too and
// reads the same way, and net/http's server would not refuse it; one space serves every input,
// so that what one request leaves behind would show in the next.
func FuzzParseRequestAgreesWithNetHTTP(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n",
		"POST /p?q=%20 HTTP/1.1\r\nhost: a.b:80\r\ncontent-length: 12\r\nX-A: 1\r\nx-a: 2\r\n",
		"DELETE /%zz HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: Close\r\n",
		"GET /a HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nCookie: a=b; c=d\r\n",
	} {
		f.Add(seed)
	}
	space := newRequestSpace(context.Background()) // shared, as by the requests of one connection
	f.Fuzz(func(t *testing.T, head string) {
		if !strings.HasSuffix(head, "\r\n") || strings.Contains(head, "\r\n\r\n") {
			return // not a head as the loop cuts it
		}
		r, ok := space.parse([]byte(head), 1<<20)
		if !ok {
			return
		}
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head + "\r\n")))
		if err != nil {
			t.Fatalf("loop took %q, http.ReadRequest refused it: %v", head, err)
		}
		for name, values := range want.Header {
			if !ValidToken(name) {
				t.Fatalf("loop took field name %q, which net/http's server refuses", name)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\x00\r\n\x7f") {
					t.Fatalf("loop took field value %q, which net/http's server refuses", v)
				}
			}
		}
		if r.Method != want.Method || r.RequestURI != want.RequestURI || *r.URL != *want.URL ||
			r.Host != want.Host || r.ContentLength != want.ContentLength || r.Close != want.Close ||
			r.Proto != want.Proto || !reflect.DeepEqual(r.Header, want.Header) {
			t.Errorf("head %q\nloop:     %s %s %q host %q length %d close %v %v\nnet/http: %s %s %q host %q length %d close %v %v", head,
				r.Method, r.URL, r.RequestURI, r.Host, r.ContentLength, r.Close, r.Header,
				want.Method, want.URL, want.RequestURI, want.Host, want.ContentLength, want.Close, want.Header)
		}
	})
}
