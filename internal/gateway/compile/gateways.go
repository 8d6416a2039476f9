package compile

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// gateway is one of our Gateways while it is being compiled.
type gateway struct {
	obj       *gwv1.Gateway
	key       types.NamespacedName
	addr      netip.Addr
	addrError string // why the Gateway has no usable address
	listeners []*listener
}

// listener is one Gateway listener while it is being compiled.
type listener struct {
	gw       *gateway
	spec     *gwv1.Listener
	hostname string // "" means any
	kinds    []gwv1.RouteGroupKind
	cert     *route.Certificate
	// conds holds the listener conditions decided so far, by type.
	accepted, resolved, conflicted, programmed metav1.Condition
	attached                                   int32
}

// acceptsRoutes reports whether routes attach to the listener (and count in attachedRoutes),
// which they do even while its references (certificates) are unresolved.
func (l *listener) acceptsRoutes() bool {
	return l.accepted.Status == metav1.ConditionTrue && l.conflicted.Status == metav1.ConditionFalse && len(l.kinds) > 0
}

// usable reports whether traffic flows through the listener.
func (l *listener) usable() bool {
	return l.accepted.Status == metav1.ConditionTrue && l.resolved.Status == metav1.ConditionTrue &&
		l.conflicted.Status == metav1.ConditionFalse && l.gw.addr.IsValid()
}

func (l *listener) socket() string {
	return netip.AddrPortFrom(l.gw.addr, uint16(l.spec.Port)).String()
}

const (
	gatewayGroup  = gwv1.GroupName
	kindHTTPRoute = "HTTPRoute"
)

// ourGateways returns the Gateways whose class names our controller, oldest first.
func ourGateways(in *Input, classes map[string]bool) []*gateway {
	var out []*gateway
	for i := range in.Gateways {
		g := &in.Gateways[i]
		if !classes[string(g.Spec.GatewayClassName)] || g.DeletionTimestamp != nil {
			continue
		}
		out = append(out, &gateway{obj: g, key: types.NamespacedName{Namespace: g.Namespace, Name: g.Name}})
	}
	slices.SortFunc(out, func(a, b *gateway) int { return olderFirst(&a.obj.ObjectMeta, &b.obj.ObjectMeta) })
	return out
}

// olderFirst orders objects by creationTimestamp, then namespace/name, the spec's tie-breaker.
func olderFirst(a, b *metav1.ObjectMeta) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// assignAddresses gives every Gateway its address: the requested loopback IP, else the one it
// already has from the pool (addresses are sticky across restarts), else the next free one.
func assignAddresses(pool netip.Prefix, gws []*gateway) {
	taken := map[netip.Addr]bool{}
	var unassigned []*gateway
	for _, g := range gws {
		if len(g.obj.Spec.Addresses) == 0 {
			continue
		}
		a := g.obj.Spec.Addresses[0]
		ip, err := netip.ParseAddr(a.Value)
		switch {
		case a.Type != nil && *a.Type != gwv1.IPAddressType:
			g.addrError = fmt.Sprintf("address type %q is not supported; request an IPAddress in 127.0.0.0/8 or none", *a.Type)
		case err != nil:
			g.addrError = fmt.Sprintf("address %q is not an IP address; request an IPAddress in 127.0.0.0/8 or none", a.Value)
		case !ip.Is4() || !netip.MustParsePrefix("127.0.0.0/8").Contains(ip):
			g.addrError = fmt.Sprintf("address %s is not a loopback address this gateway can listen on; request one in 127.0.0.0/8 or none", ip)
		default:
			g.addr = ip
			taken[ip] = true
		}
	}
	for _, g := range gws {
		if g.addr.IsValid() || g.addrError != "" {
			continue
		}
		for _, a := range g.obj.Status.Addresses {
			ip, err := netip.ParseAddr(a.Value)
			if err == nil && pool.Contains(ip) && !taken[ip] {
				g.addr = ip
				taken[ip] = true
				break
			}
		}
		if !g.addr.IsValid() {
			unassigned = append(unassigned, g)
		}
	}
	next := pool.Masked().Addr().Next() // skip the network address
	for _, g := range unassigned {
		for pool.Contains(next) && taken[next] {
			next = next.Next()
		}
		if !pool.Contains(next) {
			g.addrError = fmt.Sprintf("address pool %s is exhausted; widen --address-pool or request an address", pool)
			continue
		}
		g.addr = next
		taken[next] = true
		next = next.Next()
	}
}

