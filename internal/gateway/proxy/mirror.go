package proxy

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// mirrorer sends copies of requests to mirror backends, fire and forget, within bounds.
type mirrorer struct {
	client  *http.Client
	slots   chan struct{}
	maxBody int64
}

func newMirrorer(t http.RoundTripper, o Options) *mirrorer {
	return &mirrorer{
		client:  &http.Client{Transport: t, Timeout: 10 * time.Second, CheckRedirect: noRedirects},
		slots:   make(chan struct{}, max(o.MaxMirrorsInFlight, 1)),
		maxBody: o.MaxMirrorBody,
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// mirror copies r to each mirror whose share it falls in. The body is buffered (up to maxBody)
// and r.Body replaced by an equivalent reader; larger bodies are not mirrored.
func (m *mirrorer) mirror(r *http.Request, mirrors []route.Mirror) {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		buf, err := io.ReadAll(io.LimitReader(r.Body, m.maxBody+1))
		rest := r.Body
		r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), rest), rest}
		if err != nil || int64(len(buf)) > m.maxBody {
			return
		}
		body = buf
	}
	hdr := mirrorHeader(r)
	for _, mr := range mirrors {
		if mr.Numerator == 0 || rand.Uint32N(mr.Denominator) >= mr.Numerator { //nolint:gosec // samples the mirrored share, not a secret
			continue
		}
		addr, ok := mr.Backend.NextEndpoint()
		if !ok {
			continue
		}
		select {
		case m.slots <- struct{}{}:
		default:
			continue // at capacity: mirroring is best effort
		}
		out := r.Clone(context.Background())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host = "http", addr
		// The copy's body is whole: it goes by its length, without the inbound chunking or trailers.
		out.Header, out.TransferEncoding, out.Trailer = hdr, nil, nil
		out.Body, out.ContentLength = http.NoBody, 0
		if len(body) > 0 {
			out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		go m.send(out)
	}
}

// mirrorHeader is the header every mirror of r gets, as the main request's would be: without
// hop-by-hop fields, with the X-Forwarded fields, and without the User-Agent net/http's
// Transport adds when there is none. The mirrors share it, read only, from their goroutines.
func mirrorHeader(r *http.Request) http.Header {
	h := endToEnd(r.Header)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""}
	}
	(&httputil.ProxyRequest{In: r, Out: &http.Request{Header: h}}).SetXForwarded()
	return h
}

func (m *mirrorer) send(req *http.Request) {
	defer func() { <-m.slots }()
	resp, err := m.client.Do(req) //nolint:gosec // the mirror backend is the route's, not the request's
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}

type readCloser struct {
	io.Reader
	io.Closer
}
