package gatewayapi

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func routeWithStatus(generation int64, parents []any, statuses ...any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "r", "namespace": "shop", "generation": generation},
		"spec":     map[string]any{"parentRefs": parents},
		"status":   map[string]any{"parents": statuses},
	}}
	return u
}

func parentStatus(name, section, status string, observed int64) map[string]any {
	ref := map[string]any{"group": Group, "kind": "Gateway", "name": name}
	if section != "" {
		ref["sectionName"] = section
	}
	return map[string]any{"parentRef": ref, "controllerName": "example.com/gw", "conditions": []any{
		map[string]any{"type": "Accepted", "status": status, "reason": "R", "message": "m", "observedGeneration": observed},
	}}
}

func TestAccepted(t *testing.T) {
	two := []any{map[string]any{"name": "public", "sectionName": "https"}, map[string]any{"name": "internal", "namespace": "shop"}}
	cases := []struct {
		name     string
		route    *unstructured.Unstructured
		accepted bool
		rejected string
	}{
		{"every parent at the generation", routeWithStatus(3, two, parentStatus("public", "https", "True", 3), parentStatus("internal", "", "True", 4)), true, ""},
		{"one parent still at an older generation", routeWithStatus(3, two, parentStatus("public", "https", "True", 3), parentStatus("internal", "", "True", 2)), false, ""},
		{"one parent without status", routeWithStatus(3, two, parentStatus("public", "https", "True", 3)), false, ""},
		{"status for another listener does not count", routeWithStatus(3, two, parentStatus("public", "http", "True", 3), parentStatus("internal", "", "True", 3)), false, ""},
		{"a rejection at the generation", routeWithStatus(3, two, parentStatus("public", "https", "False", 3), parentStatus("internal", "", "True", 3)), false, "parent shop/public/https"},
		{"an old rejection does not count", routeWithStatus(3, two, parentStatus("public", "https", "False", 2), parentStatus("internal", "", "True", 3)), false, ""},
		{"no parents", routeWithStatus(1, nil), true, ""},
	}
	for _, c := range cases {
		got := Accepted(c.route)
		if got.Accepted != c.accepted || (c.rejected == "") != (got.Rejected == "") || !strings.Contains(got.Rejected, c.rejected) {
			t.Errorf("%s: got %+v, want accepted=%v rejected~%q", c.name, got, c.accepted, c.rejected)
		}
	}
}
