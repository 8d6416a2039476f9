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
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Conn reads and writes conn's socket directly; it falls back to conn's own methods when conn
// has no socket (a TLS or in-memory connection).
type Conn struct {
	conn net.Conn
	rc   syscall.RawConn
}

// New returns a Conn for conn.
func New(conn net.Conn) *Conn {
	c := &Conn{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc = rc
		}
	}
	return c
}

// RawConn returns the connection's raw socket, nil when it has none.
func (c *Conn) RawConn() syscall.RawConn { return c.rc }

// Read reads like conn.Read.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rc == nil || len(p) == 0 {
		return c.conn.Read(p)
	}
	var (
		n     int
		errno syscall.Errno
	)
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			n, errno = int(r), e
			if e != syscall.EINTR {
				return e != syscall.EAGAIN
			}
		}
	})
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
	var errno syscall.Errno
	for written < len(p) && errno == 0 {
		err := c.rc.Write(func(fd uintptr) bool {
			for {
				rest := p[written:]
				r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)))
				switch e {
				case syscall.EINTR:
					continue
				case syscall.EAGAIN:
					return false // no room: wait until the socket is writable
				case 0:
					written += int(r)
					return true
				}
				errno = e
				return true
			}
		})
		if err != nil {
			return written, c.opError("write", err)
		}
	}
	if errno != 0 {
		return written, c.opError("write", os.NewSyscallError("write", errno))
	}
	return written, nil
}

// opError wraps err as net.Conn's methods do, so errors.Is(err, os.ErrDeadlineExceeded) and
// net.Error's Timeout work alike.
func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: err}
}