// buildListeners validates each listener of g on its own (protocol, kinds, certificates).
func buildListeners(in *Input, g *gateway, grants *grantIndex, now metav1.Time) {
	gen := g.obj.Generation
	for i := range g.obj.Spec.Listeners {
		spec := &g.obj.Spec.Listeners[i]
		l := &listener{gw: g, spec: spec}
		if spec.Hostname != nil {
			l.hostname = string(*spec.Hostname)
		}
		l.accepted = condition(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonAccepted), true, gen, now, "Listener is accepted")
		l.resolved = condition(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonResolvedRefs), true, gen, now, "All references are resolved")
		l.conflicted = condition(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonNoConflicts), false, gen, now, "No conflicts")
		switch spec.Protocol {
		case gwv1.HTTPProtocolType:
		case gwv1.HTTPSProtocolType:
			resolveCertificate(in, l, grants, now)
		default:
			l.accepted = condition(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonUnsupportedProtocol), false, gen, now,
				fmt.Sprintf("protocol %q is not supported; use HTTP or HTTPS", spec.Protocol))
		}
		if l.accepted.Status == metav1.ConditionTrue || spec.Protocol == gwv1.HTTPProtocolType || spec.Protocol == gwv1.HTTPSProtocolType {
			resolveKinds(l, now) // a listener of a protocol we do not serve supports no route kind
		}
		g.listeners = append(g.listeners, l)
	}
	markConflicts(g, now)
}

// resolveKinds keeps the allowed route kinds we serve (HTTPRoute) and flags the others.
func resolveKinds(l *listener, now metav1.Time) {
	if l.spec.AllowedRoutes == nil || len(l.spec.AllowedRoutes.Kinds) == 0 {
		l.kinds = []gwv1.RouteGroupKind{{Group: ptrTo(gwv1.Group(gatewayGroup)), Kind: kindHTTPRoute}}
		return
	}
	var bad []string
	for _, k := range l.spec.AllowedRoutes.Kinds {
		group := gatewayGroup
		if k.Group != nil {
			group = string(*k.Group)
		}
		if group == gatewayGroup && k.Kind == kindHTTPRoute {
			l.kinds = append(l.kinds, gwv1.RouteGroupKind{Group: ptrTo(gwv1.Group(group)), Kind: k.Kind})
			continue
		}
		bad = append(bad, group+"/"+string(k.Kind))
	}
	if len(bad) > 0 {
		l.resolved = condition(string(gwv1.ListenerConditionResolvedRefs), string(gwv1.ListenerReasonInvalidRouteKinds), false, l.gw.obj.Generation, now,
			fmt.Sprintf("route kinds %v are not supported; this gateway serves gateway.networking.k8s.io/HTTPRoute", bad))
	}
}

// resolveCertificate loads the first certificateRef of an HTTPS listener.
func resolveCertificate(in *Input, l *listener, grants *grantIndex, now metav1.Time) {
	gen := l.gw.obj.Generation
	fail := func(reason gwv1.ListenerConditionReason, msg string) {
		l.resolved = condition(string(gwv1.ListenerConditionResolvedRefs), string(reason), false, gen, now, msg)
	}
	tlsCfg := l.spec.TLS
	if tlsCfg == nil || len(tlsCfg.CertificateRefs) == 0 {
		fail(gwv1.ListenerReasonInvalidCertificateRef, "HTTPS listener needs tls.certificateRefs naming a kubernetes.io/tls Secret")
		return
	}
	if tlsCfg.Mode != nil && *tlsCfg.Mode != gwv1.TLSModeTerminate {
		l.accepted = condition(string(gwv1.ListenerConditionAccepted), string(gwv1.ListenerReasonUnsupportedValue), false, gen, now,
			"only tls.mode Terminate is supported for HTTPS listeners")
		return
	}
	ref := tlsCfg.CertificateRefs[0]
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
		fail(gwv1.ListenerReasonInvalidCertificateRef, "certificateRefs must name a core Secret")
		return
	}
	ns := l.gw.obj.Namespace
	if ref.Namespace != nil && string(*ref.Namespace) != ns {
		ns = string(*ref.Namespace)
		if !grants.allows(l.gw.obj.Namespace, gatewayGroup, "Gateway", ns, "", "Secret", string(ref.Name)) {
			fail(gwv1.ListenerReasonRefNotPermitted, fmt.Sprintf("Secret %s/%s is in another namespace and no ReferenceGrant there allows it", ns, ref.Name))
			return
		}
	}
	sec := findSecret(in, ns, string(ref.Name))
	if sec == nil {
		fail(gwv1.ListenerReasonInvalidCertificateRef, fmt.Sprintf("Secret %s/%s not found: create it with type kubernetes.io/tls, the only type the gateway reads", ns, ref.Name))
		return
	}
	if sec.Type != corev1.SecretTypeTLS {
		fail(gwv1.ListenerReasonInvalidCertificateRef, fmt.Sprintf("Secret %s/%s has type %q: certificateRefs must name a kubernetes.io/tls Secret", ns, ref.Name, sec.Type))
		return
	}
	crt, key := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		fail(gwv1.ListenerReasonInvalidCertificateRef, fmt.Sprintf("Secret %s/%s holds no valid tls.crt/tls.key pair: %v", ns, ref.Name, err))
		return
	}
	l.cert = &route.Certificate{Hostname: l.hostname, CertPEM: crt, KeyPEM: key}
}

