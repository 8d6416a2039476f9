package compile

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// attachment is a route bound to one listener, serving the given hostnames there.
type attachment struct {
	listener  *listener
	hostnames []string
}

// parentResult is the outcome of one parentRef of a route.
type parentResult struct {
	ref         gwv1.ParentReference
	gw          *gateway
	attachments []attachment
	reason      gwv1.RouteConditionReason // Accepted when attached
	message     string
}

// attachParent decides which listeners of gw accept route through ref.
func attachParent(route *gwv1.HTTPRoute, ref gwv1.ParentReference, gw *gateway, namespaces map[string]*corev1.Namespace) parentResult {
	res := parentResult{ref: ref, gw: gw}
	var named, allowed int
	for _, l := range gw.listeners {
		if ref.SectionName != nil && *ref.SectionName != l.spec.Name {
			continue
		}
		if ref.Port != nil && *ref.Port != l.spec.Port {
			continue
		}
		named++
		if !l.acceptsRoutes() || !routeAllowed(l, route.Namespace, gw.obj.Namespace, namespaces) {
			continue
		}
		allowed++
		hosts, ok := intersectHostnames(l.hostname, toStrings(route.Spec.Hostnames))
		if !ok {
			continue
		}
		res.attachments = append(res.attachments, attachment{listener: l, hostnames: hosts})
	}
	switch {
	case named == 0:
		res.reason, res.message = gwv1.RouteReasonNoMatchingParent, "no listener of the Gateway matches the parentRef's sectionName/port"
	case allowed == 0:
		res.reason, res.message = gwv1.RouteReasonNotAllowedByListeners, "no matching listener allows routes of this kind from this namespace"
	case len(res.attachments) == 0:
		res.reason, res.message = gwv1.RouteReasonNoMatchingListenerHostname, "the route's hostnames do not intersect any matching listener's hostname"
	default:
		res.reason, res.message = gwv1.RouteReasonAccepted, fmt.Sprintf("attached to %d listener(s)", len(res.attachments))
	}
	return res
}

func routeAllowed(l *listener, routeNS, gwNS string, namespaces map[string]*corev1.Namespace) bool {
	if len(l.kinds) == 0 {
		return false
	}
	from := gwv1.NamespacesFromSame
	var sel *metav1.LabelSelector
	if ar := l.spec.AllowedRoutes; ar != nil && ar.Namespaces != nil {
		if ar.Namespaces.From != nil {
			from = *ar.Namespaces.From
		}
		sel = ar.Namespaces.Selector
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSelector:
		ns := namespaces[routeNS]
		if sel == nil || ns == nil {
			return false
		}
		s, err := metav1.LabelSelectorAsSelector(sel)
		return err == nil && s.Matches(labels.Set(ns.Labels))
	case gwv1.NamespacesFromNone:
		return false
	default:
		return routeNS == gwNS
	}
}

func toStrings(hs []gwv1.Hostname) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = string(h)
	}
	return out
}
