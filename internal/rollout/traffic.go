package rollout

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// observeTraffic reads the routes a traffic-routed canary names. A message means the routing
// cannot be used as configured (a missing CRD or route, a route that does not reference both
// Services) and is reported as InvalidSpec, so the rollout stops instead of sending traffic
// nowhere.
func (r *Reconciler) observeTraffic(ctx context.Context, ro *v1alpha1.Rollout) (*plan.TrafficObserved, string, error) {
	cfg, msg := plan.ParseRouting(ro)
	if cfg == nil || msg != "" {
		return nil, msg, nil
	}
	ns := cfg.RouteNamespace(ro.Namespace)
	out := &plan.TrafficObserved{Config: cfg, Verify: !r.SkipRouteVerification}
	seen := map[string]bool{}
	add := func(t gatewayapi.Target, u *unstructured.Unstructured) {
		key := t.Kind + "/" + u.GetName()
		if !seen[key] {
			seen[key] = true
			out.Routes = append(out.Routes, plan.ObservedRoute{Target: t, Object: u})
		}
	}
	for _, ref := range cfg.Refs() {
		gvk, msg := r.routeGVK(ref.Kind)
		if msg != "" {
			return nil, msg, nil
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, u)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("%s %s/%s not found: create it, or fix the route named in trafficRouting.plugins[%q]", ref.Kind, ns, ref.Name, gatewayapi.PluginName), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading %s %s/%s: %w", ref.Kind, ns, ref.Name, err)
		}
		add(gatewayapi.Target{Kind: ref.Kind, UseHeaderRoutes: ref.UseHeaderRoutes}, u)
	}
	for _, sel := range cfg.Selectors() {
		routes, msg, err := r.selectRoutes(ctx, ns, sel)
		if err != nil || msg != "" {
			return nil, msg, err
		}
		header := sel.Kind == gatewayapi.KindHTTPRoute || sel.Kind == gatewayapi.KindGRPCRoute
		for _, u := range routes {
			add(gatewayapi.Target{Kind: sel.Kind, UseHeaderRoutes: header}, u)
		}
	}
	return out, splitProblem(ro, out), nil
}

// splitProblem names a route with no rule that splits between the stable and canary Services.
func splitProblem(ro *v1alpha1.Rollout, t *plan.TrafficObserved) string {
	c := ro.Spec.Strategy.Canary
	s := gatewayapi.State{StableService: c.StableService, CanaryService: c.CanaryService, ServiceNamespace: ro.Namespace}
	for _, route := range t.Routes {
		if _, _, ok := gatewayapi.Weights(route.Object, s); !ok {
			return fmt.Sprintf("%s %s/%s has no rule whose backendRefs reference both Service %q and Service %q (in namespace %q): add both to the rule that should carry the canary split",
				route.Target.Kind, route.Object.GetNamespace(), route.Object.GetName(), c.StableService, c.CanaryService, ro.Namespace)
		}
	}
	return ""
}

// routeGVK finds the served version of a route kind. A cluster without the Gateway API CRDs
// gets a message, not a crash: only the Rollouts that need routes are affected.
func (r *Reconciler) routeGVK(kind string) (schema.GroupVersionKind, string) {
	m, err := r.Client.RESTMapper().RESTMapping(gatewayapi.GroupKind(kind))
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Sprintf("the cluster does not serve %s.%s (%v): install the Gateway API CRDs (standard channel v1.x) and restart the controller", kind, gatewayapi.Group, err)
	}
	return m.GroupVersionKind, ""
}

func (r *Reconciler) selectRoutes(ctx context.Context, ns string, sel gatewayapi.RouteSelector) ([]*unstructured.Unstructured, string, error) {
	gvk, msg := r.routeGVK(sel.Kind)
	if msg != "" {
		return nil, msg, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(sel.Selector)
	if err != nil {
		return nil, fmt.Sprintf("trafficRouting: invalid %s selector: %v", sel.Kind, err), nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(sel.Kind + "List"))
	if err := r.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, "", fmt.Errorf("listing %ss in %s: %w", sel.Kind, ns, err)
	}
	if len(list.Items) == 0 {
		return nil, fmt.Sprintf("no %s in namespace %q matches the selector %q", sel.Kind, ns, selector.String()), nil
	}
	out := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, "", nil
}

// writeRoutes writes the edited routes. Each carries the resourceVersion it was read at, so a
// route someone changed in between is not overwritten: the update fails with a conflict and
// the reconcile plans again from the new route.
func (r *Reconciler) writeRoutes(ctx context.Context, routes []*unstructured.Unstructured) error {
	for _, u := range routes {
		if err := r.Client.Update(ctx, u); err != nil {
			return fmt.Errorf("updating %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

// watchRoutes watches every route kind the cluster serves, so that a route's status (a
// gateway accepting a change), an edit or a deletion reconciles the Rollouts that use it.
// Kinds whose CRDs are not installed are skipped; Rollouts that need them say so.
func (r *Reconciler) watchRoutes(mgr ctrl.Manager, b *builder.TypedBuilder[ctrl.Request]) *builder.TypedBuilder[ctrl.Request] {
	for _, kind := range gatewayapi.Kinds {
		m, err := mgr.GetRESTMapper().RESTMapping(gatewayapi.GroupKind(kind))
		if err != nil {
			if !meta.IsNoMatchError(err) {
				ctrl.Log.WithName("rollout").Error(err, "not watching routes", "kind", kind)
			}
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(m.GroupVersionKind)
		b = b.Watches(u, handler.EnqueueRequestsFromMapFunc(r.rolloutsForRoute(kind)))
	}
	return b
}

// rolloutsForRoute maps a route event to the Rollouts that name it or select it.
func (r *Reconciler) rolloutsForRoute(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []ctrl.Request {
		// Every namespace: a route may be in another namespace than the Rollouts that use it.
		return r.rolloutsInNamespace(ctx, "", func(ro *v1alpha1.Rollout) bool { return usesRoute(ro, kind, obj) })
	}
}

func usesRoute(ro *v1alpha1.Rollout, kind string, obj client.Object) bool {
	cfg, msg := plan.ParseRouting(ro)
	if cfg == nil || msg != "" || cfg.RouteNamespace(ro.Namespace) != obj.GetNamespace() {
		return false
	}
	for _, ref := range cfg.Refs() {
		if ref.Kind == kind && ref.Name == obj.GetName() {
			return true
		}
	}
	for _, sel := range cfg.Selectors() {
		if sel.Kind != kind {
			continue
		}
		if s, err := metav1.LabelSelectorAsSelector(sel.Selector); err == nil && s.Matches(labels.Set(obj.GetLabels())) {
			return true
		}
	}
	return false
}
