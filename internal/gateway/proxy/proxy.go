// Package proxy is the gateway's HTTP data plane: it looks a request up in the current route
// table, applies the rule's filters, chooses a backend and an endpoint, and forwards the request.
// The table is swapped atomically (Store), so a change never waits for, or disturbs, requests in
// flight: each request uses the table it started with.
package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/aviary-dev/aviary/internal/gateway/balance"
	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// Options bound what one request may cost.
type Options struct {
	// MaxMirrorBody is the largest request body copied for RequestMirror; larger bodies are not
	// mirrored (the main request is still served).
	MaxMirrorBody int64
	// MaxMirrorsInFlight bounds concurrent mirror requests; excess mirrors are dropped.
	MaxMirrorsInFlight int
	// DialTimeout bounds connecting to a backend endpoint.
	DialTimeout time.Duration
}

// DefaultOptions are the limits used unless the command line says otherwise.
func DefaultOptions() Options {
	return Options{MaxMirrorBody: 1 << 20, MaxMirrorsInFlight: 128, DialTimeout: 5 * time.Second}
}

// Handler serves every socket from the current table.
type Handler struct {
	table   atomic.Pointer[route.Table]
	rp      *httputil.ReverseProxy // requests the direct path cannot take (see direct)
	up      *upstream
	buffers *bufferPool
	mirrors *mirrorer
	log     logr.Logger
}

// New returns a Handler with an empty table (every request gets 404 until Store).
func New(log logr.Logger, o Options) *Handler {
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	h := &Handler{log: log, mirrors: newMirrorer(transport, o), up: newUpstream(o.DialTimeout), buffers: newBufferPool()}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        rewriteOutbound,
		Transport:      transport,
		BufferPool:     h.buffers,
		ModifyResponse: modifyResponse,
		ErrorHandler:   h.backendError,
		ErrorLog:       nil,
	}
	h.table.Store(&route.Table{})
	return h
}

// Store makes t the table for every request that starts from now on, and closes the idle
// connections to endpoints t no longer has.
func (h *Handler) Store(t *route.Table) {
	h.table.Store(t)
	h.up.retain(t.Endpoints())
}

// Table returns the current table.
func (h *Handler) Table() *route.Table { return h.table.Load() }

// ForSocket returns the http.Handler of one listening socket ("ip:port").
func (h *Handler) ForSocket(socket string) http.Handler {
	return &socketHandler{h: h, socket: socket}
}

type socketHandler struct {
	h      *Handler
	socket string
}

// target is what the outbound rewrite needs to know about the chosen route and backend.
type target struct {
	entry   *route.Entry
	backend *route.Backend
	addr    string
	host    string
}

type targetKey struct{}

func (s *socketHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pt := s.h.table.Load().Ports[s.socket]
	if pt == nil {
		http.Error(w, "no route", http.StatusNotFound)
		return
	}
	host := hostOnly(r.Host)
	e := pt.Lookup(host, r)
	if e == nil {
		http.Error(w, "no route", http.StatusNotFound)
		return
	}
	rule := e.Rule
	if rule.Fail != 0 {
		http.Error(w, "route rule cannot be served", rule.Fail)
		return
	}
	if rule.Redirect != nil {
		redirect(w, r, e, pt, host)
		return
	}
	applyHeaders(r.Header, rule.RequestHeaders)
	if len(rule.Mirrors) > 0 {
		s.h.mirrors.mirror(r, rule.Mirrors)
	}
	b := chooseBackend(r, rule)
	switch {
	case b == nil:
		http.Error(w, "route rule has no backend with a weight", http.StatusInternalServerError)
		return
	case b.Status != 0:
		http.Error(w, "backend reference is invalid", b.Status)
		return
	}
	addr, ok := b.NextEndpoint()
	if !ok {
		http.Error(w, "backend has no ready endpoints", http.StatusServiceUnavailable)
		return
	}
	applyHeaders(r.Header, b.RequestHeaders)
	t := target{entry: e, backend: b, addr: addr, host: r.Host}
	if rw := rule.Rewrite; rw != nil && rw.Hostname != "" {
		t.host = rw.Hostname
	}
	if direct(r) {
		s.h.forwardDirect(w, r, &t, rule.Timeout)
		return
	}
	inCtx := t // only the reverse proxy's path needs the target on the heap
	ctx := context.WithValue(r.Context(), targetKey{}, &inCtx)
	if rule.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rule.Timeout)
		defer cancel()
	}
	s.h.rp.ServeHTTP(w, r.WithContext(ctx))
}

// chooseBackend picks per user when the rule asks for it and the request carries a key, and at
// random by weight otherwise.
func chooseBackend(r *http.Request, rule *route.Rule) *route.Backend {
	if rule.UserKey != nil && len(rule.Backends) > 1 {
		if key, ok := balance.UserKeyOf(r, rule.UserKey); ok {
			return balance.ForUser(key, rule.Backends)
		}
	}
	return balance.Weighted(rule.Backends, rule.TotalWeight)
}

func rewriteOutbound(pr *httputil.ProxyRequest) {
	t := pr.In.Context().Value(targetKey{}).(*target)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = t.addr
	pr.Out.Host = t.host
	if rw := t.entry.Rule.Rewrite; rw != nil && rw.Path.Type != route.PathKeep {
		pr.Out.URL.Path = modifyPath(pr.In.URL.Path, rw.Path, &t.entry.Match)
		pr.Out.URL.RawPath = ""
	}
	pr.SetXForwarded()
}

func modifyResponse(resp *http.Response) error {
	t, _ := resp.Request.Context().Value(targetKey{}).(*target)
	if t == nil {
		return nil
	}
	applyHeaders(resp.Header, t.entry.Rule.ResponseHeaders)
	applyHeaders(resp.Header, t.backend.ResponseHeaders)
	return nil
}

func (h *Handler) backendError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away; nobody reads an answer
	}
	h.log.V(1).Info("backend request failed", "url", r.URL.String(), "error", err.Error())
	w.WriteHeader(status)
}

// hostOnly strips the port and lowercases the Host header for matching.
func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}

type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
