package proxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/aviary-dev/aviary/internal/gateway/h1"
	"github.com/aviary-dev/aviary/internal/gateway/route"
)

const sock = "127.0.0.1:80"

// echo is a loopback backend that answers with its name and records what it received.
type echo struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newEcho(t testing.TB, name string) *echo {
	e := &echo{name: name}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Clone(r.Context()))
		e.mu.Unlock()
		if d := r.Header.Get("X-Sleep"); d != "" {
			sleep, _ := time.ParseDuration(d)
			select {
			case <-time.After(sleep):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s %s", name, r.Host, r.URL.RequestURI())
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *echo) addr() string { return strings.TrimPrefix(e.srv.URL, "http://") }

func (e *echo) requests() []*http.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*http.Request(nil), e.seen...)
}

func backend(name string, weight uint32, eps ...string) *route.Backend {
	return &route.Backend{Name: name, Weight: weight, Endpoints: eps}
}

func rule(id string, bs ...*route.Backend) *route.Rule {
	r := &route.Rule{ID: id, Backends: bs}
	for _, b := range bs {
		r.TotalWeight += uint64(b.Weight)
	}
	return r
}

// gateway serves one socket of tbl through a real loopback listener and the h1 loop, as the
// gateway's plain sockets are served.
func gateway(t *testing.T, entries ...*route.Entry) (*Handler, string) {
	return gatewayOn(t, viaLoop, entries...)
}

func gatewayOn(t *testing.T, serve serving, entries ...*route.Entry) (*Handler, string) {
	return gatewayWith(t, serve, func(*Handler) {}, entries...)
}

// gatewayWith is gatewayOn with the handler adjusted by set before it serves anything.
func gatewayWith(t *testing.T, serve serving, set func(*Handler), entries ...*route.Entry) (*Handler, string) {
	h := New(logr.Discard(), DefaultOptions())
	set(h)
	h.Store(table(entries...))
	return h, serve(t, h.ForSocket(sock))
}

// serving serves a handler on a loopback socket and returns its URL.
type serving func(t *testing.T, h http.Handler) string

func viaLoop(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := h1.New(h1.Config{
		Handler: h, Fallback: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxBody: MaxDirectBody, Log: logr.Discard(),
	})
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return "http://" + ln.Addr().String()
}

func viaNetHTTP(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// onBothServers runs a forwarding test with the h1 loop in front (the raw answer path) and with
// net/http's server (TLS sockets and handed-over connections: the Header-map path).
func onBothServers(t *testing.T, test func(t *testing.T, serve serving)) {
	t.Run("h1 loop", func(t *testing.T) { test(t, viaLoop) })
	t.Run("net/http", func(t *testing.T) { test(t, viaNetHTTP) })
}

func table(entries ...*route.Entry) *route.Table {
	return &route.Table{Ports: map[string]*route.PortTable{sock: {Any: entries, Port: 80, Scheme: "http"}}}
}

func prefix(p string, r *route.Rule) *route.Entry {
	return &route.Entry{Match: route.Match{PathType: route.PathPrefix, Path: strings.TrimRight(p, "/")}, Rule: r}
}

// answer is what a test reads of a response; the body is already read and closed.
type answer struct {
	StatusCode int
	Header     http.Header
}

func get(t *testing.T, url string, hdr ...string) (*answer, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return &answer{StatusCode: resp.StatusCode, Header: resp.Header}, string(body)
}

var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestStatusForBackendShares(t *testing.T) { onBothServers(t, testStatusForBackendShares) }

func testStatusForBackendShares(t *testing.T, serve serving) {
	a := newEcho(t, "a")
	_, url := gatewayOn(t, serve,
		prefix("/split", rule("split", backend("ok", 1, a.addr()), invalid("invalid", 1), backend("dark", 0, a.addr()))),
		prefix("/empty", rule("empty", backend("no-endpoints", 1))),
		prefix("/none", rule("none")),
	)
	codes := map[int]int{}
	for range 400 {
		resp, _ := get(t, url+"/split")
		codes[resp.StatusCode]++
	}
	if codes[200]+codes[500] != 400 || codes[200] < 150 || codes[500] < 150 {
		t.Errorf("50/50 split of a valid and an invalid backend gave %v", codes)
	}
	if resp, _ := get(t, url+"/empty"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("backend without endpoints: %d, want 503", resp.StatusCode)
	}
	if resp, _ := get(t, url+"/none"); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("rule without backends: %d, want 500", resp.StatusCode)
	}
}

