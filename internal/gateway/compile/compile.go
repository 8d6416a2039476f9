package compile

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// Compile computes the route table and every status from the observed world.
func Compile(in *Input) *Output {
	now := metav1.NewTime(in.Now)
	out := &Output{
		GatewayClasses: map[string][]metav1.Condition{},
		Gateways:       map[types.NamespacedName]gwv1.GatewayStatus{},
		Routes:         map[types.NamespacedName][]gwv1.RouteParentStatus{},
	}
	classes := map[string]bool{}
	for i := range in.GatewayClasses {
		gc := &in.GatewayClasses[i]
		if string(gc.Spec.ControllerName) != in.ControllerName {
			continue
		}
		classes[gc.Name] = true
		out.GatewayClasses[gc.Name] = []metav1.Condition{condition(string(gwv1.GatewayClassConditionStatusAccepted),
			string(gwv1.GatewayClassReasonAccepted), true, gc.Generation, now, "Handled by "+in.ControllerName)}
	}
	w := indexWorld(in)
	gws := ourGateways(in, classes)
	assignAddresses(in.AddressPool, gws)
	byKey := map[types.NamespacedName]*gateway{}
	for _, g := range gws {
		buildListeners(in, g, w.grants, now)
		byKey[g.key] = g
	}
	namespaces := map[string]*corev1.Namespace{}
	for i := range in.Namespaces {
		namespaces[in.Namespaces[i].Name] = &in.Namespaces[i]
	}
	b := newTableBuilder()
	for order, r := range routesOldestFirst(in.HTTPRoutes) {
		parents := attachRoute(r, byKey, namespaces)
		if len(parents) == 0 {
			continue
		}
		cr := compileRoute(w, r, order)
		for _, p := range parents {
			if p.reason == gwv1.RouteReasonAccepted && len(cr.rules) > 0 {
				for _, a := range p.attachments {
					a.listener.attached++
					if a.listener.usable() {
						b.add(a, cr)
					}
				}
			}
		}
		out.Routes[types.NamespacedName{Namespace: r.Namespace, Name: r.Name}] = routeStatus(in.ControllerName, r, cr, parents, now)
	}
	for _, g := range gws {
		out.Gateways[g.key] = gatewayStatus(g, in.BindErrors, now)
		for _, l := range g.listeners {
			if l.usable() {
				b.listen(l)
			}
		}
	}
	out.Table, out.Sockets = b.build()
	return out
}

func routesOldestFirst(routes []gwv1.HTTPRoute) []*gwv1.HTTPRoute {
	out := make([]*gwv1.HTTPRoute, 0, len(routes))
	for i := range routes {
		if routes[i].DeletionTimestamp == nil {
			out = append(out, &routes[i])
		}
	}
	slices.SortFunc(out, func(a, b *gwv1.HTTPRoute) int { return olderFirst(&a.ObjectMeta, &b.ObjectMeta) })
	return out
}

// attachRoute resolves the parentRefs of r that name one of our Gateways.
func attachRoute(r *gwv1.HTTPRoute, gws map[types.NamespacedName]*gateway, namespaces map[string]*corev1.Namespace) []parentResult {
	var out []parentResult
	for _, ref := range r.Spec.ParentRefs {
		if (ref.Group != nil && *ref.Group != gatewayGroup) || (ref.Kind != nil && *ref.Kind != "Gateway") {
			continue
		}
		ns := r.Namespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		g := gws[types.NamespacedName{Namespace: ns, Name: string(ref.Name)}]
		if g == nil {
			continue
		}
		out = append(out, attachParent(r, ref, g, namespaces))
	}
	return out
}

// routeStatus renders the parent statuses we own for r.
func routeStatus(controller string, r *gwv1.HTTPRoute, cr *compiledRoute, parents []parentResult, now metav1.Time) []gwv1.RouteParentStatus {
	gen := r.Generation
	resolved := condition(string(gwv1.RouteConditionResolvedRefs), string(gwv1.RouteReasonResolvedRefs), true, gen, now, "All references are resolved")
	if len(cr.refs) > 0 {
		resolved = condition(string(gwv1.RouteConditionResolvedRefs), string(cr.refs[0].reason), false, gen, now, joinProblems(cr.refs))
	}
	var out []gwv1.RouteParentStatus
	for _, p := range parents {
		accepted := condition(string(gwv1.RouteConditionAccepted), string(p.reason), p.reason == gwv1.RouteReasonAccepted, gen, now, p.message)
		if p.reason == gwv1.RouteReasonAccepted && len(cr.rules) == 0 && len(r.Spec.Rules) > 0 {
			accepted = condition(string(gwv1.RouteConditionAccepted), string(gwv1.RouteReasonUnsupportedValue), false, gen, now,
				"no rule can be served: "+strings.Join(cr.dropped, "; "))
		}
		conds := []metav1.Condition{accepted, resolved}
		if len(cr.dropped) > 0 && len(cr.rules) > 0 {
			conds = append(conds, condition(string(gwv1.RouteConditionPartiallyInvalid), string(gwv1.RouteReasonUnsupportedValue), true, gen, now, strings.Join(cr.dropped, "; ")))
		}
		out = append(out, gwv1.RouteParentStatus{ParentRef: p.ref, ControllerName: gwv1.GatewayController(controller), Conditions: conds})
	}
	return out
}

