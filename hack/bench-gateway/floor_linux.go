package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/aviary-dev/aviary/internal/gateway/h1"
	"github.com/aviary-dev/aviary/internal/gateway/rawsock"
)

// The floor proxy is the least work a proxy hop can do, run beside the gateway and nginx so that
// every report shows what this machine adds to any hop at the same load: an edge-triggered epoll
// loop on one goroutine, a request head copied to a backend connection with X-Forwarded-For
// added, the answer copied back once its Content-Length has arrived. Backend connections are
// kept for the next request, the most recently used first, as the gateway and nginx keep theirs:
// a connection per client would cost the kernel more than either proxy pays. No routing, no
// checks, no timeouts: bodiless requests and answers framed by Content-Length only; anything
// else ends the connection, which wrk reports as an error.
type floorProxy struct {
	epfd    int
	lfd     int // the listening socket
	backend syscall.Sockaddr
	conns   map[int]*floorConn // by file descriptor
	idle    []*floorConn       // backend connections without a request, most recently used last
}

// floorConn is a client connection or a backend connection; peer is the other end of the
// request in flight, nil between requests.
type floorConn struct {
	fd     int
	peer   *floorConn
	client bool
	in     []byte // read, not yet forwarded
	out    []byte // the request head being built (client side)
	from   string // the client's IP, for X-Forwarded-For
	more   bool   // client side: it became readable while its request was out (an edge is reported once)
}

