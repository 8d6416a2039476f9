// Package rawsock reads and writes a TCP socket with raw system calls. net.Conn's Read and
// Write enter the scheduler's system-call state on every call; with one P (GOMAXPROCS=1, the
// gateway's per-core figure) the runtime's monitor takes the P away from a write that runs
// over one of its ticks (a loopback write carries the receiver's TCP work, tens of µs) and
// hands it to another thread, and the thread switches that follow cost more than the write.
// A non-blocking socket never blocks in read(2) or write(2), so these calls need no such
// state: the connection's poller still waits (deadlines included) when there is nothing to
// read or no room to write.
package rawsock

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Conn reads and writes conn's socket directly; it falls back to conn's own methods when conn
// has no socket (a TLS or in-memory connection). A Read may run while a Write does, but not
// while another Read does (nor a Write while another Write does): each direction keeps its call
// in the Conn, so that a call allocates nothing.
type Conn struct {
	conn        net.Conn
	rc          syscall.RawConn
	read, write call
	send        sendCall
}

// call is one direction's system call with its arguments and results, and the function the
// poller runs, made once.
type call struct {
	trap  uintptr
	p     []byte
	n     int
	errno syscall.Errno
	try   func(fd uintptr) bool
}

// ReadWrite makes the read or write system call trap (syscall.SYS_READ or SYS_WRITE) on fd with
// p, again when interrupted, without entering the scheduler's system-call state: fd must be
// non-blocking. p must not be empty.
func ReadWrite(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p))) //nolint:gosec // p is non-empty and outlives the call
		switch e {
		case syscall.EINTR:
			continue
		case 0:
			return int(r), 0
		}
		return 0, e
	}
}

// attempt makes the system call once the poller says the socket is ready; false asks the poller
// to wait for readiness (EAGAIN) and to call again.
func (c *call) attempt(fd uintptr) bool {
	c.n, c.errno = ReadWrite(c.trap, fd, c.p)
	return c.errno != syscall.EAGAIN
}

// prepare sets the buffer of the next call; done takes its results and lets go of the buffer.
func (c *call) prepare(p []byte) func(fd uintptr) bool { c.p = p; return c.try }

func (c *call) done() (int, syscall.Errno) {
	c.p = nil
	return c.n, c.errno
}

// sendCall is WriteAndAwait's state: what is left to write, and how the writing ended.
type sendCall struct {
	p       []byte
	written bool // all of p is out: the next call means the socket is readable
	errno   syscall.Errno
	try     func(fd uintptr) bool
}

// attempt writes what is left of p on the first call and asks the poller to wait for
// readability (false); once woken it reports readability (true). It stops early, p keeping
// what is left, when the socket has no room (EAGAIN) or the write fails.
func (s *sendCall) attempt(fd uintptr) bool {
	if s.written {
		return true
	}
	for len(s.p) > 0 {
		n, e := ReadWrite(syscall.SYS_WRITE, fd, s.p)
		if e != 0 { // EAGAIN included: Write waits for room outside the read wait
			s.errno = e
			return true
		}
		s.p = s.p[n:]
	}
	s.written = true
	return false
}

// New returns a Conn for conn.
func New(conn net.Conn) *Conn {
	c := &Conn{conn: conn, read: call{trap: syscall.SYS_READ}, write: call{trap: syscall.SYS_WRITE}}
	c.read.try, c.write.try, c.send.try = c.read.attempt, c.write.attempt, c.send.attempt
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
		}
	}
	return c
}

// Socket reports whether the Conn has a socket of its own to read (Quiet and PeerEnded need one).
func (c *Conn) Socket() bool { return c.rc != nil }

// peek looks at the socket without taking anything from it and without waiting: arrived is
// false while nothing has (neither data nor its end nor a reset); ended says the peer ended
// the stream or reset it.
func peek(fd uintptr) (arrived, ended bool) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if errors.Is(err, syscall.EAGAIN) {
		return false, false
	}
	return true, err != nil || n == 0
}

// Quiet reports whether nothing at all has arrived on the socket, without waiting and without
// reading: a kept-alive connection whose peer may have closed it while it sat idle is fit for
// another request only then. A connection without a socket is taken as quiet.
func (c *Conn) Quiet() bool {
	if c.rc == nil {
		return true
	}
	arrived := true
	err := c.rc.Control(func(fd uintptr) { arrived, _ = peek(fd) })
	return err == nil && !arrived
}

// PeerEnded waits until something arrives on the socket or its read deadline passes, and
// reports whether the peer ended the stream or reset it; data that arrives stays in place for
// the next Read. It needs a socket (Socket).
func (c *Conn) PeerEnded() (bool, error) {
	if c.rc == nil {
		return false, c.opError("read", errors.ErrUnsupported)
	}
	ended := false
	err := c.rc.Read(func(fd uintptr) bool {
		var arrived bool
		arrived, ended = peek(fd)
		return arrived // nothing yet: the poller waits until the socket is readable
	})
	if err != nil {
		return false, c.opError("read", err)
	}
	return ended, nil
}

// Read reads like conn.Read.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rc == nil || len(p) == 0 {
		return c.conn.Read(p)
	}
	err := c.rc.Read(c.read.prepare(p))
	n, errno := c.read.done()
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p like conn.Write.
func (c *Conn) Write(p []byte) (int, error) {
	if c.rc == nil {
		return c.conn.Write(p)
	}
	written := 0
	for written < len(p) {
		err := c.rc.Write(c.write.prepare(p[written:]))
		n, errno := c.write.done()
		written += n
		switch {
		case err != nil:
			return written, c.opError("write", err)
		case errno != 0:
			return written, c.opError("write", os.NewSyscallError("write", errno))
		}
	}
	return written, nil
}

// WriteAndAwait writes all of p, a request, and waits until its answer can be read, without
// reading it. A Read after a Write tries a read(2) before it waits, which finds nothing when the
// peer has not answered yet: the poller forgets what readiness it saw at the start of every
// Read, so a read has to show whether data came before. Here the write happens inside the wait,
// after that point, and nothing the answer sends can be missed: the Read that follows finds it
// at its first try. When p does not fit the socket's buffer it returns once p is written, and
// the Read waits as usual. No other Write may run meanwhile.
func (c *Conn) WriteAndAwait(p []byte) error {
	if c.rc == nil {
		_, err := c.conn.Write(p)
		return err
	}
	c.send.p, c.send.written, c.send.errno = p, false, 0
	err := c.rc.Read(c.send.try)
	rest, errno := c.send.p, c.send.errno
	c.send.p = nil
	switch {
	case errno == syscall.EAGAIN: // no room for all of p: finish the usual way
		_, err = c.Write(rest)
		return err
	case errno != 0:
		return c.opError("write", os.NewSyscallError("write", errno))
	case err != nil:
		return c.opError("read", err)
	}
	return nil
}

// opError wraps err as net.Conn's methods do, so errors.Is(err, os.ErrDeadlineExceeded) and
// net.Error's Timeout work alike.
func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: err}
}