// invalid is a backend the compiler could not resolve: it answers 500 for its share.
func invalid(name string, weight uint32) *route.Backend {
	b := backend(name, weight)
	b.Status = http.StatusInternalServerError
	return b
}

func TestNoRouteIs404(t *testing.T) {
	a := newEcho(t, "a")
	_, url := gateway(t, &route.Entry{Match: route.Match{PathType: route.PathExact, Path: "/only"}, Rule: rule("r", backend("a", 1, a.addr()))})
	if resp, _ := get(t, url+"/other"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unmatched path: %d, want 404", resp.StatusCode)
	}
	if resp, body := get(t, url+"/only"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "a ") {
		t.Errorf("matched path: %d %q", resp.StatusCode, body)
	}
}

func TestHeaderModifiers(t *testing.T) { onBothServers(t, testHeaderModifiers) }

func testHeaderModifiers(t *testing.T, serve serving) {
	a := newEcho(t, "a")
	r := rule("r", backend("a", 1, a.addr()))
	r.RequestHeaders = &route.HeaderModifier{
		Set: []route.Header{{Name: "X-Set", Value: "set"}}, Add: []route.Header{{Name: "X-Add", Value: "added"}}, Remove: []string{"X-Remove"},
	}
	r.ResponseHeaders = &route.HeaderModifier{Set: []route.Header{{Name: "X-Backend", Value: "hidden"}}, Add: []route.Header{{Name: "X-Resp", Value: "r"}}}
	r.Backends[0].RequestHeaders = &route.HeaderModifier{Set: []route.Header{{Name: "X-Backend-Filter", Value: "b"}}}
	_, url := gatewayOn(t, serve, prefix("/", r))
	resp, _ := get(t, url+"/", "X-Set", "old", "X-Add", "orig", "X-Remove", "gone")
	if resp.Header.Get("X-Backend") != "hidden" || resp.Header.Get("X-Resp") != "r" {
		t.Errorf("response headers not modified: %v", resp.Header)
	}
	got := a.requests()[0].Header
	if got.Get("X-Set") != "set" || got.Get("X-Add") != "orig,added" || got.Get("X-Remove") != "" || got.Get("X-Backend-Filter") != "b" {
		t.Errorf("request headers at the backend: %v", got)
	}
}

func TestFilterValuesCannotBreakTheRequestHead(t *testing.T) {
	onBothServers(t, testFilterValuesCannotBreakTheRequestHead)
}

