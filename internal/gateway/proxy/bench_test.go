package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr"
)

// BenchmarkProxy measures one proxied request over keep-alive loopback connections
// (`go test -bench Proxy -cpuprofile` to see where a request's CPU goes).
func BenchmarkProxy(b *testing.B) {
	a := newEcho(b, "a")
	h := New(discard(), DefaultOptions())
	h.Store(table(prefix("/", rule("r", backend("a", 1, a.addr())))))
	srv := newServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(srv.URL + "/")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}

func discard() logr.Logger { return logr.Discard() }

func newServer(h *Handler) *httptest.Server { return httptest.NewServer(h.ForSocket(sock)) }
