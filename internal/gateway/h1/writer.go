package h1

import (
	"bufio"
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// pendingLimit is how much body the writer holds back, before the head is written, hoping the
// handler finishes within it: the answer then goes out with a Content-Length instead of chunked.
const pendingLimit = 2 << 10

// responseWriter writes one answer to the connection's buffered writer. As net/http's does, it
// frames the body by the Content-Length the handler set or, when the handler finishes within
// pendingLimit, by the length written; otherwise (and whenever trailers are declared) chunked.
// Nothing reaches the socket before the handler flushes or finishes, unless the buffer fills.
type responseWriter struct {
	c      *conn
	header http.Header // reused from request to request

	isHead   bool
	reqClose bool // the client asked to close after this answer

	status     int  // 0 until WriteHeader
	committed  bool // the head is written
	noBody     bool // HEAD, or a status without a body
	chunked    bool
	length     int64 // declared Content-Length, -1 if none
	written    int64
	pending    []byte // body written before the head
	closeAfter bool
	err        error // the first write error; every later write fails with it
}

func (w *responseWriter) reset(r *http.Request) {
	if w.header == nil {
		w.header = make(http.Header)
	} else {
		clear(w.header)
	}
	w.isHead = r.Method == http.MethodHead
	w.reqClose = r.Close
	w.status, w.committed, w.noBody, w.chunked = 0, false, false, false
	w.length, w.written = -1, 0
	w.pending = w.pending[:0]
	w.closeAfter, w.err = false, nil
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code)) // as net/http does
	}
	if w.status != 0 {
		return // the first status stands
	}
	if code < 200 {
		w.writeInformational(code)
		return
	}
	w.status = code
	w.noBody = w.isHead || code == http.StatusNoContent || code == http.StatusNotModified
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.length = n
		} else {
			delete(w.header, "Content-Length") // a length the body cannot be framed by
		}
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.noBody {
		if w.isHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.length < 0 && len(w.pending)+len(p) <= pendingLimit {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(false)
		w.writeBody(w.pending)
	}
	w.writeBody(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends what is written so far; an answer of unknown length is chunked from then on.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
		w.writeBody(w.pending)
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
}

// finish completes the answer after the handler returned and sends it.
func (w *responseWriter) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
		w.writeBody(w.pending)
	}
	if w.chunked {
		w.c.bw.WriteString("0\r\n")
		w.writeTrailers()
		w.c.bw.WriteString("\r\n")
	}
	if !w.noBody && w.length >= 0 && w.written < w.length {
		w.closeAfter = true // the client waits for bytes that will never come
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err
}

// WriteEncodedHead writes an answer's head whose header fields come encoded, "Name: value\r\n"
// each and already checked, by a handler that copies them from elsewhere (the gateway's direct
// path): no Header map is built or read. The writer adds Date unless hasDate, Content-Length
// when length ≥ 0, and Connection: close when the connection is to end; an answer with a body
// of unknown length is chunked. A call after the head is written does nothing.
func (w *responseWriter) WriteEncodedHead(status int, fields []byte, length int64, hasDate bool) {
	if w.status != 0 || status < 200 || status > 999 {
		return
	}
	w.status, w.committed, w.length = status, true, length
	w.noBody = w.isHead || status == http.StatusNoContent || status == http.StatusNotModified
	w.chunked = length < 0 && !w.noBody
	w.closeAfter = w.reqClose || w.c.s.shutting.Load()
	bw := w.c.bw
	bw.WriteString(statusLine(status))
	_, _ = bw.Write(fields)
	if !hasDate {
		writeField(bw, "Date", httpDate())
	}
	w.writeFraming()
	bw.WriteString("\r\n")
}

// commit writes the head. final: the handler is done, so a body held back is all there is.
func (w *responseWriter) commit(final bool) {
	w.committed = true
	h := w.header
	switch {
	case w.noBody:
	case len(h["Trailer"]) > 0:
		w.chunked = true
	case w.length >= 0:
	case final:
		w.length = int64(len(w.pending))
	default:
		w.chunked = true
	}
	if w.reqClose || w.c.s.shutting.Load() || httpguts.HeaderValuesContainsToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	bw := w.c.bw
	bw.WriteString(statusLine(w.status))
	for name, values := range h {
		switch {
		case name == "Content-Length" || name == "Transfer-Encoding" || name == "Connection",
			strings.HasPrefix(name, http.TrailerPrefix), !httpguts.ValidHeaderFieldName(name):
			continue
		}
		for _, v := range values {
			writeField(bw, name, v)
		}
	}
	if _, set := h["Date"]; !set {
		writeField(bw, "Date", httpDate())
	}
	w.writeFraming()
	bw.WriteString("\r\n")
}

// writeFraming writes the fields that frame the body and end the connection.
func (w *responseWriter) writeFraming() {
	bw := w.c.bw
	switch {
	case w.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	case w.length >= 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(w.length, 10))
		bw.WriteString("\r\n")
	}
	if w.closeAfter {
		bw.WriteString("Connection: close\r\n")
	}
}

func (w *responseWriter) writeBody(p []byte) {
	if len(p) == 0 || w.err != nil {
		return
	}
	bw := w.c.bw
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	if _, err := bw.Write(p); err != nil {
		w.err = err
		return
	}
	if w.chunked {
		bw.WriteString("\r\n")
	}
}

// writeTrailers writes the values of the declared trailers and of "Trailer:"-prefixed keys.
func (w *responseWriter) writeTrailers() {
	bw := w.c.bw
	for _, declared := range w.header["Trailer"] {
		for name := range strings.SplitSeq(declared, ",") {
			name = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
			for _, v := range w.header[name] {
				writeField(bw, name, v)
			}
		}
	}
	for key, values := range w.header {
		if name, ok := strings.CutPrefix(key, http.TrailerPrefix); ok && httpguts.ValidHeaderFieldName(name) {
			for _, v := range values {
				writeField(bw, name, v)
			}
		}
	}
}

// writeInformational sends a 1xx answer (103 Early Hints) with the headers set so far; the
// final answer follows.
func (w *responseWriter) writeInformational(code int) {
	if w.committed || w.err != nil {
		return
	}
	bw := w.c.bw
	bw.WriteString(statusLine(code))
	for name, values := range w.header {
		if httpguts.ValidHeaderFieldName(name) {
			for _, v := range values {
				writeField(bw, name, v)
			}
		}
	}
	bw.WriteString("\r\n")
	w.err = bw.Flush()
}

// writeField writes one header field; CR and LF in the value become spaces, as net/http does,
// so a value cannot start a field of its own.
func writeField(bw *bufio.Writer, name, value string) {
	bw.WriteString(name)
	bw.WriteString(": ")
	bw.WriteString(CleanFieldValue(value))
	bw.WriteString("\r\n")
}
