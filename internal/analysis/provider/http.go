package provider

import (
	"crypto/tls"
	"net/http"
	"sync"
)

// Transport is the HTTP transport the HTTP providers share for one TLS setting. The reconciler
// builds a metric's provider on every reconcile; a transport of its own each time would dial
// (and handshake) every endpoint anew for each measurement and leave the old transport's idle
// connections open until they time out. Sharing one per setting keeps connections alive
// across measurements and runs. insecure skips certificate verification (the metric's
// insecure: true, for self-signed in-cluster endpoints).
func Transport(insecure bool) http.RoundTripper {
	if insecure {
		return insecureTransport()
	}
	return verifyingTransport()
}

var (
	verifyingTransport = sync.OnceValue(func() *http.Transport { return newTransport(false) })
	insecureTransport  = sync.OnceValue(func() *http.Transport { return newTransport(true) })
)

// newTransport is Go's default transport (proxy from the environment, keep-alives, HTTP/2),
// trusting any certificate when insecure.
func newTransport(insecure bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in via the metric's insecure field
	}
	return t
}