func testFilterValuesCannotBreakTheRequestHead(t *testing.T, serve serving) {
	a := newEcho(t, "a")
	r := rule("r", backend("a", 1, a.addr()))
	r.RequestHeaders = &route.HeaderModifier{Set: []route.Header{{Name: "X-Set", Value: "a\r\nX-Injected: 1\nb"}}}
	_, url := gatewayOn(t, serve, prefix("/", r))
	if resp, _ := get(t, url+"/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := a.requests()[0].Header
	if got.Get("X-Set") != "a  X-Injected: 1 b" || got.Get("X-Injected") != "" {
		t.Errorf("a filter's line breaks reached the backend as a field of their own: %v", got)
	}
}

func TestRedirects(t *testing.T) {
	cases := []struct {
		rd   route.Redirect
		path string
		want string
	}{
		{route.Redirect{Hostname: "example.org", StatusCode: 301}, "/a?x=1", "http://example.org/a?x=1"},
		{route.Redirect{Scheme: "https", StatusCode: 302}, "/a", "https://gw.test/a"},
		{route.Redirect{Port: 8443, StatusCode: 302}, "/a", "http://gw.test:8443/a"},
		{route.Redirect{StatusCode: 302, Path: route.PathModifier{Type: route.PathReplacePrefix, Value: "/new"}}, "/old/x", "http://gw.test/new/x"},
		{route.Redirect{StatusCode: 307, Path: route.PathModifier{Type: route.PathReplaceFull, Value: "/full"}}, "/old/x", "http://gw.test/full"},
	}
	for _, c := range cases {
		r := rule("r")
		rd := c.rd
		r.Redirect = &rd
		_, url := gateway(t, prefix("/old", r), prefix("/", r))
		req, _ := http.NewRequest(http.MethodGet, url+c.path, nil)
		req.Host = "gw.test"
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.rd.StatusCode || resp.Header.Get("Location") != c.want {
			t.Errorf("%+v %s: %d %q, want %d %q", c.rd, c.path, resp.StatusCode, resp.Header.Get("Location"), c.rd.StatusCode, c.want)
		}
	}
}

func TestURLRewrite(t *testing.T) {
	a := newEcho(t, "a")
	cases := []struct{ prefix, replace, path, want string }{
		{"/foo", "/xyz", "/foo/bar", "/xyz/bar"},
		{"/foo", "/xyz/", "/foo/bar", "/xyz/bar"},
		{"/foo", "/", "/foo/bar", "/bar"},
		{"/foo", "/", "/foo", "/"},
		{"/", "/xyz", "/bar", "/xyz/bar"},
		{"/foo", "/xyz", "/foo", "/xyz"},
	}
	for _, c := range cases {
		r := rule("r", backend("a", 1, a.addr()))
		r.Rewrite = &route.Rewrite{Hostname: "rewritten.test", Path: route.PathModifier{Type: route.PathReplacePrefix, Value: c.replace}}
		_, url := gateway(t, prefix(c.prefix, r))
		_, body := get(t, url+c.path)
		if want := "a rewritten.test " + c.want; body != want {
			t.Errorf("prefix %s -> %s, %s: got %q, want %q", c.prefix, c.replace, c.path, body, want)
		}
	}
}

func TestMirror(t *testing.T) {
	a, m := newEcho(t, "a"), newEcho(t, "mirror")
	r := rule("r", backend("a", 1, a.addr()))
	r.Mirrors = []route.Mirror{{Backend: backend("m", 1, m.addr()), Numerator: 1, Denominator: 1}}
	_, url := gateway(t, prefix("/", r))
	req, _ := http.NewRequest(http.MethodPost, url+"/mirrored", strings.NewReader("payload"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.HasPrefix(string(body), "a ") {
		t.Fatalf("main request answered %q", body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(m.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := m.requests(); len(got) != 1 || got[0].URL.Path != "/mirrored" {
		t.Fatalf("mirror received %d requests", len(got))
	}
	if got := a.requests(); len(got) != 1 {
		t.Fatalf("backend received %d requests", len(got))
	}
}

func TestTimeoutIs504(t *testing.T) { onBothServers(t, testTimeoutIs504) }

func testTimeoutIs504(t *testing.T, serve serving) {
	a := newEcho(t, "a")
	r := rule("r", backend("a", 1, a.addr()))
	r.Timeout = 50 * time.Millisecond
	_, url := gatewayOn(t, serve, prefix("/", r))
	if resp, _ := get(t, url+"/", "X-Sleep", "2s"); resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("slow backend: %d, want 504", resp.StatusCode)
	}
}

func TestPerUserStickiness(t *testing.T) {
	a, b := newEcho(t, "a"), newEcho(t, "b")
	r := rule("r", backend("ns/a:80", 50, a.addr()), backend("ns/b:80", 50, b.addr()))
	r.UserKey = &route.UserKey{Source: route.UserKeyHeader, Name: "X-User"}
	_, url := gateway(t, prefix("/", r))
	seen := map[string]bool{}
	for u := range 20 {
		user := fmt.Sprintf("user-%d", u)
		first := ""
		for range 10 {
			resp, _ := get(t, url+"/", "X-User", user)
			got := resp.Header.Get("X-Backend")
			if first == "" {
				first = got
			}
			if got != first {
				t.Fatalf("%s went to %s then %s", user, first, got)
			}
		}
		seen[first] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("20 users at 50/50 all landed on %v", seen)
	}
}

// TestHitlessSwap keeps clients busy while the table is swapped hundreds of times (a canary
// weight moving 0 -> 100): not one request fails, and the last table is obeyed at once.
func TestHitlessSwap(t *testing.T) {
	a, b := newEcho(t, "stable"), newEcho(t, "canary")
	h, url := gateway(t, prefix("/", rule("r", backend("stable", 100, a.addr()), backend("canary", 0, b.addr()))))
	var failures, total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(url + "/")
				total.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	for w := uint32(0); w <= 100; w++ {
		h.Store(table(prefix("/", rule("r", backend("stable", 100-w, a.addr()), backend("canary", w, b.addr())))))
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || total.Load() < 100 {
		t.Fatalf("%d of %d requests failed during the swaps", failures.Load(), total.Load())
	}
	for range 20 {
		if resp, _ := get(t, url+"/"); resp.Header.Get("X-Backend") != "canary" {
			t.Fatalf("after the last swap (canary 100%%) a request went to %s", resp.Header.Get("X-Backend"))
		}
	}
}

func TestRuleFail(t *testing.T) {
	r := rule("r")
	r.Fail = http.StatusInternalServerError
	_, url := gateway(t, prefix("/", r))
	if resp, _ := get(t, url+"/"); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("rule with an unsupported filter: %d, want 500", resp.StatusCode)
	}
}
