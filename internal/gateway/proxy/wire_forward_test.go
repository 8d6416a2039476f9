package proxy

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// clientHopByHop are the hop-by-hop fields every wire case's client sends: none may reach the
// endpoint but TE: trailers, which the gateway passes on as net/http's ReverseProxy does.
const clientHopByHop = "Connection: keep-alive, X-Private\r\nX-Private: p\r\nKeep-Alive: timeout=5\r\n" +
	"Proxy-Connection: keep-alive\r\nTe: trailers\r\nTrailer: X-Sum\r\n"

// forwardedFields are the end-to-end fields the endpoint receives besides the framing.
var forwardedFields = []string{
	"Host", "shop.example", "Te", "trailers", "X-Kept", "kept",
	"X-Forwarded-For", "127.0.0.1", "X-Forwarded-Host", "shop.example", "X-Forwarded-Proto", "http",
}

// mirroredFields are the end-to-end fields a mirror receives besides the framing: those of
// the request without TE, since a mirror's answer is not read.
var mirroredFields = []string{
	"Host", "shop.example", "X-Kept", "kept",
	"X-Forwarded-For", "127.0.0.1", "X-Forwarded-Host", "shop.example", "X-Forwarded-Proto", "http",
}

// clientRequest is a request as a client writes it: line, Host, the hop-by-hop fields, X-Kept,
// the fields given ("Name: value" each) and the body as it is.
func clientRequest(line, body string, fields ...string) string {
	head := line + "\r\nHost: shop.example\r\n" + clientHopByHop + "X-Kept: kept\r\n"
	for _, f := range fields {
		head += f + "\r\n"
	}
	return head + "\r\n" + body
}

