package h1

import (
	"net"
	"testing"
	"time"
)

// A connection accepted by a server that has run for longer than the idle timeout is new, not
// idle since the server started: a sweep before its first request must leave it alone.
func TestASweepLeavesANewConnectionAlone(t *testing.T) {
	s := New(Config{IdleTimeout: time.Second})
	s.now.Store(int64(time.Hour)) // the server has run for an hour
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConn(s, a)
	c.sweep(s.clock())
	if c.phase.Load() == phaseExpired {
		t.Fatal("a connection just accepted was closed for idleness")
	}
	c.sweep(s.clock() + int64(2*time.Second))
	if c.phase.Load() != phaseExpired {
		t.Fatal("a connection idle for longer than the idle timeout was left open")
	}
}
