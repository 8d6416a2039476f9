package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aviary-dev/aviary/internal/gateway/h1"
	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// MaxDirectBody is the largest request body the direct path sends. The direct path writes the
// whole request before it reads the answer, so a large upload to an endpoint that answers
// early would fail; those requests go through httputil.ReverseProxy, which does both at once.
const MaxDirectBody = 64 << 10

// direct reports whether r can take the direct path: a plain request with a small body of
// known length. Upgrades (WebSocket), 100-continue and large or chunked uploads cannot.
func direct(r *http.Request) bool {
	return r.ContentLength >= 0 && r.ContentLength <= MaxDirectBody &&
		r.ProtoMajor == 1 &&
		len(r.Header["Upgrade"]) == 0 &&
		len(r.Header["Expect"]) == 0
}

// aLongTimeAgo is a deadline that makes every blocked read and write fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// forwardDirect sends r to t's endpoint on a pooled connection and copies the answer to w.
func (h *Handler) forwardDirect(w http.ResponseWriter, r *http.Request, t *target, timeout time.Duration) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	// The raw path copies an answer as it came; response header filters need the Header map.
	ew, raw := w.(encodedHeadWriter)
	raw = raw && t.entry.Rule.ResponseHeaders == nil && t.backend.ResponseHeaders == nil
	ans, c, err := h.exchange(r, t, deadline, raw)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client went away; nobody reads an answer
		}
		if !deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
			err = context.DeadlineExceeded // the rule's timeout, not a backend failure
		}
		h.backendError(w, r, err)
		return
	}
	var reusable, cut bool
	if ans.raw != nil {
		reusable, cut = copyRaw(ew, w, ans.raw, c.br)
	} else {
		reusable, cut = h.copyResponse(w, ans.resp, t)
	}
	if c.unwatch() && reusable {
		h.up.put(c)
		return
	}
	_ = c.Close()
	if cut {
		// The head is out: the only way left to tell the client the answer is cut short is to
		// end its connection without the rest, as httputil.ReverseProxy does.
		panic(http.ErrAbortHandler)
	}
}

// answerHead is an endpoint's answer head: read by net/http's parser, or by ours (raw) when the
// caller can take it that way and the answer is plain.
type answerHead struct {
	resp *http.Response
	raw  *rawAnswer
}

// exchange writes the request and reads the answer's head, retrying once on a new connection
// when a reused one turns out to have been closed by the endpoint before it answered anything.
// The connection comes back watching the client (upConn.watch); the caller unwatches it.
func (h *Handler) exchange(r *http.Request, t *target, deadline time.Time, raw bool) (answerHead, *upConn, error) {
	dialCtx := r.Context()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithDeadline(dialCtx, deadline)
		defer cancel()
	}
	for attempt := 0; ; attempt++ {
		var c *upConn
		var err error
		if attempt == 0 {
			c, err = h.up.get(dialCtx, t.addr)
		} else {
			c, err = h.up.dial(dialCtx, t.addr) // the pool may hold more the endpoint has closed
		}
		if err != nil {
			return answerHead{}, nil, err
		}
		if !deadline.IsZero() || c.deadline {
			_ = c.SetDeadline(deadline)
			c.deadline = !deadline.IsZero()
		}
		// The client leaving (or the handler's context ending) unblocks the exchange.
		c.watch(r.Context())
		ans, answered, err := roundTrip(c, r, t, raw)
		if err == nil {
			return ans, c, nil
		}
		c.unwatch()
		_ = c.Close()
		if answered || !c.reused || attempt > 0 || !replayable(r) || r.Context().Err() != nil {
			return answerHead{}, nil, err
		}
	}
}

// roundTrip writes r and reads the answer head; answered says whether the endpoint sent
// anything at all.
func roundTrip(c *upConn, r *http.Request, t *target, raw bool) (answerHead, bool, error) {
	c.out.Reset()
	if err := writeRequest(&c.out, r, t); err != nil {
		return answerHead{}, false, err
	}
	err := c.sock.WriteAndAwait(c.out.Bytes())
	if c.out.Cap() > maxKeptRequestBuffer {
		c.out = bytes.Buffer{} // a large body went out: keep a pooled connection small
	}
	if err != nil {
		return answerHead{}, false, err
	}
	if _, err := c.br.Peek(1); err != nil {
		return answerHead{}, false, err
	}
	if raw {
		if a, ok := readRawAnswer(c, r.Method); ok {
			return answerHead{raw: a}, true, nil
		}
	}
	for {
		resp, err := http.ReadResponse(c.br, r) //nolint:bodyclose // copyResponse closes it
		if err != nil {
			return answerHead{}, true, err
		}
		// 1xx answers (103 Early Hints) precede the real one; 101 cannot come without Upgrade.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return answerHead{}, true, errors.New("endpoint switched protocols without being asked to")
			}
			return answerHead{resp: resp}, true, nil
		}
	}
}

