package compile

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// world indexes the objects backends are resolved against.
type world struct {
	services map[types.NamespacedName]*corev1.Service
	slices   map[types.NamespacedName][]*discoveryv1.EndpointSlice
	grants   *grantIndex
}

func indexWorld(in *Input) *world {
	w := &world{
		services: map[types.NamespacedName]*corev1.Service{},
		slices:   map[types.NamespacedName][]*discoveryv1.EndpointSlice{},
		grants:   indexGrants(in.ReferenceGrants),
	}
	for i := range in.Services {
		s := &in.Services[i]
		w.services[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	for i := range in.EndpointSlices {
		es := &in.EndpointSlices[i]
		svc := es.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		k := types.NamespacedName{Namespace: es.Namespace, Name: svc}
		w.slices[k] = append(w.slices[k], es)
	}
	return w
}

// refProblem says why a backend reference does not resolve, in the terms of ResolvedRefs.
type refProblem struct {
	reason  gwv1.RouteConditionReason
	message string
}

// resolveBackend turns a backend reference of a route in routeNS into a Backend. An unresolved
// reference still yields a Backend (answering 500 for its share) plus the problem.
func (w *world) resolveBackend(routeNS string, ref gwv1.BackendObjectReference, weight uint32) (*route.Backend, *refProblem) {
	ns := routeNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	b := &route.Backend{Name: fmt.Sprintf("%s/%s", ns, ref.Name), Weight: weight}
	if ref.Port != nil {
		b.Name = fmt.Sprintf("%s:%d", b.Name, *ref.Port)
	}
	fail := func(reason gwv1.RouteConditionReason, format string, args ...any) (*route.Backend, *refProblem) {
		b.Status = http.StatusInternalServerError
		return b, &refProblem{reason: reason, message: fmt.Sprintf(format, args...)}
	}
	group, kind := "", "Service"
	if ref.Group != nil {
		group = string(*ref.Group)
	}
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if (group != "" && group != "core") || kind != "Service" {
		return fail(gwv1.RouteReasonInvalidKind, "backendRef %s/%s %s: only core Services are supported", group, kind, ref.Name)
	}
	if ns != routeNS && !w.grants.allows(routeNS, gatewayGroup, kindHTTPRoute, ns, "", "Service", string(ref.Name)) {
		return fail(gwv1.RouteReasonRefNotPermitted, "backendRef Service %s/%s is in another namespace and no ReferenceGrant there allows it", ns, ref.Name)
	}
	svc := w.services[types.NamespacedName{Namespace: ns, Name: string(ref.Name)}]
	if svc == nil {
		return fail(gwv1.RouteReasonBackendNotFound, "Service %s/%s not found", ns, ref.Name)
	}
	if ref.Port == nil {
		return fail(gwv1.RouteReasonBackendNotFound, "backendRef to Service %s/%s needs a port", ns, ref.Name)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == *ref.Port })
	if i < 0 {
		return fail(gwv1.RouteReasonBackendNotFound, "Service %s/%s has no port %d", ns, ref.Name, *ref.Port)
	}
	sp := svc.Spec.Ports[i]
	if ap := sp.AppProtocol; ap != nil && strings.EqualFold(*ap, "kubernetes.io/h2c") {
		return fail(gwv1.RouteReasonUnsupportedProtocol, "Service %s/%s port %d has appProtocol %s, which this gateway does not speak", ns, ref.Name, sp.Port, *ap)
	}
	b.Endpoints = w.readyEndpoints(types.NamespacedName{Namespace: ns, Name: svc.Name}, sp)
	return b, nil
}

// readyEndpoints lists "ip:port" of the ready endpoints of a Service port, sorted. EndpointSlices
// are the only source, as in any Gateway API implementation: their ports carry the Service
// port's name and the target port already resolved on each pod (by the EndpointSlice
// controller, or on the sandbox by `aviary local endpoints`), so the gateway never reads pods.
func (w *world) readyEndpoints(svc types.NamespacedName, sp corev1.ServicePort) []string {
	var out []string
	for _, es := range w.slices[svc] {
		port, ok := slicePort(es, sp)
		if !ok {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if ip, err := netip.ParseAddr(a); err == nil {
					out = append(out, netip.AddrPortFrom(ip, port).String())
				} else if es.AddressType == discoveryv1.AddressTypeFQDN {
					// FQDN slices carry names (or, for loopback pods that IPv4 slices
					// refuse, IP literals); the dialer resolves names.
					out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func slicePort(es *discoveryv1.EndpointSlice, sp corev1.ServicePort) (uint16, bool) {
	for _, p := range es.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name == sp.Name && p.Port != nil {
			return uint16(*p.Port), true
		}
	}
	return 0, false
}