func findSecret(in *Input, ns, name string) *corev1.Secret {
	for i := range in.Secrets {
		if s := &in.Secrets[i]; s.Namespace == ns && s.Name == name {
			return s
		}
	}
	return nil
}

// markConflicts flags listeners of one Gateway sharing a port with another protocol, or with the
// same protocol and hostname.
func markConflicts(g *gateway, now metav1.Time) {
	gen := g.obj.Generation
	for i, a := range g.listeners {
		for j, b := range g.listeners {
			if i == j || a.spec.Port != b.spec.Port {
				continue
			}
			switch {
			case a.spec.Protocol != b.spec.Protocol:
				a.conflicted = condition(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonProtocolConflict), true, gen, now,
					fmt.Sprintf("port %d is also used by listener %q with protocol %s", a.spec.Port, b.spec.Name, b.spec.Protocol))
			case a.hostname == b.hostname:
				a.conflicted = condition(string(gwv1.ListenerConditionConflicted), string(gwv1.ListenerReasonHostnameConflict), true, gen, now,
					fmt.Sprintf("listener %q has the same port and hostname", b.spec.Name))
			}
		}
	}
}

// gatewayStatus renders g's status after routes have attached.
func gatewayStatus(g *gateway, bindErrors map[string]string, now metav1.Time) gwv1.GatewayStatus {
	gen := g.obj.Generation
	var st gwv1.GatewayStatus
	if g.addr.IsValid() {
		st.Addresses = []gwv1.GatewayStatusAddress{{Type: ptrTo(gwv1.IPAddressType), Value: g.addr.String()}}
	}
	valid, programmed := 0, 0
	for _, l := range g.listeners {
		l.programmed = condition(string(gwv1.ListenerConditionProgrammed), string(gwv1.ListenerReasonProgrammed), true, gen, now, "Listener is serving")
		switch {
		case !l.usable():
			l.programmed = condition(string(gwv1.ListenerConditionProgrammed), string(gwv1.ListenerReasonInvalid), false, gen, now, "Listener is invalid; see its other conditions")
		case bindErrors[l.socket()] != "":
			l.programmed = condition(string(gwv1.ListenerConditionProgrammed), string(gwv1.ListenerReasonPending), false, gen, now,
				"cannot listen on "+l.socket()+": "+bindErrors[l.socket()])
			valid++
		default:
			valid++
			programmed++
		}
		st.Listeners = append(st.Listeners, gwv1.ListenerStatus{
			Name: l.spec.Name, SupportedKinds: l.kinds, AttachedRoutes: l.attached,
			Conditions: []metav1.Condition{l.accepted, l.resolved, l.conflicted, l.programmed},
		})
	}
	accepted := condition(string(gwv1.GatewayConditionAccepted), string(gwv1.GatewayReasonAccepted), true, gen, now, "Gateway is accepted")
	prog := condition(string(gwv1.GatewayConditionProgrammed), string(gwv1.GatewayReasonProgrammed), true, gen, now,
		"Gateway is serving on "+g.addr.String())
	switch {
	case g.addrError != "" && len(g.obj.Spec.Addresses) > 0:
		accepted = condition(string(gwv1.GatewayConditionAccepted), string(gwv1.GatewayReasonUnsupportedAddress), false, gen, now, g.addrError)
		prog = condition(string(gwv1.GatewayConditionProgrammed), string(gwv1.GatewayReasonAddressNotUsable), false, gen, now, g.addrError)
	case g.addrError != "":
		prog = condition(string(gwv1.GatewayConditionProgrammed), string(gwv1.GatewayReasonAddressNotAssigned), false, gen, now, g.addrError)
	case valid == 0 && len(g.listeners) > 0:
		accepted = condition(string(gwv1.GatewayConditionAccepted), string(gwv1.GatewayReasonListenersNotValid), false, gen, now, "no listener is valid; see the listener conditions")
		prog = condition(string(gwv1.GatewayConditionProgrammed), string(gwv1.GatewayReasonInvalid), false, gen, now, "no listener is valid")
	case programmed == 0 && len(g.listeners) > 0:
		prog = condition(string(gwv1.GatewayConditionProgrammed), string(gwv1.GatewayReasonInvalid), false, gen, now, "no listener could be opened; see the listener conditions")
	case valid < len(g.listeners):
		accepted = condition(string(gwv1.GatewayConditionAccepted), string(gwv1.GatewayReasonListenersNotValid), true, gen, now,
			strconv.Itoa(len(g.listeners)-valid)+" listener(s) are invalid; see the listener conditions")
	}
	st.Conditions = []metav1.Condition{accepted, prog}
	return st
}

func ptrTo[T any](v T) *T { return &v }
