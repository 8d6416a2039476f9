package proxy

import (
	"bufio"
	"bytes"
	"net/http"

	"github.com/aviary-dev/aviary/internal/gateway/h1"
)

// encodedHeadWriter is a ResponseWriter that takes an answer's header fields already encoded,
// "Name: value\r\n" each (the h1 loop's does). The direct path then copies a plain answer from
// the endpoint's buffer to the client's without building a Header map; the writer adds Date
// (unless hasDate), Content-Length (when length ≥ 0) and Connection: close as it needs them.
type encodedHeadWriter interface {
	WriteEncodedHead(status int, fields []byte, length int64, hasDate bool)
}

// rawAnswer is an endpoint's answer head, read without net/http's parser: only what the
// direct path can copy as it is.
type rawAnswer struct {
	status  int
	fields  []byte // forwarded fields, encoded; reused from answer to answer
	length  int64  // Content-Length, -1 if none
	body    int64  // bytes of body that follow
	hasDate bool
	close   bool // the endpoint will close the connection after this answer
}

// readRawAnswer reads the head of a plain answer: HTTP/1.1, a final status, every field valid,
// the body framed by Content-Length (or absent), no trailers and no event stream, the head
// within the connection's buffer. Anything else is left unread (ok false) for http.ReadResponse.
func readRawAnswer(c *upConn, method string) (a *rawAnswer, ok bool) {
	buf, _ := c.br.Peek(c.br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	for end < 0 {
		if len(buf) == c.br.Size() {
			return nil, false
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			return nil, false // http.ReadResponse meets the same error and reports it
		}
		buf, _ = c.br.Peek(c.br.Buffered())
		end = bytes.Index(buf, crlfcrlf)
	}
	head := buf[:end+2] // each line with its CRLF
	a = &c.raw
	if !a.parse(head, method) {
		return nil, false
	}
	_, _ = c.br.Discard(end + len(crlfcrlf))
	return a, true
}

var crlfcrlf = []byte("\r\n\r\n")

// parse fills a from head; false when the answer is not one the raw path copies.
func (a *rawAnswer) parse(head []byte, method string) bool {
	// "HTTP/1.1 200 OK", the reason phrase optional.
	line, head, _ := bytes.Cut(head, crlf)
	if len(line) < 12 || !bytes.HasPrefix(line, http11) || (len(line) > 12 && line[12] != ' ') ||
		!validFieldValue(line[12:]) {
		return false
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return false
		}
		code = code*10 + int(d-'0')
	}
	if code < 200 || code > 599 {
		return false
	}
	*a = rawAnswer{status: code, fields: a.fields[:0], length: -1}
	var connection [][]byte
	for rest := head; len(rest) > 0; {
		var field []byte
		field, rest, _ = bytes.Cut(rest, crlf)
		name, value, found := bytes.Cut(field, colon)
		if !found || !h1.ValidToken(name) {
			return false // includes obs-fold lines, which start with a space
		}
		value = bytes.Trim(value, " \t")
		if !validFieldValue(value) {
			return false
		}
		switch kindOf(name) {
		case fieldContentLength:
			n, ok := h1.ParseContentLength(value)
			if !ok || a.length >= 0 {
				return false // a second length, even an equal one, is for net/http to judge
			}
			a.length = n
			continue
		case fieldUnsupported:
			return false
		case fieldContentType:
			if bytes.HasPrefix(value, eventStream) {
				return false // flushed as it comes by copyResponse
			}
		case fieldConnection:
			connection = append(connection, value)
			a.close = a.close || hasToken(value, "close")
			continue
		case fieldHopByHop:
			continue
		case fieldDate:
			a.hasDate = true
		}
		a.fields = appendField(a.fields, name, value)
	}
	bodyless := method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	switch {
	case bodyless:
	case a.length < 0:
		return false // delimited by closing: copyResponse streams it
	default:
		a.body = a.length
	}
	if namesFields(connection) {
		a.fields = a.fields[:0]
		a.encodeFields(head, connection) // rare: start again without the fields named
	}
	return true
}

