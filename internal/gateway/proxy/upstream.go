package proxy

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"sync"
	"time"

	"github.com/aviary-dev/aviary/internal/gateway/h1"
	"github.com/aviary-dev/aviary/internal/gateway/rawsock"
)

// upstream holds keep-alive connections to backend endpoints for the direct path (direct.go).
// One goroutine does a whole exchange on one connection: net/http's Transport gives every
// connection a reading and a writing goroutine of its own and hands each request between them,
// which cost more CPU per proxied request than everything else the gateway does.
type upstream struct {
	dialer     net.Dialer
	maxIdle    int           // idle connections kept per endpoint
	idleTime   time.Duration // an idle connection older than this is closed, not reused
	checkAfter time.Duration // an idle connection older than this is checked before reuse

	mu   sync.Mutex
	idle map[string][]*upConn // per endpoint address, most recently used last
	live map[string]bool      // endpoints of the current table; nil until the first retain
}

// upConn is one connection to an endpoint with its buffers.
type upConn struct {
	net.Conn
	sock      *rawsock.Conn
	addr      string
	br        *bufio.Reader
	out       bytes.Buffer // the request being sent
	idleSince time.Time
	raw       rawAnswer // the last answer head read by the raw path
	reused    bool      // served an earlier request: the endpoint may have closed it since
	deadline  bool      // a deadline is set and must be cleared before the next request

	// While a request is in flight, the client leaving interrupts it (see watch).
	interrupt func()
	ctx       context.Context
	gone      *h1.Gone
	stopAfter func() bool
}

// watch makes the client of ctx leaving (or ctx ending) unblock the exchange on c: through the
// h1 loop's Gone when the request came that way, which costs nothing per request, otherwise
// through context.AfterFunc.
func (c *upConn) watch(ctx context.Context) {
	c.ctx = ctx
	if c.gone = h1.GoneOf(ctx); c.gone != nil {
		c.gone.Set(&c.interrupt)
		if ctx.Err() != nil {
			c.interrupt() // gone before the watch began
		}
		return
	}
	c.stopAfter = context.AfterFunc(ctx, c.interrupt)
}

// unwatch ends the watch; false when the client left meanwhile (c is then interrupted).
func (c *upConn) unwatch() bool {
	ok := false
	if c.gone != nil {
		ok = c.gone.Clear(&c.interrupt) && c.ctx.Err() == nil
	} else {
		ok = c.stopAfter()
	}
	c.ctx, c.gone, c.stopAfter = nil, nil, nil
	return ok
}

func newUpstream(dialTimeout time.Duration) *upstream {
	return &upstream{
		dialer:     net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
		maxIdle:    512,
		idleTime:   90 * time.Second,
		checkAfter: time.Second,
		idle:       map[string][]*upConn{},
	}
}

// get returns an idle connection to addr, or dials a new one. Servers close keep-alive
// connections idle for longer than a timeout of their own (Node's 5 s, nginx's 75 s), and a
// request sent on one of those fails: a connection idle for over checkAfter is reused only
// while nothing has arrived on it (a shorter wait is not worth the system call under load).
func (u *upstream) get(ctx context.Context, addr string) (*upConn, error) {
	for {
		c, idle := u.takeIdle(addr)
		if c == nil {
			return u.dial(ctx, addr)
		}
		if idle < u.checkAfter || c.sock.Quiet() {
			return c, nil
		}
		_ = c.Close() // closed by the endpoint, or it spoke out of turn
	}
}

func (u *upstream) dial(ctx context.Context, addr string) (*upConn, error) {
	conn, err := u.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	raw := rawsock.New(conn)
	c := &upConn{
		Conn: conn,
		sock: raw,
		addr: addr,
		br:   bufio.NewReaderSize(raw, 8<<10),
	}
	c.interrupt = func() { _ = c.SetDeadline(aLongTimeAgo) }
	return c, nil
}

// takeIdle returns the most recently used idle connection to addr that has not expired, and
// how long it was idle; nil when there is none.
func (u *upstream) takeIdle(addr string) (*upConn, time.Duration) {
	now := time.Now()
	var expired []*upConn
	defer func() {
		for _, c := range expired {
			_ = c.Close()
		}
	}()
	u.mu.Lock()
	defer u.mu.Unlock()
	list := u.idle[addr]
	for len(list) > 0 {
		c := list[len(list)-1]
		list[len(list)-1] = nil
		list = list[:len(list)-1]
		if idle := now.Sub(c.idleSince); idle < u.idleTime {
			u.idle[addr] = list
			c.reused = true
			return c, idle
		}
		expired = append(expired, c)
	}
	delete(u.idle, addr)
	return nil, 0
}

// put keeps c for the next request to its endpoint, or closes it when enough are kept.
func (u *upstream) put(c *upConn) {
	c.idleSince = time.Now()
	u.mu.Lock()
	if (u.live == nil || u.live[c.addr]) && len(u.idle[c.addr]) < u.maxIdle {
		u.idle[c.addr] = append(u.idle[c.addr], c)
		c = nil
	}
	u.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// retain closes the idle connections to endpoints not in live, and makes put close those that
// come back from requests still in flight: endpoints that left the route table are gone or
// going, and their connections would only fail later (or stay open for ever, never asked for).
func (u *upstream) retain(live map[string]bool) {
	var gone []*upConn
	u.mu.Lock()
	u.live = live
	for addr, list := range u.idle {
		if !live[addr] {
			gone = append(gone, list...)
			delete(u.idle, addr)
		}
	}
	u.mu.Unlock()
	for _, c := range gone {
		_ = c.Close()
	}
}
