package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file holds the tests' view of the wire: an endpoint and a client that see the exact
// bytes of each message, for the properties Go's httptest would hide (it accepts two equal
// Content-Length lines, two Host lines are folded into one Request.Host, and so on).

// wireRequest is one request as a wireBackend received it.
type wireRequest struct {
	head string // the request line and the fields, each line with its CRLF, the empty line left out
	body []byte // the body, de-chunked when it came chunked
}

// fields returns the head's field lines, sorted: the gateway writes fields in map order, so a
// test compares this with its own sorted list.
func (r wireRequest) fields() []string {
	lines := strings.Split(strings.TrimSuffix(r.head, "\r\n"), "\r\n")[1:]
	slices.Sort(lines)
	return lines
}

// requestLine is the head's first line.
func (r wireRequest) requestLine() string {
	line, _, _ := strings.Cut(r.head, "\r\n")
	return line
}

// wireBackend is an endpoint that records the exact bytes of every request and answers each
// with one fixed answer, keeping the connection open for the next. It frames requests as
// strict servers (nginx, Node) do: a second Content-Length line, even an equal one, or both
// Content-Length and Transfer-Encoding, get 400 and the connection closed, since an endpoint
// reading such a head cannot know where the request ends.
type wireBackend struct {
	addr   string
	answer string

	mu      sync.Mutex
	got     []wireRequest
	arrived chan struct{} // signalled (without blocking) as each request is recorded
}

func newWireBackend(t *testing.T, answer string) *wireBackend {
	b := &wireBackend{answer: answer, arrived: make(chan struct{}, 1)}
	b.addr = rawBackend(t, b.serve)
	return b
}

// requests returns what the backend has received so far, in order.
func (b *wireBackend) requests() []wireRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// awaitRequests returns what the backend has received once it has n requests, or after
// within, for requests sent by someone who does not wait for the answer (a mirror).
func (b *wireBackend) awaitRequests(n int, within time.Duration) []wireRequest {
	timeout := time.After(within)
	for {
		if got := b.requests(); len(got) >= n {
			return got
		}
		select {
		case <-b.arrived:
		case <-timeout:
			return b.requests()
		}
	}
}

func (b *wireBackend) record(req wireRequest) {
	b.mu.Lock()
	b.got = append(b.got, req)
	b.mu.Unlock()
	select {
	case b.arrived <- struct{}{}:
	default:
	}
}

