package h1

import (
	"net"
	"sync"
	"time"
)

// handoffListener is the fallback server's listener: its connections are the ones the loop
// handed over.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// push gives c to the fallback server, or closes it when that server has stopped.
func (l *handoffListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// boundSendsOn returns conn with every write bounded by d (none when d is 0): a peer that makes
// no room for a write within d makes it fail. It is for connections served by net/http (handed
// over, or TLS), whose server has no such bound; the loop's own connections are bounded by its
// sweep instead, which costs nothing per write.
func boundSendsOn(conn net.Conn, d time.Duration) net.Conn {
	if d <= 0 {
		return conn
	}
	return boundSends{Conn: conn, d: d}
}

type boundSends struct {
	net.Conn
	d time.Duration
}

func (c boundSends) Write(p []byte) (int, error) {
	_ = c.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

// BoundSendsListener applies boundSendsOn to every connection ln accepts.
func BoundSendsListener(ln net.Listener, d time.Duration) net.Listener {
	if d <= 0 {
		return ln
	}
	return boundSendsListener{Listener: ln, d: d}
}

type boundSendsListener struct {
	net.Listener
	d time.Duration
}

func (l boundSendsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return boundSends{Conn: c, d: l.d}, nil
}

// replayConn reads the bytes the loop had already read before reading the socket again.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
