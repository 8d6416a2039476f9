package gatewayapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Acceptance is what the gateways say about a route's current generation.
type Acceptance struct {
	// Accepted: every parentRef has a status entry that accepted this generation.
	Accepted bool
	// Rejected explains a parent that refused this generation; "" when none did.
	Rejected string
}

// Accepted checks the route's status.parents: the route counts as accepted only when every
// parentRef in the spec has an entry whose Accepted condition is True at an observedGeneration
// at least the route's generation, i.e. the gateway has taken in the latest edit. A route with
// no parentRefs has nobody to accept it and counts as accepted.
func Accepted(route *unstructured.Unstructured) Acceptance {
	parents, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	statuses, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	gen := route.GetGeneration()
	all := true
	for _, p := range parents {
		ref, _ := p.(map[string]any)
		state := parentState(ref, statuses, route.GetNamespace(), gen)
		if state.rejected != "" {
			return Acceptance{Rejected: state.rejected}
		}
		all = all && state.accepted
	}
	return Acceptance{Accepted: all}
}

type parentAcceptance struct {
	accepted bool
	rejected string
}

func parentState(ref map[string]any, statuses []any, routeNamespace string, gen int64) parentAcceptance {
	var out parentAcceptance
	for _, s := range statuses {
		st, _ := s.(map[string]any)
		sref, _ := st["parentRef"].(map[string]any)
		if !sameParent(ref, sref, routeNamespace) {
			continue
		}
		conds, _ := st["conditions"].([]any)
		for _, c := range conds {
			cond, _ := c.(map[string]any)
			if cond["type"] != "Accepted" || observedGeneration(cond) < gen {
				continue
			}
			if cond["status"] == "True" {
				out.accepted = true
				continue
			}
			if cond["status"] == "False" {
				controller, _ := st["controllerName"].(string)
				out.rejected = fmt.Sprintf("parent %s (controller %s) did not accept generation %d: %v: %v",
					parentName(ref, routeNamespace), controller, gen, cond["reason"], cond["message"])
			}
		}
	}
	if out.accepted {
		out.rejected = ""
	}
	return out
}

func observedGeneration(cond map[string]any) int64 {
	switch g := cond["observedGeneration"].(type) {
	case int64:
		return g
	case float64:
		return int64(g)
	}
	return 0
}

// sameParent compares the fields that identify a parentRef, with their defaults.
func sameParent(a, b map[string]any, routeNamespace string) bool {
	if a == nil || b == nil {
		return false
	}
	str := func(m map[string]any, k, def string) string {
		if v, ok := m[k].(string); ok && v != "" {
			return v
		}
		return def
	}
	for _, f := range [][2]string{{"group", Group}, {"kind", "Gateway"}, {"namespace", routeNamespace}, {"name", ""}, {"sectionName", ""}} {
		if str(a, f[0], f[1]) != str(b, f[0], f[1]) {
			return false
		}
	}
	return fmt.Sprint(a["port"]) == fmt.Sprint(b["port"])
}

func parentName(ref map[string]any, routeNamespace string) string {
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = routeNamespace
	}
	name, _ := ref["name"].(string)
	if sec, _ := ref["sectionName"].(string); sec != "" {
		return ns + "/" + name + "/" + sec
	}
	return ns + "/" + name
}
