package h1

import (
	"bytes"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// servable reports whether r is a request the loop serves itself (see the package comment);
// the checks net/http's server makes after parsing are repeated here so that whatever it would
// refuse is handed to it to refuse.
func servable(r *http.Request, head []byte, maxBody int64) bool {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Method == http.MethodConnect ||
		!strings.HasPrefix(r.RequestURI, "/") {
		return false
	}
	if r.ContentLength < 0 || r.ContentLength > maxBody || len(r.TransferEncoding) > 0 {
		return false
	}
	if !oneValidHost(head) {
		return false
	}
	for name, values := range r.Header {
		switch name {
		case "Host", "Upgrade", "Expect", "Transfer-Encoding":
			return false
		}
		if !httpguts.ValidHeaderFieldName(name) {
			return false
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// oneValidHost reports whether the head has exactly one Host field and its value is valid
// (http.ReadRequest folds the field into Request.Host, so this reads the head itself).
func oneValidHost(head []byte) bool {
	hosts := 0
	var value []byte
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if len(line) >= 5 && bytes.EqualFold(line[:5], hostPrefix) {
			hosts++
			value = bytes.TrimSpace(line[5:])
		}
	}
	return hosts == 1 && httpguts.ValidHostHeader(string(value))
}

var hostPrefix = []byte("host:")
