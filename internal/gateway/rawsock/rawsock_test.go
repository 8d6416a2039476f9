package rawsock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c, s
}

func TestReadAndWriteCarryEveryByteBothWays(t *testing.T) {
	a, b := pair(t)
	ra, rb := New(a), New(b)
	// More than a socket buffer holds, so the writer has to wait for room.
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18)
	done := make(chan error, 1)
	go func() {
		n, err := ra.Write(payload)
		if err == nil && n != len(payload) {
			err = io.ErrShortWrite
		}
		done <- err
	}()
	got := make([]byte, 0, len(payload))
	buf := make([]byte, 7000)
	for len(got) < len(payload) {
		n, err := rb.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-done; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("bytes read differ from bytes written")
	}
	_ = a.Close()
	if n, err := rb.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("read after the peer closed: %d, %v; want io.EOF", n, err)
	}
}

func TestDeadlinesAndClosingWorkAsOnNetConn(t *testing.T) {
	a, _ := pair(t)
	ra := New(a)
	_ = a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := ra.Read(make([]byte, 10))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past the deadline: %v, want a timeout", err)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond || waited > 2*time.Second {
		t.Errorf("read returned after %v, want about the deadline", waited)
	}
	_ = a.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = a.Close()
	}()
	if _, err := ra.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read on a connection closed meanwhile: %v, want net.ErrClosed", err)
	}
	if _, err := ra.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write on a closed connection: %v, want net.ErrClosed", err)
	}
}

func TestConnectionsWithoutASocketUseTheirOwnMethods(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = New(a).Write([]byte("piped")) }()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(New(b), buf); err != nil || string(buf) != "piped" {
		t.Errorf("through net.Pipe: %q, %v", buf, err)
	}
}

func TestReadAndWriteRunAtOnceOnOneConn(t *testing.T) {
	a, b := pair(t)
	ra, rb := New(a), New(b)
	payload := bytes.Repeat([]byte("abcdefgh"), 1<<17) // 1 MiB: more than the socket buffers hold
	echo := make(chan error, 1)
	go func() { // b sends everything back as it arrives, reading and writing the same Conn
		buf := make([]byte, 16<<10)
		for copied := 0; copied < len(payload); {
			n, err := rb.Read(buf)
			if err != nil {
				echo <- err
				return
			}
			if _, err := rb.Write(buf[:n]); err != nil {
				echo <- err
				return
			}
			copied += n
		}
		echo <- nil
	}()
	written := make(chan error, 1)
	go func() {
		_, err := ra.Write(payload)
		written <- err
	}()
	got := make([]byte, 0, len(payload))
	buf := make([]byte, 9000)
	for len(got) < len(payload) { // a's Read runs while its Write still waits for room
		n, err := ra.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if err := <-echo; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the echo differs from what was sent")
	}
}

func TestReadAndWriteAllocateNothing(t *testing.T) {
	a, b := pair(t)
	ra, rb := New(a), New(b)
	msg, buf := []byte("ping"), make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := ra.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rb, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a write and a read allocated %.1f times; want 0", allocs)
	}
}

