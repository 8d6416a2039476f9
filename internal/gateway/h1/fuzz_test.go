package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzConnection sends arbitrary bytes as a client would: whatever they are, the server answers
// with a well-formed status line or closes the connection, and keeps serving others.
func FuzzConnection(f *testing.F) {
	for _, seed := range []string{
		get("/"),
		get("/a") + get("/b"),
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nhost:\r\n\r\n",
		"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET  HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x00",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	_, addr := serve(f, servedBy())
	f.Fuzz(func(t *testing.T, input []byte) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write(input)
		_ = c.(*net.TCPConn).CloseWrite() // nothing more comes: the server need not wait for it
		if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			if !strings.HasPrefix(line, "HTTP/1.") || len(line) < 12 {
				t.Fatalf("answer to %q starts %q", input, line)
			}
		} else if err != io.EOF && !isTimeout(err) {
			t.Fatalf("reading the answer to %q: %v", input, err)
		}
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("server no longer serves after %q: %v", input, err)
		}
		_ = resp.Body.Close()
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