// runFloor serves listen, forwarding to backend ("ip:port"), until the process ends.
func runFloor(listen, backend string) error {
	ba, err := net.ResolveTCPAddr("tcp4", backend)
	if err != nil {
		return err
	}
	lfd, err := listenFD(listen)
	if err != nil {
		return err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	p := &floorProxy{epfd: epfd, lfd: lfd, backend: sockaddr4(ba), conns: map[int]*floorConn{}}
	if err := p.watch(lfd); err != nil {
		return err
	}
	return p.loop()
}

// loop waits for the epoll set through Go's poller (the epoll fd is readable when it has events),
// so the goroutine parks like any other instead of blocking a thread in epoll_wait.
func (p *floorProxy) loop() error {
	if err := syscall.SetNonblock(p.epfd, true); err != nil {
		return err
	}
	rc, err := os.NewFile(uintptr(p.epfd), "epoll").SyscallConn()
	if err != nil {
		return err
	}
	events := make([]syscall.EpollEvent, 256)
	for {
		n := 0
		var waitErr error
		if err := rc.Read(func(fd uintptr) bool {
			n, waitErr = syscall.EpollWait(int(fd), events, 0)
			return waitErr != nil || n > 0
		}); err != nil {
			return err
		}
		if waitErr != nil && !errors.Is(waitErr, syscall.EINTR) {
			return waitErr
		}
		for _, ev := range events[:max(n, 0)] {
			p.dispatch(int(ev.Fd))
		}
	}
}

func (p *floorProxy) dispatch(fd int) {
	if fd == p.lfd {
		p.acceptAll()
		return
	}
	c := p.conns[fd]
	switch {
	case c == nil:
	case c.client:
		p.clientReadable(c)
	default:
		p.backendReadable(c)
	}
}

func (p *floorProxy) watch(fd int) error {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(fd)}
	return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// epollET is EPOLLET as the uint32 of an EpollEvent (the syscall constant is a negative int).
const epollET = 1 << 31

// acceptAll takes every waiting client.
func (p *floorProxy) acceptAll() {
	for {
		cfd, sa, err := syscall.Accept4(p.lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: no more for now
		}
		_ = syscall.SetsockoptInt(cfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		c := &floorConn{fd: cfd, client: true, in: make([]byte, 0, 4<<10), from: ipOf(sa)}
		p.conns[cfd] = c
		if p.watch(cfd) != nil {
			p.closePair(c)
		}
	}
}

// takeBackend returns the most recently used idle backend connection, or a new one; nil when
// the backend cannot be reached.
func (p *floorProxy) takeBackend() *floorConn {
	if k := len(p.idle); k > 0 {
		b := p.idle[k-1]
		p.idle = p.idle[:k-1]
		return b
	}
	bfd, err := p.dialBackend()
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor: backend:", err)
		return nil
	}
	b := &floorConn{fd: bfd, in: make([]byte, 0, 8<<10)}
	p.conns[bfd] = b
	if p.watch(bfd) != nil {
		p.closeConn(b)
		return nil
	}
	return b
}

// dialBackend connects blocking (on loopback it takes microseconds), then makes the socket
// non-blocking for the loop.
func (p *floorProxy) dialBackend() (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := syscall.Connect(fd, p.backend); err != nil {
		_ = syscall.Close(fd)
		return -1, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	return fd, syscall.SetNonblock(fd, true)
}

// closePair closes c and the other end of its request in flight, if any.
func (p *floorProxy) closePair(c *floorConn) {
	if c.peer != nil {
		p.closeConn(c.peer)
	}
	p.closeConn(c)
}

func (p *floorProxy) closeConn(c *floorConn) {
	delete(p.conns, c.fd)
	_ = syscall.Close(c.fd)
}

var crlfcrlf = []byte("\r\n\r\n")

// clientReadable reads what the client sent and forwards a complete request head. While a
// request is at the backend (c.peer set) the next one stays in the socket until the answer is sent.
func (p *floorProxy) clientReadable(c *floorConn) {
	if c.peer != nil {
		c.more = true
		return
	}
	if !readMore(c) {
		p.closePair(c)
		return
	}
	p.forwardRequest(c)
}

func (p *floorProxy) forwardRequest(c *floorConn) {
	end := bytes.Index(c.in, crlfcrlf)
	if end < 0 {
		if len(c.in) == cap(c.in) {
			p.closePair(c) // a head larger than the buffer
		}
		return
	}
	c.out = appendForwarded(c.out[:0], c.in[:end+2], c.from)
	c.in = c.in[:copy(c.in, c.in[end+len(crlfcrlf):])]
	b := p.takeBackend()
	if b == nil {
		p.closePair(c)
		return
	}
	c.peer, b.peer = b, c
	if !writeAll(b.fd, c.out) {
		p.closePair(c)
	}
}

// appendForwarded appends head (request line and fields, each with its CRLF) less any
// Connection field, then X-Forwarded-For and X-Forwarded-Proto and the blank line.
func appendForwarded(out, head []byte, from string) []byte {
	for len(head) > 0 {
		line, rest, _ := bytes.Cut(head, []byte("\r\n"))
		head = rest
		name, _, _ := bytes.Cut(line, []byte(":"))
		if bytes.EqualFold(name, []byte("Connection")) {
			continue
		}
		out = append(append(out, line...), "\r\n"...)
	}
	out = append(append(append(out, "X-Forwarded-For: "...), from...), "\r\n"...)
	return append(out, "X-Forwarded-Proto: http\r\n\r\n"...)
}

// backendReadable reads the answer and sends it to the client once it is whole.
func (p *floorProxy) backendReadable(b *floorConn) {
	if b.peer == nil { // idle: the backend closed it, or spoke out of turn
		p.dropIdle(b)
		return
	}
	if !readMore(b) {
		p.closePair(b.peer)
		return
	}
	total := answerLength(b.in)
	if total < 0 || (total == 0 && len(b.in) == cap(b.in)) {
		p.closePair(b.peer) // not framed by a length, or a head larger than the buffer
		return
	}
	if total == 0 || len(b.in) < total {
		return
	}
	if total > cap(b.in) {
		p.closePair(b.peer) // larger than the buffer
		return
	}
	c := b.peer
	if !writeAll(c.fd, b.in[:total]) {
		p.closePair(c)
		return
	}
	b.in = b.in[:copy(b.in, b.in[total:])]
	b.peer, c.peer = nil, nil
	p.idle = append(p.idle, b)
	switch {
	case c.more:
		c.more = false
		p.clientReadable(c) // what it sent meanwhile, or its leaving
	case len(c.in) > 0:
		p.forwardRequest(c) // a pipelined request read earlier
	}
}

func (p *floorProxy) dropIdle(b *floorConn) {
	for i, x := range p.idle {
		if x == b {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
	p.closeConn(b)
}

// answerLength is the length of the answer at the start of buf, head and body: 0 while its head
// is not all in, -1 when the head has no valid Content-Length.
func answerLength(buf []byte) int {
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return 0
	}
	for head := buf[:end+2]; len(head) > 0; {
		line, rest, _ := bytes.Cut(head, []byte("\r\n"))
		head = rest
		name, value, found := bytes.Cut(line, []byte(":"))
		if found && bytes.EqualFold(name, []byte("Content-Length")) {
			n, ok := h1.ParseContentLength(bytes.TrimSpace(value))
			if !ok {
				return -1
			}
			return end + len(crlfcrlf) + int(n)
		}
	}
	return -1
}

// readMore appends what the socket has to c.in; false when the peer has closed or the read
// failed (EAGAIN is not a failure: a spurious wake-up reads nothing). A read that fills c.in may
// have left bytes in the socket, of which no new edge will tell: more asks to read again once
// there is room.
func readMore(c *floorConn) bool {
	if len(c.in) == cap(c.in) {
		return true
	}
	n, errno := rawsock.ReadWrite(syscall.SYS_READ, uintptr(c.fd), c.in[len(c.in):cap(c.in)])
	switch {
	case errno == syscall.EAGAIN:
		return true
	case errno != 0 || n == 0:
		return false
	}
	c.in = c.in[:len(c.in)+n]
	c.more = c.more || len(c.in) == cap(c.in)
	return true
}

// writeAll writes p; small heads and answers fit the socket buffer, so a short write is taken
// as a failure rather than waited for.
func writeAll(fd int, p []byte) bool {
	n, errno := rawsock.ReadWrite(syscall.SYS_WRITE, uintptr(fd), p)
	return errno == 0 && n == len(p)
}

func listenFD(addr string) (int, error) {
	la, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return -1, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(fd, sockaddr4(la)); err != nil {
		return -1, fmt.Errorf("floor: listen %s: %w", addr, err)
	}
	return fd, syscall.Listen(fd, 1024)
}

func sockaddr4(a *net.TCPAddr) *syscall.SockaddrInet4 {
	sa := &syscall.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	return sa
}

func ipOf(sa syscall.Sockaddr) string {
	if in4, ok := sa.(*syscall.SockaddrInet4); ok {
		return net.IP(in4.Addr[:]).String()
	}
	return "unknown"
}
