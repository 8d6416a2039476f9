package h1

import (
	"context"
	"sync/atomic"
)

// Gone lets a handler have its work interrupted when the client leaves, without the cost of
// context.AfterFunc (an allocation and a registration with the parent context per request).
// The loop's request contexts carry one per connection; the context is also cancelled then.
type Gone struct {
	interrupt atomic.Pointer[func()]
}

type goneKey struct{}

// GoneOf returns the Gone of a request served by the loop, or nil.
func GoneOf(ctx context.Context) *Gone {
	g, _ := ctx.Value(goneKey{}).(*Gone)
	return g
}

// Set makes *f run if the client leaves before Clear. f must stay valid and unchanged until
// then; a handler sets one at a time.
func (g *Gone) Set(f *func()) { g.interrupt.Store(f) }

// Clear ends the arrangement made by Set(f); false when *f has run or is running.
func (g *Gone) Clear(f *func()) bool { return g.interrupt.CompareAndSwap(f, nil) }

// fire runs the function set, if any: the client is gone.
func (g *Gone) fire() {
	if f := g.interrupt.Swap(nil); f != nil {
		(*f)()
	}
}
