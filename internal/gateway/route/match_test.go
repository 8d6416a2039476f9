package route

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestPrefixMatches(t *testing.T) {
	cases := []struct {
		prefix, path string
		want         bool
	}{
		{"", "/", true}, {"", "/anything", true},
		{"/abc", "/abc", true}, {"/abc", "/abc/", true}, {"/abc", "/abc/def", true},
		{"/abc", "/abcd", false}, {"/abc", "/ab", false}, {"/abc", "/Abc", false},
		{"/a/b", "/a/b/c", true}, {"/a/b", "/a/bc", false},
	}
	for _, c := range cases {
		if got := PrefixMatches(c.prefix, c.path); got != c.want {
			t.Errorf("PrefixMatches(%q, %q) = %v, want %v", c.prefix, c.path, got, c.want)
		}
	}
}

func TestMatchConditionsAreANDed(t *testing.T) {
	m := Match{
		PathType: PathExact, Path: "/x", Method: "PUT",
		Headers: []ValueMatch{{Name: "X-A", Value: "1"}, {Name: "X-B", Regex: regexp.MustCompile(`^(?:v[0-9])$`)}},
		Query:   []ValueMatch{{Name: "q", Value: "1"}},
	}
	base := func() *http.Request {
		r := httptest.NewRequest(http.MethodPut, "/x?q=1", nil)
		r.Header.Set("X-A", "1")
		r.Header.Set("X-B", "v7")
		return r
	}
	var q url.Values
	if !m.Matches(base(), &q) {
		t.Fatal("all conditions hold but no match")
	}
	breakers := map[string]func(*http.Request){
		"method":       func(r *http.Request) { r.Method = http.MethodGet },
		"path":         func(r *http.Request) { r.URL.Path = "/x/" },
		"header value": func(r *http.Request) { r.Header.Set("X-A", "2") },
		"header gone":  func(r *http.Request) { r.Header.Del("X-A") },
		"regex":        func(r *http.Request) { r.Header.Set("X-B", "xv7") },
		"query":        func(r *http.Request) { r.URL.RawQuery = "q=2" },
	}
	for name, br := range breakers {
		r := base()
		br(r)
		var q url.Values
		if m.Matches(r, &q) {
			t.Errorf("%s broken but still matches", name)
		}
	}
}

// segmentPrefix is the reference: prefix matches when its path elements begin path's elements.
func segmentPrefix(prefix, path string) bool {
	ps := strings.Split(strings.Trim(prefix, "/"), "/")
	xs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if prefix == "" || strings.Trim(prefix, "/") == "" {
		return true
	}
	xs = xs[1:] // leading empty element of an absolute path
	if len(xs) < len(ps) {
		return false
	}
	for i := range ps {
		if ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// FuzzPrefixMatches checks element-wise prefix matching against the reference on absolute paths.
func FuzzPrefixMatches(f *testing.F) {
	for _, s := range [][2]string{{"/abc", "/abc/def"}, {"/abc", "/abcd"}, {"/a/b", "/a/b/"}, {"", "/"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, path string) {
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "//") || strings.Contains(prefix, "//") {
			return
		}
		if prefix != "" && (!strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/")) {
			return // compiled prefixes are absolute and carry no trailing slash
		}
		if got, want := PrefixMatches(prefix, path), segmentPrefix(prefix, path); got != want {
			t.Fatalf("PrefixMatches(%q, %q) = %v, reference says %v", prefix, path, got, want)
		}
	})
}

// FuzzLookup feeds arbitrary hosts, paths, headers and queries to a table: lookup must never
// panic, and whatever it returns must really match the request.
func FuzzLookup(f *testing.F) {
	rule := &Rule{ID: "r"}
	pt := &PortTable{
		Exact:    map[string][]*Entry{"a.example.com": {{Match: Match{PathType: PathExact, Path: "/x"}, Rule: rule}}},
		Wildcard: map[string][]*Entry{".example.com": {{Match: Match{PathType: PathRegex, PathRegex: regexp.MustCompile(`^(?:/v[0-9]+.*)$`)}, Rule: rule}}},
		Any: []*Entry{
			{Match: Match{PathType: PathPrefix, Path: "/api", Headers: []ValueMatch{{Name: "X-Env", Value: "canary"}}}, Rule: rule},
			{Match: Match{PathType: PathPrefix, Path: "/q", Query: []ValueMatch{{Name: "k", Regex: regexp.MustCompile(`^(?:[a-z]+)$`)}}}, Rule: rule},
		},
	}
	f.Add("a.example.com", "/x", "canary", "k=v")
	f.Add("b.c.example.com", "/v12/z", "", "")
	f.Add("", "/api/x", "canary", "k=%zz")
	f.Fuzz(func(t *testing.T, host, path, env, query string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		if env != "" {
			r.Header.Set("X-Env", env)
		}
		e := pt.Lookup(host, r)
		if e == nil {
			return
		}
		var q url.Values
		if !e.Match.Matches(r, &q) {
			t.Fatalf("lookup returned an entry that does not match %q %q", host, path)
		}
	})
}
