package h1

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkKeepAliveRequest measures one request and its answer through the loop on a kept-alive
// loopback connection, the client waiting for each answer before the next request (run it with
// -cpu 1 for the gateway's one-P figure). The handler does nothing but answer 256 bytes: what is
// left is the loop's work, the client's and the kernel's.
func BenchmarkKeepAliveRequest(b *testing.B) {
	body := strings.Repeat("x", 256)
	_, addr := serve(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "256")
		_, _ = io.WriteString(w, body)
	}))
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /bench HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	// Every answer is as long as the first (the Date field keeps its length).
	answer := make([]byte, 4096)
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	n, err := io.ReadAtLeast(c, answer, 1)
	for err == nil && !strings.HasSuffix(string(answer[:n]), body) {
		var more int
		more, err = c.Read(answer[n:])
		n += more
	}
	if err != nil {
		b.Fatal(err)
	}
	answer = answer[:n]
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, answer); err != nil {
			b.Fatal(err)
		}
	}
}
