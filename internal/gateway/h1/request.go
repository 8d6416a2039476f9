package h1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// requestSpace is where a connection reads its requests, one after the other: each request
// reuses the previous one's Request, URL, Header map, backing array of values and body reader,
// so that it allocates only the string of its head (and its URL when the target is not of the
// common kind, see parseTarget). A handler must therefore not use the Request, its URL, Header
// or Body after it returns (net/http's server lets it keep them).
type requestSpace struct {
	tmpl   http.Request // carries the connection's context: every request starts as a copy
	r      http.Request
	url    url.URL
	header http.Header
	values []string
	body   body
}

func newRequestSpace(ctx context.Context) *requestSpace {
	s := &requestSpace{header: make(http.Header)}
	s.tmpl = *s.tmpl.WithContext(ctx)
	return s
}

// parse reads a request head (its lines with their CRLFs, the final empty line left out) as
// http.ReadRequest and net/http's server would read it. It returns false for anything the loop
// does not serve itself (see the package comment): net/http then gets the request whole. Names
// and values are substrings of one string of the head.
func (s *requestSpace) parse(head []byte, maxBody int64) (*http.Request, bool) {
	text := string(head)
	line, fields, _ := strings.Cut(text, "\r\n")
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !ValidToken(method) || method == http.MethodConnect ||
		!strings.HasPrefix(target, "/") {
		return nil, false
	}
	u, ok := parseTarget(target, &s.url)
	if !ok {
		return nil, false
	}
	f, ok := s.parseFields(fields)
	if !ok || f.hosts != 1 || !httpguts.ValidHostHeader(f.host) || f.lengths > 1 || f.length > maxBody {
		return nil, false
	}
	// As net/http: a Pragma: no-cache stands for Cache-Control: no-cache when that is absent.
	h := s.header
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" && h["Cache-Control"] == nil {
		h["Cache-Control"] = []string{"no-cache"}
	}
	r := &s.r
	*r = s.tmpl
	r.Method, r.URL, r.RequestURI, r.Host, r.Header = method, u, target, f.host, h
	r.Proto, r.ProtoMajor, r.ProtoMinor = proto, 1, 1
	r.Close = httpguts.HeaderValuesContainsToken(h["Connection"], "close")
	r.ContentLength, r.Body = f.length, http.NoBody
	return r, true
}

// parseTarget reads an origin-form request target as url.ParseRequestURI does. A target of the
// common kind — a path of characters that stay as they are (no %-escapes) and a query that is
// not empty — is read into u without allocating; any other goes through url.ParseRequestURI.
func parseTarget(target string, u *url.URL) (*url.URL, bool) {
	path, query, hasQuery := strings.Cut(target, "?")
	common := !hasQuery || query != "" // "/p?" sets ForceQuery
	for i := 0; common && i < len(path); i++ {
		common = plainPathByte(path[i])
	}
	for i := 0; common && i < len(query); i++ {
		common = query[i] >= ' ' && query[i] != 0x7f // control characters are refused
	}
	if !common || path == "" || path[0] != '/' {
		parsed, err := url.ParseRequestURI(target)
		return parsed, err == nil
	}
	*u = url.URL{Path: path, RawQuery: query}
	return u, true
}

// plainPathByte: letters, digits and the marks a path keeps unescaped in url.URL, so that
// its Path is the target's path as is and its RawPath empty.
func plainPathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.~$&+,/:;=@", c) >= 0
}

// withBody gives r a body reading its Content-Length from br.
func (s *requestSpace) withBody(r *http.Request, br *bufio.Reader) {
	s.body = body{br: br, left: r.ContentLength}
	r.Body = &s.body
}

// headFacts is what parseFields learns on the way that the request needs.
type headFacts struct {
	host    string
	hosts   int
	length  int64
	lengths int
}

// parseFields reads the header fields; false for a field net/http's server would refuse, for
// obsolete line folding, and for Upgrade, Expect and Transfer-Encoding, which the loop leaves
// to net/http. The fields replace the previous request's in s.header.
func (s *requestSpace) parseFields(text string) (headFacts, bool) {
	n := strings.Count(text, "\r\n")
	clear(s.header)
	clear(s.values) // lets go of the previous head
	if cap(s.values) < n {
		s.values = make([]string, n)
	}
	// One backing array; each name gets a slice of it capped to its length, so that appending
	// to one never writes into the next.
	values, h := s.values[:n], s.header
	var f headFacts
	for i := 0; text != ""; i++ {
		var field string
		field, text, _ = strings.Cut(text, "\r\n")
		name, value, found := strings.Cut(field, ":")
		if !found || !ValidToken(name) {
			return f, false // also a folded line, which starts with a space
		}
		value = strings.Trim(value, " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return f, false
		}
		name = textproto.CanonicalMIMEHeaderKey(name)
		switch name {
		case "Host":
			f.host, f.hosts = value, f.hosts+1
			continue // net/http moves it to Request.Host
		case "Content-Length":
			length, ok := ParseContentLength(value)
			if !ok {
				return f, false
			}
			f.length, f.lengths = length, f.lengths+1
		case "Upgrade", "Expect", "Transfer-Encoding":
			return f, false
		}
		if old := h[name]; old != nil {
			h[name] = append(old, value)
			continue
		}
		values[i] = value
		h[name] = values[i : i+1 : i+1]
	}
	return f, true
}

// body reads exactly the request's Content-Length from the connection.
type body struct {
	br   *bufio.Reader
	left int64
}

func (b *body) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if errors.Is(err, io.EOF) && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && b.left == 0 {
		err = io.EOF
	}
	return n, err
}

func (b *body) Close() error { return nil }
