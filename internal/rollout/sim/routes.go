package sim

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// gatewayName is the Gateway every stand-in route is attached to.
const gatewayName = "gateway"

// standInRoutes are the routes a traffic-routed canary's configuration names, each with one
// rule splitting all traffic to the stable Service, as a user writes them before the first
// release; a route selector finds one route named after the Rollout. Nil without routing, and
// when the configuration cannot be read (the planner reports that as an invalid spec).
func standInRoutes(ro *v1alpha1.Rollout) []plan.ObservedRoute {
	cfg, msg := plan.ParseRouting(ro)
	if cfg == nil || msg != "" {
		return nil
	}
	c := ro.Spec.Strategy.Canary
	ns := cfg.RouteNamespace(ro.Namespace)
	routes := []plan.ObservedRoute{}
	for _, ref := range cfg.Refs() {
		routes = append(routes, plan.ObservedRoute{Target: gatewayapi.Target{Kind: ref.Kind, UseHeaderRoutes: ref.UseHeaderRoutes},
			Object: standInRoute(ref.Kind, ref.Name, ns, ro.Namespace, c)})
	}
	for _, sel := range cfg.Selectors() {
		header := sel.Kind == gatewayapi.KindHTTPRoute || sel.Kind == gatewayapi.KindGRPCRoute
		route := standInRoute(sel.Kind, ro.Name, ns, ro.Namespace, c)
		route.SetLabels(sel.Selector.MatchLabels)
		routes = append(routes, plan.ObservedRoute{Target: gatewayapi.Target{Kind: sel.Kind, UseHeaderRoutes: header}, Object: route})
	}
	return routes
}

// standInRoute is one route of a kind attached to the stand-in Gateway, its one rule sending
// everything to the stable Service and nothing to the canary.
func standInRoute(kind, name, ns, serviceNamespace string, c *v1alpha1.CanaryStrategy) *unstructured.Unstructured {
	backend := func(svc string, weight int64) map[string]any {
		ref := map[string]any{"name": svc, "port": int64(80), "weight": weight}
		if ns != serviceNamespace {
			ref["namespace"] = serviceNamespace
		}
		return ref
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gatewayapi.Group + "/v1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": ns, "generation": int64(1)},
		"spec": map[string]any{
			"parentRefs": []any{map[string]any{"name": gatewayName}},
			"rules":      []any{map[string]any{"backendRefs": []any{backend(c.StableService, 1), backend(c.CanaryService, 0)}}},
		},
	}}
}

// copyRoutes are the routes as a reconcile reads them: copies it may not change in place.
func (w *World) copyRoutes() []plan.ObservedRoute {
	out := make([]plan.ObservedRoute, len(w.Routes))
	for i, r := range w.Routes {
		out[i] = plan.ObservedRoute{Target: r.Target, Object: r.Object.DeepCopy()}
	}
	return out
}

// writeRoutes stores the plan's route edits; the API server bumps a route's generation when
// its spec changes.
func (w *World) writeRoutes(p plan.Plan) {
	for _, edited := range p.RouteUpdates {
		for i, r := range w.Routes {
			if r.Object.GetKind() != edited.GetKind() || r.Object.GetName() != edited.GetName() {
				continue
			}
			edited = edited.DeepCopy()
			if !equality.Semantic.DeepEqual(edited.Object["spec"], r.Object.Object["spec"]) {
				edited.SetGeneration(r.Object.GetGeneration() + 1)
			}
			w.Routes[i].Object = edited
		}
	}
}

// AcceptRoutes writes the status a gateway writes once it has taken in each route's current
// generation: every parent accepted it.
func (w *World) AcceptRoutes() {
	for _, r := range w.Routes {
		parents, _, _ := unstructured.NestedSlice(r.Object.Object, "spec", "parentRefs")
		statuses := make([]any, 0, len(parents))
		for _, parent := range parents {
			statuses = append(statuses, map[string]any{
				"parentRef":  runtime.DeepCopyJSONValue(parent),
				"conditions": []any{map[string]any{"type": "Accepted", "status": "True", "observedGeneration": r.Object.GetGeneration()}},
			})
		}
		_ = unstructured.SetNestedSlice(r.Object.Object, statuses, "status", "parents")
	}
}