func TestWriteAndAwaitAllocatesNothing(t *testing.T) {
	a, b := pair(t)
	ra := New(a)
	go func() { // b echoes, with net.Conn's own methods (which allocate nothing either)
		buf := make([]byte, 4)
		for {
			if _, err := io.ReadFull(b, buf); err != nil {
				return
			}
			if _, err := b.Write(buf); err != nil {
				return
			}
		}
	}()
	msg, buf := []byte("ping"), make([]byte, 4)
	allocs := testing.AllocsPerRun(200, func() {
		if err := ra.WriteAndAwait(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(ra, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a WriteAndAwait and its read allocated %.1f times; want 0", allocs)
	}
}

func TestWriteAndAwaitReturnsOnceTheAnswerCanBeRead(t *testing.T) {
	a, b := pair(t)
	ra := New(a)
	var answered atomic.Bool
	go func() { // the peer reads the request, thinks a while, answers
		buf := make([]byte, 4)
		if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "ping" {
			return
		}
		time.Sleep(50 * time.Millisecond)
		answered.Store(true)
		_, _ = b.Write([]byte("pong"))
	}()
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ra.WriteAndAwait([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if !answered.Load() {
		t.Fatal("WriteAndAwait returned before the peer answered")
	}
	buf := make([]byte, 8)
	if n, err := ra.Read(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("read %q, %v; want the answer", buf[:n], err)
	}
}

func TestWriteAndAwaitWritesWhatTheSocketCannotHoldAtOnce(t *testing.T) {
	a, b := pair(t)
	ra := New(a)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	received := make(chan []byte, 1)
	go func() { // the peer answers only once it has read everything
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(b, got); err != nil {
			received <- nil
			return
		}
		received <- got
		_, _ = b.Write([]byte("done"))
	}()
	_ = a.SetDeadline(time.Now().Add(10 * time.Second))
	if err := ra.WriteAndAwait(payload); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(ra, buf); err != nil || string(buf) != "done" {
		t.Fatalf("answer %q, %v", buf, err)
	}
	if got := <-received; !bytes.Equal(got, payload) {
		t.Fatal("the peer received something else than was written")
	}
}

func TestWriteAndAwaitEndsAtTheDeadlineOrTheEnd(t *testing.T) {
	a, b := pair(t)
	ra := New(a)
	_ = a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	err := ra.WriteAndAwait([]byte("ping")) // the peer never answers
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer: %v; want a deadline error", err)
	}
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	_ = b.Close() // the peer leaves with the request unread
	if err := ra.WriteAndAwait([]byte("ping")); err != nil {
		var opErr *net.OpError
		if !errors.As(err, &opErr) {
			t.Fatalf("peer gone: %v; want nil (the Read reports it) or a write error", err)
		}
	}
	if _, err := ra.Read(make([]byte, 4)); err == nil {
		t.Fatal("a Read after the peer left found data")
	}
}

func TestWriteAndAwaitWithoutASocketWrites(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = New(a).WriteAndAwait([]byte("piped")) }()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != "piped" {
		t.Errorf("through net.Pipe: %q, %v", buf, err)
	}
}

func TestQuietUntilDataOrTheEndArrives(t *testing.T) {
	a, b := pair(t)
	ra := New(a)
	if !ra.Quiet() {
		t.Fatal("a connection nothing was sent on is not quiet")
	}
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !ra.Quiet() }, "data sent by the peer")
	buf := make([]byte, 1)
	if _, err := ra.Read(buf); err != nil || buf[0] != 'x' {
		t.Fatalf("Quiet consumed the data: read %q, %v", buf, err)
	}
	if !ra.Quiet() {
		t.Fatal("not quiet after the data was read")
	}
	_ = b.Close()
	waitFor(t, func() bool { return !ra.Quiet() }, "the peer closing")
}

// waitFor polls cond for up to 5 s: loopback delivery is quick but not synchronous.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not seen: %s", what)
		}
	}
}

func TestPeerEndedWaitsAndLeavesDataInPlace(t *testing.T) {
	a, b := pair(t)
	ra := New(a)
	_ = a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := ra.PeerEnded(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("nothing sent: %v, want the deadline", err)
	}
	_ = a.SetReadDeadline(time.Time{})
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if ended, err := ra.PeerEnded(); ended || err != nil {
		t.Fatalf("data sent: ended %v, %v; want data, not the end", ended, err)
	}
	buf := make([]byte, 1)
	if _, err := ra.Read(buf); err != nil || buf[0] != 'x' {
		t.Fatalf("PeerEnded consumed the data: read %q, %v", buf, err)
	}
	_ = b.Close()
	if ended, err := ra.PeerEnded(); !ended || err != nil {
		t.Fatalf("peer closed: ended %v, %v; want the end", ended, err)
	}
}