// withLength is clientRequest with the body framed by its length.
func withLength(line, body string) string {
	return clientRequest(line, body, "Content-Length: "+strconv.Itoa(len(body)))
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

// hostileFilter tries to change what the gateway owns: the Host, the framing of the body and
// the connection.
var hostileFilter = &route.HeaderModifier{
	Set: []route.Header{{Name: "Host", Value: "filter.example"}, {Name: "Content-Length", Value: "99"}, {Name: "Connection", Value: "X-Kept"}},
	Add: []route.Header{{Name: "Content-Length", Value: "7"}, {Name: "Transfer-Encoding", Value: "chunked"}, {Name: "Keep-Alive", Value: "timeout=1"}},
}

type wireCase struct {
	name       string
	requests   []string // sent one after the other on one client connection
	reqFilter  *route.HeaderModifier
	respFilter *route.HeaderModifier
	answer     string // the endpoint's answer; okAnswer when empty

	wantLine    string   // the request line the endpoint receives
	wantFraming []string // its framing fields, "Name", "value" each; none when empty
	wantBody    string
	wantLength  string // the Content-Length the client receives; any framing when empty

	mirrored          bool     // the rule mirrors every request to a second endpoint
	wantMirrorFraming []string // the framing fields the mirror receives
}

// chunkedWithTrailer is the framing of a chunked request whose client declared a trailer:
// net/http's Transport declares the trailers of the body it sends.
var chunkedWithTrailer = []string{"Transfer-Encoding", "chunked", "Trailer", "X-Sum"}

var big = strings.Repeat("b", MaxDirectBody+1)
var medium = strings.Repeat("m", 20<<10)

var wireCases = []wireCase{
	{name: "GET without a body", requests: []string{clientRequest("GET /get?q=1 HTTP/1.1", "")},
		wantLine: "GET /get?q=1 HTTP/1.1", wantLength: "2"},
	{name: "three small POSTs on one connection", requests: []string{
		withLength("POST /small HTTP/1.1", "abc"), withLength("POST /small HTTP/1.1", "abc"), withLength("POST /small HTTP/1.1", "abc")},
		wantLine: "POST /small HTTP/1.1", wantFraming: []string{"Content-Length", "3"}, wantBody: "abc", wantLength: "2"},
	{name: "POST with an empty body", requests: []string{withLength("POST /empty HTTP/1.1", "")},
		wantLine: "POST /empty HTTP/1.1", wantFraming: []string{"Content-Length", "0"}, wantLength: "2"},
	{name: "POST of 20 KiB, direct path", requests: []string{withLength("POST /medium HTTP/1.1", medium)},
		wantLine: "POST /medium HTTP/1.1", wantFraming: []string{"Content-Length", strconv.Itoa(len(medium))}, wantBody: medium, wantLength: "2"},
	{name: "POST over the direct limit, through ReverseProxy", requests: []string{withLength("POST /big HTTP/1.1", big)},
		wantLine: "POST /big HTTP/1.1", wantFraming: []string{"Content-Length", strconv.Itoa(len(big))}, wantBody: big, wantLength: "2"},
	{name: "chunked POST", requests: []string{clientRequest("POST /chunked HTTP/1.1", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "Transfer-Encoding: chunked")},
		wantLine: "POST /chunked HTTP/1.1", wantFraming: chunkedWithTrailer, wantBody: "abcde", wantLength: "2"},
	{name: "HTTP/1.0 POST, handed to net/http", requests: []string{withLength("POST /old HTTP/1.0", "abc")},
		wantLine: "POST /old HTTP/1.1", wantFraming: []string{"Content-Length", "3"}, wantBody: "abc", wantLength: "2"},
	{name: "filter sets Host, Content-Length and Transfer-Encoding on a GET", reqFilter: hostileFilter,
		requests: []string{clientRequest("GET /f HTTP/1.1", ""), clientRequest("GET /f HTTP/1.1", "")},
		wantLine: "GET /f HTTP/1.1", wantLength: "2"},
	{name: "filter sets Host, Content-Length and Transfer-Encoding on a small POST", reqFilter: hostileFilter,
		requests: []string{withLength("POST /f HTTP/1.1", "abc"), withLength("POST /f HTTP/1.1", "abc")},
		wantLine: "POST /f HTTP/1.1", wantFraming: []string{"Content-Length", "3"}, wantBody: "abc", wantLength: "2"},
	{name: "filter sets Host, Content-Length and Transfer-Encoding on a chunked POST", reqFilter: hostileFilter,
		requests: []string{clientRequest("POST /f HTTP/1.1", "3\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked")},
		wantLine: "POST /f HTTP/1.1", wantFraming: chunkedWithTrailer, wantBody: "abc", wantLength: "2"},
	{name: "response filter sets framing, direct path", respFilter: hostileFilter,
		requests: []string{clientRequest("GET /r HTTP/1.1", ""), clientRequest("GET /r HTTP/1.1", "")},
		wantLine: "GET /r HTTP/1.1", wantLength: "2"},
	{name: "response filter sets framing, through ReverseProxy", respFilter: hostileFilter,
		requests: []string{clientRequest("POST /r HTTP/1.1", "3\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked")},
		wantLine: "POST /r HTTP/1.1", wantFraming: chunkedWithTrailer, wantBody: "abc", wantLength: "2"},
	{name: "mirrored GET", mirrored: true, requests: []string{clientRequest("GET /m HTTP/1.1", "")},
		wantLine: "GET /m HTTP/1.1", wantLength: "2"},
	{name: "mirrored small POST, filter sets Host and framing", mirrored: true, reqFilter: hostileFilter,
		requests: []string{withLength("POST /m HTTP/1.1", "abc"), withLength("POST /m HTTP/1.1", "abc")},
		wantLine: "POST /m HTTP/1.1", wantFraming: []string{"Content-Length", "3"}, wantBody: "abc", wantLength: "2",
		wantMirrorFraming: []string{"Content-Length", "3"}},
	{name: "mirrored chunked POST", mirrored: true,
		requests: []string{clientRequest("POST /m HTTP/1.1", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "Transfer-Encoding: chunked")},
		wantLine: "POST /m HTTP/1.1", wantFraming: chunkedWithTrailer, wantBody: "abcde", wantLength: "2",
		wantMirrorFraming: []string{"Content-Length", "5"}},
	{name: "endpoint repeats its Content-Length", answer: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		requests: []string{clientRequest("GET /twice HTTP/1.1", ""), clientRequest("GET /twice HTTP/1.1", "")},
		wantLine: "GET /twice HTTP/1.1", wantLength: "2"},
	{name: "endpoint answers chunked", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		requests: []string{clientRequest("GET /chunked HTTP/1.1", ""), clientRequest("GET /chunked HTTP/1.1", "")},
		wantLine: "GET /chunked HTTP/1.1"},
}

// TestRequestAndAnswerHeadsOnTheWire sends each case's requests through the gateway, served by
// the h1 loop and by net/http, to an endpoint that reads exact bytes, and checks the heads on
// both sides: one Host, one framing field, no hop-by-hop fields, whatever the client sent and
// whatever the route's header filters say.
func TestRequestAndAnswerHeadsOnTheWire(t *testing.T) {
	onBothServers(t, func(t *testing.T, serve serving) {
		for _, c := range wireCases {
			t.Run(c.name, func(t *testing.T) { testWireCase(t, serve, c) })
		}
	})
}

func testWireCase(t *testing.T, serve serving, c wireCase) {
	answer := c.answer
	if answer == "" {
		answer = okAnswer
	}
	b := newWireBackend(t, answer)
	r := rule("r", backend("a", 1, b.addr))
	r.RequestHeaders, r.ResponseHeaders = c.reqFilter, c.respFilter
	var mirror *wireBackend
	if c.mirrored {
		mirror = newWireBackend(t, okAnswer)
		r.Mirrors = []route.Mirror{{Backend: backend("m", 1, mirror.addr), Numerator: 1, Denominator: 1}}
	}
	_, url := gatewayOn(t, serve, prefix("/", r))
	client := dialWire(t, url)
	for i, req := range c.requests {
		a := client.do(req)
		if a.status != 200 || string(a.body) != "ok" {
			t.Errorf("answer %d: status %d, body %q; head:\n%s", i, a.status, a.body, a.head)
		}
		for _, p := range answerHeadProblems(a.head) {
			t.Errorf("answer %d: %s; head:\n%s", i, p, a.head)
		}
		if got := headFields(a.head, "Content-Length"); c.wantLength != "" && !slices.Equal(got, []string{c.wantLength}) {
			t.Errorf("answer %d: Content-Length %q, want exactly [%s]", i, got, c.wantLength)
		}
	}
	want := canonicalFields(append(slices.Clone(forwardedFields), c.wantFraming...)...)
	checkReceived(t, "request", b.requests(), len(c.requests), c.wantLine, want, c.wantBody)
	if mirror != nil {
		want := canonicalFields(append(slices.Clone(mirroredFields), c.wantMirrorFraming...)...)
		checkReceived(t, "mirrored request", mirror.awaitRequests(len(c.requests), 5*time.Second), len(c.requests), c.wantLine, want, c.wantBody)
	}
}

// checkReceived compares the requests an endpoint received, n of them, with the line, the
// sorted field lines and the body each should have had.
func checkReceived(t *testing.T, what string, got []wireRequest, n int, line string, fields []string, body string) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("the endpoint received %d requests, want %d: %+v", len(got), n, got)
	}
	for i, req := range got {
		for _, p := range requestHeadProblems(req.head) {
			t.Errorf("%s %d: %s; head:\n%s", what, i, p, req.head)
		}
		if req.requestLine() != line {
			t.Errorf("%s %d: line %q, want %q", what, i, req.requestLine(), line)
		}
		if !slices.Equal(req.fields(), fields) {
			t.Errorf("%s %d: fields\n%s\nwant\n%s", what, i, strings.Join(req.fields(), "\n"), strings.Join(fields, "\n"))
		}
		if string(req.body) != body {
			t.Errorf("%s %d: body of %d bytes, want %d", what, i, len(req.body), len(body))
		}
	}
}
