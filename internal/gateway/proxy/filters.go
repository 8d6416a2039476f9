package proxy

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// applyHeaders applies a header modifier: set replaces, add appends to an existing value with a
// comma (as the spec describes), remove deletes. Names the gateway owns are left alone (see
// filterable).
func applyHeaders(h http.Header, m *route.HeaderModifier) {
	if m == nil {
		return
	}
	for _, s := range m.Set {
		if filterable(s.Name) {
			h[s.Name] = []string{s.Value}
		}
	}
	for _, a := range m.Add {
		if !filterable(a.Name) {
			continue
		}
		if old, ok := h[a.Name]; ok && len(old) > 0 {
			h[a.Name] = []string{strings.Join(old, ",") + "," + a.Value}
			continue
		}
		h[a.Name] = []string{a.Value}
	}
	for _, name := range m.Remove {
		if filterable(name) {
			delete(h, name)
		}
	}
}

// filterable reports whether a header filter may touch the field name (canonical). Host (the
// request's own, or URLRewrite's hostname), the body's framing (Content-Length and the
// hop-by-hop Transfer-Encoding) and the connection's fields belong to the gateway: a filter
// changing them would make a message whose head disagrees with its body, which is how a
// request is smuggled on a pooled connection.
func filterable(name string) bool {
	return !hopByHop(name) && name != "Host" && name != "Content-Length"
}

// modifyPath rewrites path by a ReplaceFullPath or ReplacePrefixMatch modifier; the prefix
// replaced is the one m matched, by whole path elements.
func modifyPath(path string, pm route.PathModifier, m *route.Match) string {
	switch pm.Type {
	case route.PathReplaceFull:
		return pm.Value
	case route.PathReplacePrefix:
		rest := ""
		if m.PathType == route.PathPrefix && route.PrefixMatches(m.Path, path) {
			rest = path[len(m.Path):]
		}
		out := strings.TrimRight(pm.Value, "/") + rest
		if out == "" {
			return "/"
		}
		if out[0] != '/' {
			out = "/" + out
		}
		return out
	}
	return path
}

// redirect answers with a RequestRedirect. Without an explicit port, an explicit scheme implies
// its well-known port and otherwise the listener's port is kept; :80 for http and :443 for https
// are left out.
func redirect(w http.ResponseWriter, r *http.Request, e *route.Entry, pt *route.PortTable, host string) {
	rd := e.Rule.Redirect
	scheme := pt.Scheme
	if rd.Scheme != "" {
		scheme = rd.Scheme
	}
	if rd.Hostname != "" {
		host = rd.Hostname
	}
	port := rd.Port
	if port == 0 {
		switch rd.Scheme {
		case "https":
			port = 443
		case "http":
			port = 80
		default:
			port = pt.Port
		}
	}
	loc := scheme + "://" + host
	if (scheme != "http" || port != 80) && (scheme != "https" || port != 443) {
		loc += ":" + strconv.Itoa(port)
	}
	loc += modifyPath(r.URL.EscapedPath(), rd.Path, &e.Match)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(rd.StatusCode)
}
