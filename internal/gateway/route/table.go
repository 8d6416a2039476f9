// Package route holds the compiled, immutable route table that the gateway's proxy serves from,
// and the matching of a request against it. The compiler (package compile) builds a Table; the
// proxy swaps whole Tables atomically, so nothing here is ever mutated after compilation except
// the per-backend round-robin counters.
package route

import (
	"regexp"
	"sync/atomic"
	"time"
)

// Table is everything the data plane needs, keyed by the listening socket ("ip:port").
type Table struct {
	Ports map[string]*PortTable
}

// PortTable holds the routes reachable through one socket. Several listeners of one Gateway may
// share a port (distinguished by hostname); their routes are merged here, each entry carrying the
// hostnames it was attached with.
type PortTable struct {
	// Exact maps a lowercase host to the entries attached with exactly that hostname.
	Exact map[string][]*Entry
	// Wildcard maps a suffix such as ".example.com" (from "*.example.com") to its entries.
	Wildcard map[string][]*Entry
	// Any holds the entries attached without any hostname restriction.
	Any []*Entry
	// TLS holds certificates for HTTPS listeners on this port; nil means plain HTTP.
	TLS []Certificate
	// Port is the listener port, used by redirects that keep the port.
	Port int
	// Scheme is "http" or "https".
	Scheme string
}

// Certificate is one HTTPS listener's key pair and the hostname it serves (empty: any).
type Certificate struct {
	Hostname string
	CertPEM  []byte
	KeyPEM   []byte
}

// Entry is one HTTPRouteMatch of one rule, in precedence order within its bucket.
type Entry struct {
	Match Match
	Rule  *Rule
}

// PathType is how a Match compares the request path.
type PathType uint8

// Path match kinds, in the order of precedence the compiler sorts them by.
const (
	PathPrefix PathType = iota
	PathRegex
	PathExact
)

// Match is one compiled HTTPRouteMatch: all its conditions must hold.
type Match struct {
	PathType  PathType
	Path      string // Exact value, or prefix without trailing slash ("" for "/")
	PathRegex *regexp.Regexp
	Method    string
	Headers   []ValueMatch
	Query     []ValueMatch
}

// ValueMatch compares one header or query parameter, exactly or by regular expression.
type ValueMatch struct {
	Name  string // canonical header name, or the exact query parameter name
	Value string
	Regex *regexp.Regexp
}

// Rule is one HTTPRoute rule, shared by all of its Entries.
type Rule struct {
	// ID names the rule for logs and metrics: "namespace/name/rule-index".
	ID string
	// Fail, when non-zero, answers every matching request with this status (an unsupported or
	// unresolvable filter must not be skipped silently).
	Fail int

	RequestHeaders  *HeaderModifier
	ResponseHeaders *HeaderModifier
	Redirect        *Redirect
	Rewrite         *Rewrite
	Mirrors         []Mirror

	Backends    []*Backend
	TotalWeight uint64
	// UserKey, when set, picks the backend deterministically per user (see package balance).
	UserKey *UserKey

	// Timeout bounds the whole request, zero meaning none.
	Timeout time.Duration
}

// HeaderModifier is a compiled RequestHeaderModifier / ResponseHeaderModifier.
type HeaderModifier struct {
	Set    []Header
	Add    []Header
	Remove []string
}

// Header is one name/value pair; Name is canonical.
type Header struct {
	Name  string
	Value string
}

// PathModifierType says how a redirect or rewrite replaces the path.
type PathModifierType uint8

// Path modifications.
const (
	PathKeep PathModifierType = iota
	PathReplaceFull
	PathReplacePrefix
)

// PathModifier is a compiled HTTPPathModifier.
type PathModifier struct {
	Type  PathModifierType
	Value string
}

// Redirect is a compiled RequestRedirect.
type Redirect struct {
	Scheme     string
	Hostname   string
	Port       int // 0: derive from the scheme or the listener
	Path       PathModifier
	StatusCode int
}

// Rewrite is a compiled URLRewrite.
type Rewrite struct {
	Hostname string
	Path     PathModifier
}

// Mirror copies a share of requests to one endpoint of a backend and ignores its answer.
type Mirror struct {
	Backend *Backend
	// Numerator/Denominator is the share of requests mirrored.
	Numerator, Denominator uint32
}

// Backend is one resolved backendRef.
type Backend struct {
	// Name identifies the backend stably across weight changes: "namespace/service:port". The
	// per-user hash uses it, so a user's choice depends only on the name and the weights.
	Name   string
	Weight uint32
	// Status, when non-zero, is returned for this backend's share instead of proxying: 500 for
	// an invalid reference.
	Status int
	// Endpoints are the ready "ip:port" addresses; none means 503.
	Endpoints []string

	RequestHeaders  *HeaderModifier
	ResponseHeaders *HeaderModifier

	next atomic.Uint64
}

// NextEndpoint returns the endpoints round robin; ok is false if there are none.
func (b *Backend) NextEndpoint() (addr string, ok bool) {
	n := len(b.Endpoints)
	if n == 0 {
		return "", false
	}
	if n == 1 {
		return b.Endpoints[0], true
	}
	return b.Endpoints[int(b.next.Add(1)%uint64(n))], true
}

// UserKeySource says where the per-user key is read from.
type UserKeySource uint8

// User key sources.
const (
	UserKeyHeader UserKeySource = iota + 1
	UserKeyCookie
	UserKeyJWTClaim
)

// UserKey names the request attribute that identifies a user.
type UserKey struct {
	Source UserKeySource
	Name   string // header name (canonical), cookie name or claim name
}

// Endpoints returns every endpoint address a backend of t may send to.
func (t *Table) Endpoints() map[string]bool {
	addrs := map[string]bool{}
	add := func(entries []*Entry) {
		for _, e := range entries {
			for _, b := range e.Rule.Backends {
				for _, addr := range b.Endpoints {
					addrs[addr] = true
				}
			}
		}
	}
	for _, pt := range t.Ports {
		for _, entries := range pt.Exact {
			add(entries)
		}
		for _, entries := range pt.Wildcard {
			add(entries)
		}
		add(pt.Any)
	}
	return addrs
}
