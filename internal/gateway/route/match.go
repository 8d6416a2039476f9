package route

import (
	"net/http"
	"net/url"
	"strings"
)

// Lookup returns the entry that serves a request, or nil (404). host must be lowercase and
// without a port. Hostname buckets are tried from the most specific (exact host, then longer
// wildcard suffixes, then routes without hostnames); within a bucket entries are already sorted by
// the spec's precedence, so the first entry that matches wins.
func (t *PortTable) Lookup(host string, r *http.Request) *Entry {
	var q url.Values
	if e := firstMatch(t.Exact[host], r, &q); e != nil {
		return e
	}
	if len(t.Wildcard) > 0 {
		for i := strings.IndexByte(host, '.'); i >= 0; {
			if e := firstMatch(t.Wildcard[host[i:]], r, &q); e != nil {
				return e
			}
			j := strings.IndexByte(host[i+1:], '.')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return firstMatch(t.Any, r, &q)
}

func firstMatch(entries []*Entry, r *http.Request, q *url.Values) *Entry {
	for _, e := range entries {
		if e.Match.Matches(r, q) {
			return e
		}
	}
	return nil
}

// Matches reports whether every condition of m holds for r. q caches the parsed query string
// across the matches of one lookup.
func (m *Match) Matches(r *http.Request, q *url.Values) bool {
	if !m.matchPath(r.URL.Path) {
		return false
	}
	if m.Method != "" && r.Method != m.Method {
		return false
	}
	for i := range m.Headers {
		h := &m.Headers[i]
		v, ok := headerValue(r.Header, h.Name)
		if !ok || !h.matches(v) {
			return false
		}
	}
	if len(m.Query) > 0 {
		if *q == nil {
			*q = r.URL.Query()
		}
		for i := range m.Query {
			p := &m.Query[i]
			vs, ok := (*q)[p.Name]
			// The spec recommends matching the first value of a repeated parameter.
			if !ok || len(vs) == 0 || !p.matches(vs[0]) {
				return false
			}
		}
	}
	return true
}

// headerValue joins repeated headers with "," so a match sees what a single header would carry.
func headerValue(h http.Header, name string) (string, bool) {
	vs, ok := h[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	if len(vs) == 1 {
		return vs[0], true
	}
	return strings.Join(vs, ","), true
}

func (v *ValueMatch) matches(s string) bool {
	if v.Regex != nil {
		return v.Regex.MatchString(s)
	}
	return s == v.Value
}

func (m *Match) matchPath(path string) bool {
	switch m.PathType {
	case PathExact:
		return path == m.Path
	case PathRegex:
		return m.PathRegex.MatchString(path)
	default:
		return PrefixMatches(m.Path, path)
	}
}

// PrefixMatches reports whether prefix (without trailing slash, "" for "/") matches path by
// whole path elements: "/abc" matches "/abc", "/abc/" and "/abc/def" but not "/abcd".
func PrefixMatches(prefix, path string) bool {
	if prefix == "" {
		return true
	}
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || path[len(prefix)] == '/'
}