func joinProblems(ps []refProblem) string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.message
	}
	return strings.Join(msgs, "; ")
}

// tableBuilder collects entries per socket and hostname bucket, then sorts each bucket by the
// spec's precedence.
type tableBuilder struct {
	ports map[string]*portBuilder
}

type portBuilder struct {
	pt      *route.PortTable
	entries map[string][]sortable // bucket key: "=host", "*.suffix" or ""
}

type sortable struct {
	entry      *route.Entry
	routeOrder int
	ruleIndex  int
	matchIndex int
}

func newTableBuilder() *tableBuilder { return &tableBuilder{ports: map[string]*portBuilder{}} }

func (b *tableBuilder) port(l *listener) *portBuilder {
	key := l.socket()
	p := b.ports[key]
	if p == nil {
		scheme := "http"
		if l.spec.Protocol == gwv1.HTTPSProtocolType {
			scheme = "https"
		}
		p = &portBuilder{pt: &route.PortTable{Port: int(l.spec.Port), Scheme: scheme}, entries: map[string][]sortable{}}
		b.ports[key] = p
	}
	return p
}

// listen makes sure a usable listener's socket exists even without routes (it answers 404).
func (b *tableBuilder) listen(l *listener) {
	p := b.port(l)
	if l.cert != nil && !slices.ContainsFunc(p.pt.TLS, func(c route.Certificate) bool { return c.Hostname == l.cert.Hostname }) {
		p.pt.TLS = append(p.pt.TLS, *l.cert)
	}
}

func (b *tableBuilder) add(a attachment, cr *compiledRoute) {
	p := b.port(a.listener)
	for _, host := range a.hostnames {
		for _, rule := range cr.rules {
			for mi := range rule.matches {
				key := "=" + host
				switch {
				case host == "":
					key = ""
				case len(host) > 1 && host[0] == '*':
					key = host // "*.example.com"
				}
				dup := slices.ContainsFunc(p.entries[key], func(s sortable) bool {
					return s.entry.Rule == rule.rule && s.matchIndex == mi
				})
				if dup {
					continue
				}
				p.entries[key] = append(p.entries[key], sortable{
					entry: &route.Entry{Match: rule.matches[mi], Rule: rule.rule}, routeOrder: cr.order, ruleIndex: rule.index, matchIndex: mi,
				})
			}
		}
	}
}

func (b *tableBuilder) build() (*route.Table, []string) {
	t := &route.Table{Ports: map[string]*route.PortTable{}}
	var sockets []string
	for key, p := range b.ports {
		sockets = append(sockets, key)
		for bucket, list := range p.entries {
			slices.SortStableFunc(list, comparePrecedence)
			entries := make([]*route.Entry, len(list))
			for i, s := range list {
				entries[i] = s.entry
			}
			switch {
			case bucket == "":
				p.pt.Any = entries
			case bucket[0] == '=':
				if p.pt.Exact == nil {
					p.pt.Exact = map[string][]*route.Entry{}
				}
				p.pt.Exact[bucket[1:]] = entries
			default:
				if p.pt.Wildcard == nil {
					p.pt.Wildcard = map[string][]*route.Entry{}
				}
				p.pt.Wildcard[bucket[1:]] = entries // ".example.com"
			}
		}
		t.Ports[key] = p.pt
	}
	slices.Sort(sockets)
	return t, sockets
}

// comparePrecedence orders matches as the spec does: Exact path, then (our choice for the
// implementation-specific regex) RegularExpression, then the longest prefix; then a method match,
// the most header matches, the most query matches; then the oldest route, then rule and match
// order within a route.
func comparePrecedence(a, b sortable) int {
	ma, mb := &a.entry.Match, &b.entry.Match
	return cmp.Or(
		-cmp.Compare(ma.PathType, mb.PathType),
		-cmp.Compare(len(ma.Path), len(mb.Path)),
		-cmp.Compare(boolInt(ma.Method != ""), boolInt(mb.Method != "")),
		-cmp.Compare(len(ma.Headers), len(mb.Headers)),
		-cmp.Compare(len(ma.Query), len(mb.Query)),
		cmp.Compare(a.routeOrder, b.routeOrder),
		cmp.Compare(a.ruleIndex, b.ruleIndex),
		cmp.Compare(a.matchIndex, b.matchIndex),
	)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
