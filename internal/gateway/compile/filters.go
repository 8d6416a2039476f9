package compile

import (
	"fmt"
	"net/http"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/balance"
	"github.com/aviary-dev/aviary/internal/gateway/route"
)

var parseUserKey = balance.ParseUserKey

// compileFilters compiles a rule's filters into rule. Filters this gateway cannot apply make the
// rule answer 500 rather than being skipped, as the spec requires.
func compileFilters(w *world, cr *compiledRoute, routeNS string, filters []gwv1.HTTPRouteFilter, rule *route.Rule) error {
	for _, f := range filters {
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestHeaderModifier:
			rule.RequestHeaders = headerModifier(f.RequestHeaderModifier)
		case gwv1.HTTPRouteFilterResponseHeaderModifier:
			rule.ResponseHeaders = headerModifier(f.ResponseHeaderModifier)
		case gwv1.HTTPRouteFilterRequestRedirect:
			if f.RequestRedirect == nil {
				return fmt.Errorf("RequestRedirect filter without requestRedirect")
			}
			rule.Redirect = redirect(f.RequestRedirect)
		case gwv1.HTTPRouteFilterURLRewrite:
			if f.URLRewrite == nil {
				return fmt.Errorf("URLRewrite filter without urlRewrite")
			}
			rule.Rewrite = &route.Rewrite{Path: pathModifier(f.URLRewrite.Path)}
			if f.URLRewrite.Hostname != nil {
				rule.Rewrite.Hostname = string(*f.URLRewrite.Hostname)
			}
		case gwv1.HTTPRouteFilterRequestMirror:
			if f.RequestMirror == nil {
				return fmt.Errorf("RequestMirror filter without requestMirror")
			}
			m, problem := mirror(w, routeNS, f.RequestMirror)
			if problem != nil {
				cr.refs = append(cr.refs, *problem)
				continue // an unresolved mirror is reported and not mirrored to
			}
			rule.Mirrors = append(rule.Mirrors, m)
		default:
			rule.Fail = http.StatusInternalServerError
			cr.dropped = append(cr.dropped, fmt.Sprintf("Dropped Rule %s: filter %s is not supported, matching requests get 500", ruleIndex(rule.ID), f.Type))
		}
	}
	return nil
}

func ruleIndex(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }

// compileBackendFilters applies the header filters allowed on a backendRef.
func compileBackendFilters(filters []gwv1.HTTPRouteFilter, b *route.Backend) error {
	for _, f := range filters {
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestHeaderModifier:
			b.RequestHeaders = headerModifier(f.RequestHeaderModifier)
		case gwv1.HTTPRouteFilterResponseHeaderModifier:
			b.ResponseHeaders = headerModifier(f.ResponseHeaderModifier)
		default:
			return fmt.Errorf("backendRef %s: filter %s is not supported on a backendRef", b.Name, f.Type)
		}
	}
	return nil
}

func headerModifier(f *gwv1.HTTPHeaderFilter) *route.HeaderModifier {
	if f == nil {
		return nil
	}
	m := &route.HeaderModifier{}
	for _, h := range f.Set {
		m.Set = append(m.Set, route.Header{Name: http.CanonicalHeaderKey(string(h.Name)), Value: h.Value})
	}
	for _, h := range f.Add {
		m.Add = append(m.Add, route.Header{Name: http.CanonicalHeaderKey(string(h.Name)), Value: h.Value})
	}
	for _, name := range f.Remove {
		m.Remove = append(m.Remove, http.CanonicalHeaderKey(name))
	}
	return m
}

func redirect(f *gwv1.HTTPRequestRedirectFilter) *route.Redirect {
	r := &route.Redirect{StatusCode: http.StatusFound, Path: pathModifier(f.Path)}
	if f.Scheme != nil {
		r.Scheme = *f.Scheme
	}
	if f.Hostname != nil {
		r.Hostname = string(*f.Hostname)
	}
	if f.Port != nil {
		r.Port = int(*f.Port)
	}
	if f.StatusCode != nil {
		r.StatusCode = *f.StatusCode
	}
	return r
}

func pathModifier(p *gwv1.HTTPPathModifier) route.PathModifier {
	switch {
	case p == nil:
		return route.PathModifier{}
	case p.Type == gwv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil:
		return route.PathModifier{Type: route.PathReplaceFull, Value: *p.ReplaceFullPath}
	case p.Type == gwv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil:
		return route.PathModifier{Type: route.PathReplacePrefix, Value: *p.ReplacePrefixMatch}
	}
	return route.PathModifier{}
}

func mirror(w *world, routeNS string, f *gwv1.HTTPRequestMirrorFilter) (route.Mirror, *refProblem) {
	b, problem := w.resolveBackend(routeNS, f.BackendRef, 1)
	if problem != nil {
		return route.Mirror{}, problem
	}
	m := route.Mirror{Backend: b, Numerator: 100, Denominator: 100}
	switch {
	case f.Percent != nil:
		m.Numerator = uint32(max(*f.Percent, 0))
	case f.Fraction != nil:
		m.Numerator = uint32(max(f.Fraction.Numerator, 0))
		if f.Fraction.Denominator != nil && *f.Fraction.Denominator > 0 {
			m.Denominator = uint32(*f.Fraction.Denominator)
		}
	}
	return m, nil
}