type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldContentLength
	fieldUnsupported // Transfer-Encoding, Trailer: for copyResponse
	fieldContentType
	fieldConnection
	fieldHopByHop
	fieldDate
)

// kindOf sorts a field name, in any case, into what parse needs to know of it; the length
// decides which names to compare with.
func kindOf(name []byte) fieldKind {
	is := func(s string) bool { return len(name) == len(s) && bytes.EqualFold(name, []byte(s)) }
	switch len(name) {
	case 4:
		if is("Date") {
			return fieldDate
		}
	case 14:
		if is("Content-Length") {
			return fieldContentLength
		}
	case 17, 7:
		if is("Transfer-Encoding") || is("Trailer") {
			return fieldUnsupported
		}
		if is("Upgrade") {
			return fieldHopByHop
		}
	case 2, 16, 18, 19:
		if is("Te") || is("Proxy-Connection") || is("Proxy-Authenticate") || is("Proxy-Authorization") {
			return fieldHopByHop
		}
	case 12:
		if is("Content-Type") {
			return fieldContentType
		}
	case 10:
		if is("Connection") {
			return fieldConnection
		}
		if is("Keep-Alive") {
			return fieldHopByHop
		}
	}
	return fieldOther
}

func appendField(fields, name, value []byte) []byte {
	fields = append(fields, name...)
	fields = append(fields, ": "...)
	fields = append(fields, value...)
	return append(fields, "\r\n"...)
}

// namesFields reports whether Connection values name fields (anything but close and
// keep-alive), which are then the connection's, not the message's.
func namesFields(connection [][]byte) bool {
	for _, v := range connection {
		for token := range bytes.SplitSeq(v, comma) {
			token = bytes.TrimSpace(token)
			if len(token) > 0 && !bytes.EqualFold(token, []byte("close")) && !bytes.EqualFold(token, []byte("keep-alive")) {
				return true
			}
		}
	}
	return false
}

// encodeFields keeps the fields parse forwards, less those the Connection values name.
func (a *rawAnswer) encodeFields(head []byte, connection [][]byte) {
	for rest := head; len(rest) > 0; {
		var field []byte
		field, rest, _ = bytes.Cut(rest, crlf)
		name, value, _ := bytes.Cut(field, colon)
		switch kindOf(name) {
		case fieldOther, fieldContentType, fieldDate:
			if !listedIn(connection, name) {
				a.fields = appendField(a.fields, name, bytes.Trim(value, " \t"))
			}
		}
	}
}

// validFieldValue: no control characters but tab (obs-text, bytes over 0x7f, is allowed).
func validFieldValue(value []byte) bool {
	for _, b := range value {
		if (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

func listedIn(connection [][]byte, name []byte) bool {
	for _, v := range connection {
		for token := range bytes.SplitSeq(v, comma) {
			if bytes.EqualFold(bytes.TrimSpace(token), name) {
				return true
			}
		}
	}
	return false
}

func hasToken(value []byte, token string) bool {
	for t := range bytes.SplitSeq(value, comma) {
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(token)) {
			return true
		}
	}
	return false
}

var (
	crlf        = []byte("\r\n")
	colon       = []byte(":")
	comma       = []byte(",")
	http11      = []byte("HTTP/1.1 ")
	eventStream = []byte("text/event-stream")
)

// copyRaw sends a raw answer and its body straight from the endpoint's buffer. It reports
// whether the endpoint connection can serve another request and whether the endpoint cut the
// answer short.
func copyRaw(w encodedHeadWriter, rw http.ResponseWriter, a *rawAnswer, br *bufio.Reader) (reusable, cut bool) {
	w.WriteEncodedHead(a.status, a.fields, a.length, a.hasDate)
	var writeErr error
	for left := a.body; left > 0; {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return false, true
			}
		}
		chunk, _ := br.Peek(int(min(left, int64(br.Buffered()))))
		if writeErr == nil {
			_, writeErr = rw.Write(chunk)
		}
		_, _ = br.Discard(len(chunk))
		left -= int64(len(chunk))
	}
	return writeErr == nil && !a.close, false
}
