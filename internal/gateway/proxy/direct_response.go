package proxy

import (
	"errors"
	"io"
	"net/http"
	"strings"
)

// copyResponse sends resp to the client: hop-by-hop headers dropped, the rule's and backend's
// response header filters applied, the body streamed (flushed as it comes when its length is
// unknown), trailers passed on. It reports whether the endpoint connection can serve another
// request, and whether the answer was cut short by the endpoint.
func (h *Handler) copyResponse(w http.ResponseWriter, resp *http.Response, t *target) (reusable, cut bool) {
	hdr := w.Header()
	dropped := connectionListed(resp.Header)
	for name, values := range resp.Header {
		if !hopByHop(name) && !dropped[name] {
			hdr[name] = values
		}
	}
	applyHeaders(hdr, t.entry.Rule.ResponseHeaders)
	applyHeaders(hdr, t.backend.ResponseHeaders)
	if len(resp.Trailer) > 0 {
		names := make([]string, 0, len(resp.Trailer))
		for name := range resp.Trailer {
			names = append(names, name)
		}
		hdr["Trailer"] = []string{strings.Join(names, ", ")}
	}
	w.WriteHeader(resp.StatusCode)

	buf := h.buffers.Get()
	defer h.buffers.Put(buf)
	readErr, writeErr := copyBody(w, resp.Body, buf, streaming(resp))
	if readErr != nil {
		return false, true
	}
	for name, values := range resp.Trailer {
		hdr[name] = values
	}
	_ = resp.Body.Close()
	return writeErr == nil && !resp.Close, false
}

// streaming answers (unknown length, server-sent events) are flushed as they arrive.
func streaming(resp *http.Response) bool {
	return resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
}

// copyBody copies the body to the client, telling a failure to read from the endpoint apart
// from a failure to write to the client (who may simply have gone).
func copyBody(w http.ResponseWriter, body io.Reader, buf []byte, flush bool) (readErr, writeErr error) {
	flusher, _ := w.(http.Flusher)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			if flush && flusher != nil {
				flusher.Flush()
			}
		}
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}
