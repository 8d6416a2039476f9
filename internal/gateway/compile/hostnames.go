package compile

import (
	"slices"
	"strings"
)

// intersectHostnames returns the hostnames a route serves through a listener: the route's
// hostnames that fall within the listener's, narrowed to the listener's where the listener is the
// more specific. An empty result with ok=false means they do not intersect; [""] means any host.
func intersectHostnames(listenerHost string, routeHosts []string) (hosts []string, ok bool) {
	if listenerHost == "" {
		if len(routeHosts) == 0 {
			return []string{""}, true
		}
		return dedupe(routeHosts), true
	}
	if len(routeHosts) == 0 {
		return []string{listenerHost}, true
	}
	for _, h := range routeHosts {
		switch {
		case hostWithin(h, listenerHost):
			hosts = append(hosts, h)
		case hostWithin(listenerHost, h):
			hosts = append(hosts, listenerHost)
		}
	}
	hosts = dedupe(hosts)
	return hosts, len(hosts) > 0
}

// hostWithin reports whether every host matched by pattern a is also matched by pattern b.
// "*.example.com" matches any name ending in ".example.com" (one or more labels), never the apex.
func hostWithin(a, b string) bool {
	if a == b {
		return true
	}
	if !strings.HasPrefix(b, "*.") {
		return false
	}
	suffix := b[1:] // ".example.com"
	return strings.HasSuffix(a, suffix) && len(a) > len(suffix)
}

func dedupe(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(h)
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
