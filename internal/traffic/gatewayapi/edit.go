package gatewayapi

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Edit returns the route with the routing state applied; the input is not modified. Only three
// things change: the weights of the stable and canary backendRefs in every rule that references
// both Services, the rules named after managed routes (removed, then rebuilt from the state at
// the end of the rules list in managedRoutes order), and the in-progress label. Every other
// field, rule, match, filter and annotation stays exactly as it was, so applying the same state
// twice changes nothing.
func Edit(route *unstructured.Unstructured, t Target, s State) (*unstructured.Unstructured, error) {
	out := route.DeepCopy()
	rules, _, err := unstructured.NestedSlice(out.Object, "spec", "rules")
	if err != nil {
		return nil, fmt.Errorf("%s %q: spec.rules: %w", t.Kind, route.GetName(), err)
	}
	var user, sources []map[string]any
	for _, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s %q: a rule is not an object", t.Kind, route.GetName())
		}
		if s.isManagedRule(rule) {
			continue
		}
		user = append(user, rule)
		if s.splitsBoth(rule, route.GetNamespace()) {
			s.setWeights(rule, route.GetNamespace())
			sources = append(sources, rule)
		}
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("%s %s/%s has no rule whose backendRefs reference both Service %q and Service %q: add both to the rule that should carry the canary split",
			t.Kind, route.GetNamespace(), route.GetName(), s.StableService, s.CanaryService)
	}
	managed, err := s.managedRules(t, sources, route.GetNamespace())
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", t.Kind, route.GetNamespace(), route.GetName(), err)
	}
	all := make([]any, 0, len(user)+len(managed))
	for _, r := range user {
		all = append(all, r)
	}
	for _, r := range managed {
		all = append(all, r)
	}
	if err := unstructured.SetNestedSlice(out.Object, all, "spec", "rules"); err != nil {
		return nil, err
	}
	s.Label.apply(out)
	return out, nil
}

// Weights reads the canary and stable weights of the first rule that splits between the two
// Services; ok is false when no rule does.
func Weights(route *unstructured.Unstructured, s State) (canary, stable int64, ok bool) {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	for _, r := range rules {
		rule, isMap := r.(map[string]any)
		if !isMap || s.isManagedRule(rule) || !s.splitsBoth(rule, route.GetNamespace()) {
			continue
		}
		for _, ref := range backendRefs(rule) {
			switch {
			case s.isService(ref, s.CanaryService, route.GetNamespace()):
				canary = weightOf(ref)
			case s.isService(ref, s.StableService, route.GetNamespace()):
				stable = weightOf(ref)
			}
		}
		return canary, stable, true
	}
	return 0, 0, false
}

// isManagedRule: the rule is named after a managed route, as "<name>" or "<name>-<n>" (the
// names the Argo plugin gives, so a route it left behind is cleaned up too).
func (s State) isManagedRule(rule map[string]any) bool {
	name, _ := rule["name"].(string)
	if name == "" {
		return false
	}
	for _, m := range s.ManagedRoutes {
		if name == m {
			return true
		}
		if rest, ok := strings.CutPrefix(name, m+"-"); ok {
			if _, err := strconv.Atoi(rest); err == nil {
				return true
			}
		}
	}
	return false
}

func managedRuleName(route string, i int) string {
	if i == 0 {
		return route
	}
	return fmt.Sprintf("%s-%d", route, i)
}

func backendRefs(rule map[string]any) []map[string]any {
	refs, _ := rule["backendRefs"].([]any)
	out := make([]map[string]any, 0, len(refs))
	for _, r := range refs {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// isService: the backendRef points at the named core Service in the Rollout's namespace.
func (s State) isService(ref map[string]any, name, routeNamespace string) bool {
	group, _ := ref["group"].(string)
	kind, hasKind := ref["kind"].(string)
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = routeNamespace
	}
	refName, _ := ref["name"].(string)
	return refName == name && group == "" && (!hasKind || kind == "Service") && ns == s.ServiceNamespace
}

func (s State) splitsBoth(rule map[string]any, routeNamespace string) bool {
	var stable, canary bool
	for _, ref := range backendRefs(rule) {
		stable = stable || s.isService(ref, s.StableService, routeNamespace)
		canary = canary || s.isService(ref, s.CanaryService, routeNamespace)
	}
	return stable && canary
}

func (s State) setWeights(rule map[string]any, routeNamespace string) {
	for _, ref := range backendRefs(rule) {
		switch {
		case s.isService(ref, s.CanaryService, routeNamespace):
			ref["weight"] = s.CanaryWeight
		case s.isService(ref, s.StableService, routeNamespace):
			ref["weight"] = s.StableWeight
		}
	}
}

// weightOf is a backendRef's weight; the API defaults a missing one to 1.
func weightOf(ref map[string]any) int64 {
	switch w := ref["weight"].(type) {
	case int64:
		return w
	case float64:
		return int64(w)
	case int:
		return int64(w)
	}
	return 1
}

func (l InProgressLabel) apply(route *unstructured.Unstructured) {
	if l.Key == "" {
		return
	}
	labels := route.GetLabels()
	if l.Set {
		if labels[l.Key] == l.Value {
			return
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[l.Key] = l.Value
		route.SetLabels(labels)
		return
	}
	if v, ok := labels[l.Key]; ok && v == l.Value {
		delete(labels, l.Key)
		if len(labels) == 0 {
			labels = nil // no empty labels map where there was none
		}
		route.SetLabels(labels)
	}
}
