//go:build e2e

package e2e

import (
	"fmt"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// weights maps each backend of rule to its weight (1 when unset, as the Gateway API defaults).
func weights(rule gatewayv1.HTTPRouteRule) map[string]int32 {
	w := map[string]int32{}
	for _, b := range rule.BackendRefs {
		w[string(b.Name)] = 1
		if b.Weight != nil {
			w[string(b.Name)] = *b.Weight
		}
	}
	return w
}

// headerRule is the index of the rule matching header name, or -1.
func headerRule(rt *gatewayv1.HTTPRoute, name string) int {
	for i, r := range rt.Spec.Rules {
		for _, m := range r.Matches {
			for _, h := range m.Headers {
				if strings.EqualFold(string(h.Name), name) {
					return i
				}
			}
		}
	}
	return -1
}

// plainRule is the index of the first rule without header matches (the weighted split), or -1.
func plainRule(rt *gatewayv1.HTTPRoute) int {
	for i, r := range rt.Spec.Rules {
		hasHeader := false
		for _, m := range r.Matches {
			hasHeader = hasHeader || len(m.Headers) > 0
		}
		if !hasHeader {
			return i
		}
	}
	return -1
}

// splitIs: the route's weighted rule sends stable and canary these weights.
func splitIs(rt *gatewayv1.HTTPRoute, stable, canary string, ws, wc int32) string {
	i := plainRule(rt)
	if i < 0 {
		return "no rule without header matches"
	}
	w := weights(rt.Spec.Rules[i])
	if w[stable] != ws || w[canary] != wc {
		return fmt.Sprintf("want %s=%d %s=%d, have %v", stable, ws, canary, wc, w)
	}
	return ""
}

func describeRules(rt *gatewayv1.HTTPRoute) string {
	var parts []string
	for _, r := range rt.Spec.Rules {
		var hs []string
		for _, m := range r.Matches {
			for _, h := range m.Headers {
				hs = append(hs, string(h.Name)+"="+h.Value)
			}
		}
		parts = append(parts, fmt.Sprintf("{headers %v backends %v}", hs, weights(r)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