func (b *wireBackend) serve(conn net.Conn) {
	br := bufio.NewReader(conn)
	for {
		head, err := readHead(br)
		if err != nil {
			return
		}
		length, chunked, ambiguous := framingOf(head)
		req := wireRequest{head: head}
		if !ambiguous {
			req.body, err = readBody(br, length, chunked)
		}
		b.record(req)
		if ambiguous || err != nil {
			_, _ = io.WriteString(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		if _, err := io.WriteString(conn, b.answer); err != nil {
			return
		}
	}
}

// readHead reads a message head up to and without its empty line.
func readHead(br *bufio.Reader) (string, error) {
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if line == "\r\n" {
			return head.String(), nil
		}
		head.WriteString(line)
	}
}

// headFields returns the values of every field of head named name (in any case), in order.
func headFields(head, name string) []string {
	var values []string
	lines := strings.Split(strings.TrimSuffix(head, "\r\n"), "\r\n")
	for _, line := range lines[1:] {
		if n, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(n, name) {
			values = append(values, strings.TrimSpace(v))
		}
	}
	return values
}

// framingOf reads how head frames its body: a length (-1 when none), chunked, or ambiguous
// when it says more than once or in two ways.
func framingOf(head string) (length int64, chunked, ambiguous bool) {
	lengths, codings := headFields(head, "Content-Length"), headFields(head, "Transfer-Encoding")
	switch {
	case len(lengths) > 1, len(codings) > 1, len(lengths) > 0 && len(codings) > 0:
		return -1, false, true
	case len(codings) == 1:
		return -1, true, codings[0] != "chunked"
	case len(lengths) == 1:
		n, err := strconv.ParseInt(lengths[0], 10, 64)
		return n, false, err != nil || n < 0
	}
	return -1, false, false
}

// readBody reads a body framed by length or chunked; with neither, there is none (a request;
// the client reads an answer framed so to the end of the connection itself).
func readBody(br *bufio.Reader, length int64, chunked bool) ([]byte, error) {
	switch {
	case chunked:
		body, err := io.ReadAll(httputil.NewChunkedReader(br))
		if err != nil {
			return body, err
		}
		_, err = readHead(br) // the trailer section, through its empty line
		return body, err
	case length >= 0:
		body := make([]byte, length)
		_, err := io.ReadFull(br, body)
		return body, err
	}
	return nil, nil
}

// requestHeadProblems lists what is wrong with a request head as a gateway sent it: exactly one
// Host, at most one framing field (Content-Length, or Transfer-Encoding: chunked, never both),
// and no hop-by-hop field but TE: trailers and Connection: close. It is for ordinary requests:
// a proxied upgrade (WebSocket) rightly carries Upgrade and Connection: upgrade.
func requestHeadProblems(head string) []string {
	var problems []string
	if hosts := headFields(head, "Host"); len(hosts) != 1 {
		problems = append(problems, fmt.Sprintf("%d Host fields %q, want 1", len(hosts), hosts))
	}
	problems = append(problems, framingProblems(head)...)
	for _, v := range headFields(head, "Connection") {
		if !strings.EqualFold(v, "close") {
			problems = append(problems, fmt.Sprintf("Connection: %s passed on", v))
		}
	}
	for _, te := range headFields(head, "Te") {
		if te != "trailers" {
			problems = append(problems, fmt.Sprintf("TE: %s passed on, only TE: trailers may be", te))
		}
	}
	return problems
}

// answerHeadProblems lists what is wrong with an answer head as a gateway sent it to a
// client: at most one framing field, and no hop-by-hop field but Connection: close or
// keep-alive.
func answerHeadProblems(head string) []string {
	problems := framingProblems(head)
	for _, v := range headFields(head, "Connection") {
		if !strings.EqualFold(v, "close") && !strings.EqualFold(v, "keep-alive") {
			problems = append(problems, fmt.Sprintf("Connection: %s passed on", v))
		}
	}
	for _, v := range headFields(head, "Te") {
		problems = append(problems, fmt.Sprintf("TE: %s in an answer", v))
	}
	return problems
}

// framingProblems: one framing field at most, Transfer-Encoding only ever "chunked" (the
// sender's own), Trailer only with it (declaring the trailers of the sender's own chunked
// body), and none of the other hop-by-hop fields.
func framingProblems(head string) []string {
	var problems []string
	lengths, codings := headFields(head, "Content-Length"), headFields(head, "Transfer-Encoding")
	if len(lengths)+len(codings) > 1 {
		problems = append(problems, fmt.Sprintf("framing said %d times: Content-Length %q, Transfer-Encoding %q",
			len(lengths)+len(codings), lengths, codings))
	}
	for _, te := range codings {
		if te != "chunked" {
			problems = append(problems, fmt.Sprintf("Transfer-Encoding: %s passed on", te))
		}
	}
	if v := headFields(head, "Trailer"); len(v) > 0 && !slices.Equal(codings, []string{"chunked"}) {
		problems = append(problems, fmt.Sprintf("Trailer: %q passed on without a chunked body", v))
	}
	for _, name := range []string{"Keep-Alive", "Proxy-Connection", "Upgrade"} {
		if v := headFields(head, name); len(v) > 0 {
			problems = append(problems, fmt.Sprintf("hop-by-hop %s: %q passed on", name, v))
		}
	}
	return problems
}

// wireClient is a client connection to the gateway that writes requests as given and reads
// each answer's exact head.
type wireClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialWire(t *testing.T, url string) *wireClient {
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a failing test ends, it does not hang
	return &wireClient{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// wireAnswer is an answer as the client read it.
type wireAnswer struct {
	status int
	head   string
	body   []byte
}

// do sends request as it is and reads the answer; an answer framed by neither a length nor
// chunking is read to the end of the connection.
func (c *wireClient) do(request string) wireAnswer {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, request); err != nil {
		c.t.Fatalf("sending the request: %v", err)
	}
	head, err := readHead(c.br)
	if err != nil {
		c.t.Fatalf("reading the answer head: %v", err)
	}
	status, _ := strconv.Atoi(strings.Fields(head + " 0 0")[1])
	length, chunked, ambiguous := framingOf(head)
	if ambiguous {
		return wireAnswer{status: status, head: head}
	}
	body, err := readBody(c.br, length, chunked)
	if length < 0 && !chunked && !strings.HasPrefix(request, "HEAD ") {
		body, err = io.ReadAll(c.br)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		c.t.Fatalf("reading the answer body: %v", err)
	}
	return wireAnswer{status: status, head: head, body: body}
}

// canonicalFields writes name: value lines in the form the gateway sends them.
func canonicalFields(kv ...string) []string {
	var lines []string
	for i := 0; i+1 < len(kv); i += 2 {
		lines = append(lines, textproto.CanonicalMIMEHeaderKey(kv[i])+": "+kv[i+1])
	}
	slices.Sort(lines)
	return lines
}

func TestWireBackendRefusesAmbiguousFraming(t *testing.T) {
	b := newWireBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	c := dialWire(t, b.addr)
	a := c.do("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	if a.status != 200 || string(a.body) != "ok" {
		t.Fatalf("plain request: %d %q", a.status, a.body)
	}
	a = c.do("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
	if a.status != 400 {
		t.Errorf("two equal Content-Length lines: %d, want 400 as nginx answers", a.status)
	}
	got := b.requests()
	if len(got) != 2 || string(got[0].body) != "abc" || len(requestHeadProblems(got[1].head)) == 0 {
		t.Errorf("recorded %+v; the second head should have problems", got)
	}
}
