package h1

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// smallBuffers makes a socket's kernel buffers small, so that an answer waits for its reader
// after tens of kilobytes rather than megabytes.
func smallBuffers(_, _ string, rc syscall.RawConn) error {
	var err error
	_ = rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 16<<10)
		if err == nil {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		}
	})
	return err
}

// serveSmallBuffers is serve with small socket buffers (accepted sockets take the listener's)
// and the given send timeout.
func serveSmallBuffers(t *testing.T, h http.Handler, send time.Duration) string {
	t.Helper()
	ln, err := (&net.ListenConfig{Control: smallBuffers}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{
		Handler:           h,
		Fallback:          &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second},
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second,
		SendTimeout:       send,
		MaxBody:           64 << 10,
	})
	done := start(s, ln)
	t.Cleanup(func() {
		_ = s.Close()
		servingEnded(t, done, "after Close")
	})
	return ln.Addr().String()
}

// largeAnswer writes size bytes in 64 KiB pieces and reports how the writing ended.
func largeAnswer(size int, ended chan<- error) http.Handler {
	piece := make([]byte, 64<<10)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for left := size; left > 0; left -= len(piece) {
			if _, err := w.Write(piece[:min(left, len(piece))]); err != nil {
				ended <- err
				return
			}
		}
		ended <- nil
	})
}

func dialSmallBuffers(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{Control: smallBuffers}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A client that stops reading its answer loses the connection after the send timeout, whether
// the loop serves it or net/http does (HTTP/1.0 is handed over): the handler's write fails
// instead of waiting for ever.
func TestAClientThatStopsReadingLosesItsConnection(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		t.Run(proto, func(t *testing.T) {
			ended := make(chan error, 1)
			addr := serveSmallBuffers(t, largeAnswer(16<<20, ended), 200*time.Millisecond)
			c := dialSmallBuffers(t, addr)
			if _, err := io.WriteString(c, "GET / "+proto+"\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			select { // and never read
			case err := <-ended:
				if err == nil {
					t.Fatal("the whole answer was written to a client that read none of it")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the answer's writes still wait for a client that stopped reading")
			}
			// What was sent before the cut can still be read; then the connection is gone.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := io.Copy(io.Discard, c)
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				t.Fatal("the connection stayed open after its write was cut")
			}
		})
	}
}

// The send timeout bounds each write, not the answer: a client that reads slowly but steadily
// takes a whole answer that lasts longer than the timeout.
func TestASlowReaderTakesTheWholeAnswer(t *testing.T) {
	const size = 4 << 20
	ended := make(chan error, 1)
	addr := serveSmallBuffers(t, largeAnswer(size, ended), 300*time.Millisecond)
	c := dialSmallBuffers(t, addr)
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	buf := make([]byte, 64<<10)
	got := 0
	for {
		n, err := c.Read(buf)
		got += n
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		if got >= size { // the body and its head
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("the handler's write failed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler is still writing an answer that was read whole")
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("the answer took %v, less than the send timeout: the test shows nothing", took)
	}
}

// BoundSendsListener's connections (the gateway's TLS sockets are served through it) fail a
// write that a peer leaves waiting past the bound.
func TestBoundSendsListenerEndsWritesThatWaitTooLong(t *testing.T) {
	inner, err := (&net.ListenConfig{Control: smallBuffers}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if BoundSendsListener(inner, 0) != inner {
		t.Error("a bound of 0 changed the listener")
	}
	ln := BoundSendsListener(inner, 100*time.Millisecond)
	defer ln.Close()
	ended := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ended <- err
			return
		}
		defer c.Close()
		piece := make([]byte, 64<<10)
		for i := 0; i < 256; i++ {
			if _, err := c.Write(piece); err != nil {
				ended <- err
				return
			}
		}
		ended <- nil
	}()
	_ = dialSmallBuffers(t, ln.Addr().String()) // and never read
	select {
	case err := <-ended:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("writing to a peer that reads nothing ended with %v, want a deadline error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writes still wait for a peer that reads nothing")
	}
}