// replayable: a request without a body, of a method that may be repeated, can be sent again
// when the endpoint closed the connection without reading it.
func replayable(r *http.Request) bool {
	if r.ContentLength != 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return len(r.Header["Idempotency-Key"]) > 0 || len(r.Header["X-Idempotency-Key"]) > 0
}

// maxKeptRequestBuffer is the largest request buffer a pooled connection keeps for the next.
const maxKeptRequestBuffer = 16 << 10

// writeRequest writes r as the request to t's endpoint into out: one Host, hop-by-hop headers
// dropped, the X-Forwarded headers set as httputil.ProxyRequest.SetXForwarded does, the body
// framed by its length alone (see ownedByWriter).
func writeRequest(out *bytes.Buffer, r *http.Request, t *target) error {
	out.WriteString(r.Method)
	out.WriteByte(' ')
	out.WriteString(outboundURI(r, t))
	out.WriteString(" HTTP/1.1\r\nHost: ")
	host := t.host
	if host == "" {
		host = t.addr
	}
	out.WriteString(h1.CleanFieldValue(host))
	out.WriteString("\r\n")
	dropped := connectionListed(r.Header)
	for name, values := range r.Header {
		if hopByHop(name) || forwardedHeader(name) || ownedByWriter(name) || dropped[name] {
			continue
		}
		for _, v := range values {
			writeHeader(out, name, v)
		}
	}
	if trailersAccepted(r.Header) {
		out.WriteString("Te: trailers\r\n")
	}
	writeForwarded(out, r)
	if sendsLength(r) {
		out.WriteString("Content-Length: ")
		out.WriteString(strconv.FormatInt(r.ContentLength, 10))
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	if r.ContentLength > 0 {
		if _, err := io.CopyN(out, r.Body, r.ContentLength); err != nil {
			return err
		}
	}
	return nil
}

// ownedByWriter: writeRequest writes Host and Content-Length from the target and the body's
// length, never from the Header map, where net/http's server and the h1 loop keep the
// client's Content-Length (and a filter could put either): a copy from there made a second
// line, which strict endpoints answer with 400 and which lets a different value smuggle a
// request into a pooled connection.
func ownedByWriter(name string) bool {
	return name == "Host" || name == "Content-Length"
}

// sendsLength reports whether the request head carries Content-Length: for a body, and for an
// empty one of the methods servers expect a length with (as net/http's Transport decides, so
// both paths agree).
func sendsLength(r *http.Request) bool {
	switch {
	case r.ContentLength > 0:
		return true
	case r.ContentLength < 0:
		return false
	}
	return r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch
}

// outboundURI is the request target: the inbound path and query, or the rewritten path.
func outboundURI(r *http.Request, t *target) string {
	rw := t.entry.Rule.Rewrite
	if rw == nil || rw.Path.Type == route.PathKeep {
		return r.URL.RequestURI()
	}
	u := url.URL{Path: modifyPath(r.URL.Path, rw.Path, &t.entry.Match), RawQuery: r.URL.RawQuery}
	return u.RequestURI()
}

func writeForwarded(out *bytes.Buffer, r *http.Request) {
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		out.WriteString("X-Forwarded-For: ")
		if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
			out.WriteString(h1.CleanFieldValue(strings.Join(prior, ", ")))
			out.WriteString(", ")
		}
		out.WriteString(ip)
		out.WriteString("\r\n")
	}
	if r.Host != "" {
		writeHeader(out, "X-Forwarded-Host", r.Host)
	}
	if r.TLS != nil {
		out.WriteString("X-Forwarded-Proto: https\r\n")
	} else {
		out.WriteString("X-Forwarded-Proto: http\r\n")
	}
}

func writeHeader(out *bytes.Buffer, name, value string) {
	out.WriteString(name)
	out.WriteString(": ")
	out.WriteString(h1.CleanFieldValue(value))
	out.WriteString("\r\n")
}

// hopByHop lists the headers that describe one connection, not the message (RFC 9110 7.6.1).
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// forwardedHeader: the gateway writes these itself.
func forwardedHeader(name string) bool {
	switch name {
	case "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// endToEnd returns a deep copy of h without its hop-by-hop fields (and those its Connection
// field names), for a request net/http's Transport writes from the copy after the handler has
// returned (the h1 loop reuses the arrays of a request's values for the next one).
func endToEnd(h http.Header) http.Header {
	dropped := connectionListed(h)
	out := h.Clone()
	for name := range out {
		if hopByHop(name) || dropped[name] {
			delete(out, name)
		}
	}
	return out
}

// connectionListed returns the headers the Connection header names as hop-by-hop.
func connectionListed(h http.Header) map[string]bool {
	values := h["Connection"]
	if len(values) == 0 {
		return nil
	}
	listed := map[string]bool{}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				listed[textproto.CanonicalMIMEHeaderKey(name)] = true
			}
		}
	}
	return listed
}

func trailersAccepted(h http.Header) bool {
	for _, v := range h["Te"] {
		if strings.Contains(strings.ToLower(v), "trailers") {
			return true
		}
	}
	return false
}
