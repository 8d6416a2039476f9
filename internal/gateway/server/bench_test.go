package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// BenchmarkGatewayRequest measures one request through an open socket (the h1 loop, the proxy,
// a pooled backend connection) on loopback keep-alive connections; run with -benchmem,
// -cpuprofile or -memprofile to see where a request's CPU and allocations go.
func BenchmarkGatewayRequest(b *testing.B) {
	_, _, sock := start(b, slowBackend(b, 0), DefaultLimits())
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.DialTimeout("tcp", sock, 5*time.Second)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req := []byte("GET /bench HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
}
