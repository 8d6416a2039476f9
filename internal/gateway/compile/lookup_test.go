package compile

import (
	"net/http/httptest"
	"testing"
)

// TestLookupPrecedence drives compiled tables of the golden worlds with requests and checks
// which rule serves each, following the spec's precedence.
func TestLookupPrecedence(t *testing.T) {
	cases := []struct {
		world, socket, method, target string
		headers                       map[string]string
		want                          string // rule ID, or "" for 404
	}{
		{"precedence", "127.0.0.50:80", "GET", "/api/exact", nil, "default/b-newer/0"},
		{"precedence", "127.0.0.50:80", "GET", "/api/exact/", nil, "default/a-older/0"}, // Exact is exact
		{"precedence", "127.0.0.50:80", "POST", "/api/x", nil, "default/b-newer/0"},     // method beats headers
		{"precedence", "127.0.0.50:80", "GET", "/api/x", map[string]string{"x-one": "1", "X-Two": "2"}, "default/b-newer/0"},
		{"precedence", "127.0.0.50:80", "GET", "/api/x", map[string]string{"x-one": "1"}, "default/a-older/0"}, // headers are ANDed
		{"precedence", "127.0.0.50:80", "GET", "/api?q=v", nil, "default/b-newer/0"},
		{"precedence", "127.0.0.50:80", "GET", "/api?q=v&q=w", nil, "default/b-newer/0"}, // first value counts
		{"precedence", "127.0.0.50:80", "GET", "/api?q=w&q=v", nil, "default/a-older/0"},
		{"precedence", "127.0.0.50:80", "GET", "/api", nil, "default/a-older/0"},  // tie: older route wins
		{"precedence", "127.0.0.50:80", "GET", "/apix", nil, "default/a-older/1"}, // prefix by whole segments
		{"precedence", "127.0.0.50:80", "GET", "/", nil, "default/a-older/1"},
		{"precedence", "127.0.0.50:80", "GET", "http://foo.example.com/v2/x", nil, "other/hosts/0"},    // hostname first
		{"precedence", "127.0.0.50:80", "GET", "http://FOO.example.com:80/v2/x", nil, "other/hosts/0"}, // case and port ignored
		{"precedence", "127.0.0.50:80", "GET", "http://a.b.bar.example.com/v1/", nil, "other/hosts/0"}, // wildcard, several labels
		{"precedence", "127.0.0.50:80", "GET", "http://foo.example.com/api", nil, "default/a-older/0"}, // falls through to any-host
		{"precedence", "127.0.0.50:80", "GET", "http://example.com/v2/x", nil, "default/a-older/1"},    // wildcard excludes apex
		{"precedence", "127.0.0.50:80", "GET", "http://foo.example.com/v2", nil, "default/a-older/1"},  // regex is a full match
		{"precedence", "127.0.0.50:8080", "GET", "/", nil, ""},
		{"invalid", "127.0.100.1:80", "GET", "http://app.example.com/ok/1", nil, "default/partly-bad/1"},
		{"invalid", "127.0.100.1:80", "GET", "http://other.example.com/ok/1", nil, ""}, // listener hostname
		{"invalid", "127.0.100.1:80", "GET", "http://app.example.com/none", nil, "default/no-backends/0"},
	}
	tables := map[string]*Output{}
	for _, c := range cases {
		out := tables[c.world]
		if out == nil {
			out = Compile(loadInput(t, "testdata/"+c.world+".in.yaml"))
			tables[c.world] = out
		}
		r := httptest.NewRequest(c.method, c.target, nil)
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
		pt := out.Table.Ports[c.socket]
		if pt == nil {
			t.Fatalf("%s: no socket %s", c.world, c.socket)
		}
		got := ""
		if e := pt.Lookup(hostForTest(r.Host), r); e != nil {
			got = e.Rule.ID
		}
		if got != c.want {
			t.Errorf("%s %s %s %v: served by %q, want %q", c.world, c.method, c.target, c.headers, got, c.want)
		}
	}
}
